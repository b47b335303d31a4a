#!/usr/bin/env python3
"""Soak test of a hosted server: `serve --workers N` on PostgreSQL under 8 OAuth clients for a bounded time.

The clients are scripts/soak.py's (sign in, tools/call add in a loop checking every answer,
refresh every --refresh-every seconds); they go straight to the workers' shared port, so the
kernel spreads their connections. At the end it prints calls, refreshes, errors (the goal is 0),
the resident memory of the supervisor and of every worker after warm-up and at the end, and the
server's PostgreSQL connections after warm-up and at the end (a leak would grow them). Exit
status: 0 with no errors, every worker still the one that started, and a clean stop.

    make soak-hosted                                  # 10 minutes
    python scripts/soak_hosted.py --seconds 30        # short (the test suite runs this)
    python scripts/soak_hosted.py --database URL      # on an existing (empty or migrated) database
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import psycopg  # noqa: E402
from soak import Tally, rss_kib, run_client  # noqa: E402

from app.store.db import URL_ENV  # noqa: E402
from bench.support import owner  # noqa: E402
from bench.support.hosted import HostedServe, hosted_env  # noqa: E402
from bench.support.oauth import OAuthClient, Tokens  # noqa: E402
from bench.support.postgres import Cluster, bin_dir  # noqa: E402

_login = OAuthClient.login
_login_lock = threading.Lock()


def _one_login_at_a_time(self: OAuthClient) -> Tokens:
    # The owner's CLI approves in this process and reads its answer from a redirected stdout, which
    # threads would share: the clients sign in one after another, then run at once.
    with _login_lock:
        return _login(self)


OAuthClient.login = _one_login_at_a_time  # type: ignore[method-assign]  # on purpose, for every client of this run


def connections(database: str) -> int:
    """Connections to this database other than ours."""
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()").fetchone()
        return int(row[0]) if row else 0


def soak(database: str, seconds: float, clients: int, workers: int, refresh_every: float) -> dict[str, object]:
    """Run the server and the clients; the figures."""
    with tempfile.TemporaryDirectory(prefix="mcp-tray-soak-hosted-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir(mode=0o700)
        env = hosted_env(database)
        os.environ[URL_ENV] = database  # the owner's CLI, run in this process, opens the same store
        server = HostedServe(data_dir, env, None, workers)
        owner.remember(server.port, data_dir, database)
        pids = [server.supervisor, *server.workers]
        tally = Tally()
        started = time.monotonic()
        until = started + seconds
        threads = [threading.Thread(target=run_client, args=(server.base, i, until, refresh_every, tally))
                   for i in range(clients)]
        try:
            for thread in threads:
                thread.start()
            time.sleep(min(30.0, seconds / 10))
            rss_warm = {pid: rss_kib(pid) for pid in pids}
            conns_warm = connections(database)
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            rss_end = {pid: rss_kib(pid) for pid in pids}
            conns_end = connections(database)
            restarts = server.text().count("starting it again")
        finally:
            code, stop_seconds = server.stop()
    return {
        "seconds": round(elapsed, 1), "clients": clients, "workers": workers,
        "calls": tally.calls, "calls_per_second": round(tally.calls / elapsed, 1),
        "refreshes": tally.refreshes, "errors": len(tally.errors), "error_samples": tally.errors[:10],
        "worker_restarts": restarts, "exit_code": code, "stop_seconds": round(stop_seconds, 2),
        "rss_kib_after_warmup": rss_warm, "rss_kib_end": rss_end,
        "rss_growth_after_warmup_percent": {
            pid: round(100.0 * (rss_end[pid] - rss_warm[pid]) / rss_warm[pid], 1) if rss_warm[pid] else None
            for pid in pids},
        "db_connections_after_warmup": conns_warm, "db_connections_end": conns_end,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the soak, print its figures as JSON; 0 when clean."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run (default 600)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--refresh-every", type=float, default=30.0, help="seconds between refreshes per client")
    parser.add_argument("--database", help="a PostgreSQL URL to use (default: a throwaway cluster started here)")
    args = parser.parse_args(argv)
    # SIGTERM ends the run through the `finally` blocks: the servers and the PostgreSQL cluster stop too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    cluster = None
    database = args.database
    if database is None:
        bindir = bin_dir()
        if bindir is None:
            print("PostgreSQL is not installed (apt-get install postgresql)", file=sys.stderr)
            return 2
        cluster = Cluster(bindir)
        cluster.start()
        database = cluster.new_database()
    try:
        figures = soak(database, args.seconds, args.clients, args.workers, args.refresh_every)
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(figures, indent=2))
    clean = figures["errors"] == 0 and figures["worker_restarts"] == 0 and figures["exit_code"] == 0
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
