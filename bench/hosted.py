"""`make bench-hosted`: calls/s and p99 of `serve --workers 1, 2, 4` on PostgreSQL against the one-process
SQLite server, in the same run, with the same client (bench/loadclient.py, in its own process).

Every server runs for the whole benchmark (idle ones cost nothing) and the runs alternate between
them round by round, so none always gets the warmer machine. Each server gets its own access
token through the real OAuth flow (the owner approves with the CLI). PostgreSQL is a throwaway
cluster started here (tests/support/postgres.py), on the same machine, with fsync off as in the
tests: the figures compare the server's processes, not disks. The client goes straight to the
port (no proxy): what is measured is how the workers share the load.

    python -m bench.hosted [--calls N] [--rounds R] [--concurrency 1 8 32]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.secrets.signing_key import SIGNING_KEY_ENV  # noqa: E402
from app.store.db import URL_ENV  # noqa: E402
from bench.calls import CallFigures, summarise  # noqa: E402
from bench.procs import Started, load, start  # noqa: E402
from bench.support import owner  # noqa: E402
from bench.support.oauth import obtain_tokens  # noqa: E402
from bench.support.postgres import Cluster, bin_dir  # noqa: E402


@dataclass
class Server:
    """One server under test: its label, process, token and settings."""

    label: str
    workers: int
    started: Started
    token: str


def _start(label: str, root: Path, workers: int, database: str | None) -> Server:
    data_dir = root / f"data-{len(list(root.iterdir()))}"
    data_dir.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k != URL_ENV}
    env["MCP_TRAY_RATE_LIMIT_SCALE"] = "0"  # the benchmark measures calls, not the limits
    args = ["-m", "app", "serve", "--port", "0", "--data-dir", str(data_dir)]
    if database is not None:
        env[URL_ENV] = database
        env[SIGNING_KEY_ENV] = secrets.token_hex(32)
        args += ["--workers", str(workers)]
    started = start(args, env=env)
    port = int(started.base.rsplit(":", 1)[1])
    owner.remember(port, data_dir, database)
    saved = os.environ.get(URL_ENV)
    try:  # the owner's CLI, run in this process, opens the same store
        if database is None:
            os.environ.pop(URL_ENV, None)
        else:
            os.environ[URL_ENV] = database
        token = obtain_tokens(started.base, name="bench", data_dir=data_dir).access_token
    finally:
        if saved is None:
            os.environ.pop(URL_ENV, None)
        else:
            os.environ[URL_ENV] = saved
    return Server(label, workers, started, token)


def run(calls: int, rounds: int, levels: list[int]) -> dict[str, dict[int, CallFigures]]:
    """{label: {concurrency: figures}} for sqlite-1 and postgres-1/2/4."""
    bindir = bin_dir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    cluster = Cluster(bindir)
    cluster.start()
    servers: list[Server] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mcp-tray-bench-hosted-") as tmp:
            root = Path(tmp)
            servers.append(_start("sqlite, 1 process", root, 1, None))
            for workers in (1, 2, 4):
                servers.append(_start(f"postgres, {workers} worker{'s' if workers > 1 else ''}", root, workers,
                                      cluster.new_database()))
            runs: dict[str, dict[int, list[dict[str, float]]]] = {s.label: {c: [] for c in levels} for s in servers}
            for round_no in range(rounds):
                for concurrency in levels:
                    order = servers if round_no % 2 == 0 else servers[::-1]
                    for server in order:
                        print(f"round {round_no + 1}/{rounds}: {server.label}, {concurrency} client(s)",
                              file=sys.stderr, flush=True)
                        runs[server.label][concurrency].append(
                            load(server.started.mcp_url, server.token, calls, concurrency))
            for server in servers:
                server.started.stop()
            return {label: {c: summarise(r) for c, r in per.items()} for label, per in runs.items()}
    finally:
        for server in servers:
            server.started.stop()
        cluster.stop()


def table(results: dict[str, dict[int, CallFigures]]) -> str:
    """A Markdown table: each server at each concurrency, and its calls/s against one-process SQLite."""
    reference = next(iter(results.values()))
    lines = ["| server | clients | calls/s | p50 ms | p99 ms | failures | calls/s vs SQLite |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for concurrency in next(iter(results.values())):
        base = reference[concurrency].calls_per_s
        for label, per in results.items():
            f = per[concurrency]
            ratio = f.calls_per_s / base if base else 0.0
            lines.append(f"| {label} | {concurrency} | {f.calls_per_s:.0f} | {f.p50_ms:.1f} | {f.p99_ms:.1f} | "
                         f"{f.failures} | {ratio:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per run (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args(argv)
    # SIGTERM ends the run through the `finally` blocks: the servers and the PostgreSQL cluster stop too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    results = run(args.calls, args.rounds, args.concurrency)
    print(table(results))
    print(f"\n{os.cpu_count()} CPUs; medians of {args.rounds} rounds of {args.calls} calls; one load-client "
          "process (threads) on the same machine as the servers and PostgreSQL.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
