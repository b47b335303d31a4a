"""`mcp-tray panic`: revoke every sign-in and stop the running server for this data dir.

Works from any process: the revocations land in the store (the server closes every stream within
a quarter second), then the server named by the data dir's pid file gets SIGTERM, after checking
that it really is MCP Tray.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray panic`."""
    panic = sub.add_parser("panic", parents=[common],
                           help="revoke every sign-in, close every connection and stop the running server")
    panic.set_defaults(run=panic_command)


def answers_health(port: int) -> bool:
    """True when http://127.0.0.1:PORT/health says it is mcp-tray."""
    import httpx

    try:
        body = httpx.get(f"http://127.0.0.1:{port}/health", timeout=3).json()
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(body, dict) and body.get("name") == "mcp-tray"


def panic_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Revoke, then stop; 1 when a running server could not be stopped."""
    from app.server import pidfile
    from app.server.panic import STREAMS_GRACE, revoke_everything
    from app.store.store import Store

    store = Store(data_dir, getattr(args, "database", None))
    try:
        result = revoke_everything(store)
    finally:
        store.close()
    print(result.summary())
    record = pidfile.read(data_dir)
    if record is None or not pidfile.is_ours(record, answers_health):
        print("No running MCP Tray server was found for this data dir; nothing to stop.")
        return 0
    time.sleep(STREAMS_GRACE)  # let its revocation watcher close every stream the clean way
    if pidfile.stop(record):
        print(f"Stopped the server (pid {record.pid}, port {record.port}).")
        return 0
    print(f"mcp-tray: the server (pid {record.pid}) did not stop; its sign-ins are revoked all the same.",
          file=sys.stderr)
    return 1
