"""Benchmark: start to first `tools/list` answer, `mcp-tray bridge URL` against `mcp-remote URL`, same run.

Both clients are started by the mcp SDK's stdio client exactly as Claude Desktop starts them, against
one `mcp-tray serve` on a free port. Each signs in once first (a script stands in for the person at
the browser); every measured start then reuses its cached sign-in (the bridge's in the OS keyring,
mcp-remote's under its config dir). Starts alternate between the two clients, and the script prints
the median, minimum and maximum for each and the ratio of the medians.

Run it with an OS keyring (the bridge caches nothing without one): `make bench-bridge`.
Not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import keyring
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.bridge.cached_sign_in import SERVICE, canonical_url  # noqa: E402
from app.secrets.keyring_store import keyring_problem  # noqa: E402
from bench.support import owner  # noqa: E402
from bench.support.clients import approving_browser, mcp_remote_command  # noqa: E402


def start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """`mcp-tray serve` on a free port; returns the process and its /mcp URL."""
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0", "--data-dir", str(data_dir)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("MCP server ready at "):
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    url = line.removeprefix("MCP server ready at ")
    # The approving browser answers as the owner, in this data dir (bench/support/owner.py).
    os.environ.setdefault(owner.SERVERS_FILE_ENV, tempfile.mkstemp(prefix="mcp-tray-bench-servers-")[1])
    owner.remember(int(urlsplit(url).port or 80), data_dir)
    return proc, url


async def time_to_tools_list(params: StdioServerParameters, errlog_path: Path) -> float:
    """Seconds from spawning the client process to the answer of its first tools/list."""
    with open(errlog_path, "a") as errlog:
        start = time.perf_counter()
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            elapsed = time.perf_counter() - start
    if "add" not in [t.name for t in tools.tools]:
        raise SystemExit("tools/list did not list `add`")
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    """Median, min and max in milliseconds."""
    return {"median_ms": round(statistics.median(values) * 1000, 1), "min_ms": round(min(values) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1)}


async def main(repetitions: int) -> dict[str, object]:
    """Run the benchmark; returns the figures."""
    problem = keyring_problem()
    if problem is not None:
        raise SystemExit(f"needs an OS keyring (run `make bench-bridge`): {problem}")
    remote = mcp_remote_command()
    if remote is None:
        raise SystemExit("mcp-remote is not installed; run `npm ci`")
    tmp = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    (tmp / "data").mkdir()
    (tmp / "home").mkdir()
    server, url = start_server(tmp / "data")
    base_env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MCP_TRAY_DATA_DIR")}
    base_env.update(BROWSER=str(approving_browser(tmp)), HOME=str(tmp / "home"), PYTHONPATH=str(REPO),
                    APPROVE_BROWSER_LOG=str(tmp / "browser.log"))
    clients = {
        "mcp-tray bridge": StdioServerParameters(command=sys.executable, args=["-m", "app", "bridge", url],
                                                 cwd=str(REPO), env=base_env),
        "mcp-remote": StdioServerParameters(command=remote, args=[url], cwd=str(REPO),
                                            env={**base_env, "MCP_REMOTE_CONFIG_DIR": str(tmp / "mcp-auth")}),
    }
    times: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for name, params in clients.items():  # first start of each: sign in (not measured)
            await time_to_tools_list(params, tmp / f"{name}.stderr")
        consents_after_warmup = len((tmp / "browser.log").read_text().splitlines())
        for _ in range(repetitions):
            for name, params in clients.items():
                times[name].append(await time_to_tools_list(params, tmp / f"{name}.stderr"))
        consents = len((tmp / "browser.log").read_text().splitlines())
        if consents != consents_after_warmup:
            raise SystemExit("a measured start asked for consent again; the figures would be meaningless")
    finally:
        server.terminate()
        server.wait(10)
        try:
            keyring.delete_password(SERVICE, canonical_url(url))
        except keyring.errors.PasswordDeleteError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    bridge, npx = summary(times["mcp-tray bridge"]), summary(times["mcp-remote"])
    return {"repetitions": repetitions, "url_path": "/mcp", "mcp-tray bridge": bridge, "mcp-remote": npx,
            "ratio_mcp_remote_over_bridge": round(npx["median_ms"] / bridge["median_ms"], 2),
            "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--repetitions", type=int, default=9, help="measured starts per client (default 9)")
    args = parser.parse_args()
    figures = anyio.run(main, args.repetitions)
    print(json.dumps(figures, indent=2))
    b, r = figures["mcp-tray bridge"], figures["mcp-remote"]
    assert isinstance(b, dict) and isinstance(r, dict)  # summary()'s figures
    print(f"\n| client | median | min | max |\n|---|---|---|---|\n"
          f"| mcp-tray bridge | {b['median_ms']} ms | {b['min_ms']} ms | {b['max_ms']} ms |\n"
          f"| mcp-remote | {r['median_ms']} ms | {r['min_ms']} ms | {r['max_ms']} ms |\n"
          f"\nmcp-remote / bridge (medians): {figures['ratio_mcp_remote_over_bridge']}")
