"""`python -m app serve` as a child process: for tests of the command line, restarts and kills, and for benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.support import owner

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_command(*args: str) -> list[str]:
    """`python -m app ARGS` with this interpreter."""
    return [sys.executable, "-m", "app", *args]


class ServeProcess:
    """A running `mcp-tray serve` (cwd = the repo root), waited for until it says it is ready.

    `env` is the child's whole environment (default: this one). With `public_url` it serves remote
    access too (`--public-url URL --auto-off never`) and waits for both ready lines; `extra` are more
    `serve` options, `database` a PostgreSQL URL for its store. Its stderr goes to a log file next to
    the data dir, so a long run never blocks on a full pipe; `stop()` returns it.
    """

    def __init__(self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None, *,
                 public_url: str | None = None, extra: Sequence[str] = (), database: str | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url
        self.stop_seconds = 0.0
        data_dir = Path(data_dir)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir.parent / f"serve-{self.port}-{time.time_ns()}.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        args = ["serve", "--port", str(self.port), "--data-dir", str(data_dir),
                *(["--database", database] if database else [])]
        if public_url is not None:
            args += ["--public-url", public_url, "--auto-off", "never"]
        args += list(extra)
        self.proc = subprocess.Popen(
            app_command(*args), cwd=REPO, env=env if env is not None else os.environ.copy(),
            stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        assert self.proc.stdout is not None
        owner.remember(self.port, data_dir, database)
        self.ready_line = self.proc.stdout.readline().strip()
        expected = [f"MCP server ready at {self.base}/mcp"]
        lines = [self.ready_line]
        if public_url is not None:
            expected.append(f"Public URL ready at {public_url}/mcp")
            lines.append(self.proc.stdout.readline().strip())
        if lines != expected:
            self.kill()
            raise RuntimeError(f"serve did not start: {lines!r} {self.log_path.read_text(encoding='utf-8')[-2000:]}")

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> tuple[int, str]:
        """Signal the server (default SIGTERM, a clean stop) and wait; (exit code, what it wrote to stderr)."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.stop_seconds = time.monotonic() - start
        return code, self._close()

    def kill(self) -> None:
        """kill -9, and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._close()

    def _close(self) -> str:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
        return self.log_path.read_text(encoding="utf-8")

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.kill()
        else:
            self._close()
