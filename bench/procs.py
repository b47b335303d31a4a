"""Start the servers under test as subprocesses, wait for their ready line, read their memory, run the client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
READY = re.compile(r"(http://127\.0\.0\.1:\d+)/mcp")


@dataclass
class Started:
    """A server process and where it listens."""

    proc: subprocess.Popen[str]
    base: str
    seconds_to_ready: float

    @property
    def mcp_url(self) -> str:
        """Its streamable-HTTP endpoint."""
        return f"{self.base}/mcp"

    def rss_mib(self) -> float:
        """Resident memory of the process now, in MiB (Linux /proc)."""
        return rss_mib(self.proc.pid)

    def stop(self) -> None:
        """Terminate and reap it."""
        stop(self.proc)


def rss_mib(pid: int) -> float:
    """VmRSS of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after a grace period."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _drain(stream: Iterable[str]) -> None:
    # Keep reading so a chatty server never blocks on a full pipe.
    for _ in stream:
        pass


def start(args: list[str], timeout: float = 30.0, env: dict[str, str] | None = None) -> Started:
    """Run `python ARGS` from the repo root and wait for a line naming http://127.0.0.1:PORT/mcp."""
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env or dict(os.environ))
    if proc.stdout is None:
        raise RuntimeError("no stdout pipe")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = READY.search(line)
        if found:
            seconds = time.perf_counter() - began
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return Started(proc, found.group(1), seconds)
    stop(proc)
    raise RuntimeError(f"{' '.join(args)} printed no ready line (exit code {proc.poll()})")


def compile_app() -> None:
    """Write the app's bytecode (`python -m compileall -q app`), as pip does for an installed app.

    This machine's environment may set PYTHONDONTWRITEBYTECODE and a fresh checkout has no
    __pycache__: without this, every timed start would compile app/ from source, which no installed
    app does. compileall writes the files whatever that variable says; unchanged files are skipped.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "app")], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)


def start_ours(data_dir: Path) -> Started:
    """`mcp-tray serve` on a free port with this data directory."""
    return start(["-m", "app", "serve", "--port", "0", "--data-dir", str(data_dir)])


def start_bare(async_tool: bool = False) -> Started:
    """The bare mcp SDK server with the same tool and no auth (`add` a coroutine with `async_tool`)."""
    return start(["-m", "bench.bare_server", *(["--async-tool"] if async_tool else [])])


def load(url: str, token: str | None, calls: int, concurrency: int, warmup: int = 20) -> dict[str, float]:
    """Run the load client in its own process; its JSON summary."""
    summary: dict[str, float] = _load_client([url], {"BENCH_TOKEN": token}, calls, concurrency, warmup)
    return summary


def load_paired(targets: list[tuple[str, str | None]], calls: int, concurrency: int, chunk: int = 100,
                warmup: int = 20) -> list[dict[str, float]]:
    """Run the load client once over several servers in alternating turns (see `measure_paired`)."""
    tokens = {f"BENCH_TOKEN_{index}": token for index, (_, token) in enumerate(targets)}
    summaries: list[dict[str, float]] = _load_client([url for url, _ in targets], tokens, calls, concurrency,
                                                     warmup, "--chunk", str(chunk))
    return summaries


def _load_client(urls: list[str], tokens: dict[str, str | None], calls: int, concurrency: int, warmup: int,
                 *extra: str) -> Any:
    """`python -m bench.loadclient URLS ...` with the tokens in its environment (not shown in `ps`); its JSON."""
    env = dict(os.environ)
    env.update({name: token for name, token in tokens.items() if token})
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadclient", *urls, "--calls", str(calls), "--concurrency", str(concurrency),
         "--warmup", str(warmup), *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600,
        check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
