"""An hour of dashboard use in one go: the real tray app with its dashboard shown, refreshed N times.

`python -m bench.dashboard_drive --data-dir DIR --refreshes 3600` (run on a display, as bench.idle does)
builds the app as `mcp-tray` does, starts its server, signs a few clients in through the store, shows the
dashboard and then runs its refresh cycle N times back to back: a store snapshot put into the three tabs,
the status panel, and every 20th time the relative times, with an activity line written every 10th time so
the lists really change. It prints one JSON line: RSS before and after, refreshes, seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

import app.ui  # noqa: F401 - before the rest of app, as `mcp-tray` does: see app/ui/lean_imports.py
from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner, ServerState
from app.store.kinds import EventKind
from app.store.store import Store, hash_secret
from app.ui.tray_app import TrayApp

CLIENTS = 5


def _sign_in(store: Store, index: int) -> None:
    client_id = f"bench-client-{index}"
    store.add_client(client_id, f"Bench client {index}", ["http://127.0.0.1:9/cb"], {"client_name": f"Bench {index}"})
    pending = store.approvals.create(client_id=client_id, scopes=["mcp"], redirect_uri="http://127.0.0.1:9/cb",
                                   request={"resource": None, "code_challenge": "x" * 43, "redirect_explicit": True})
    store.approvals.answer(pending.approval_id, approve=True, scopes=["mcp"])
    delivery = store.approvals.deliver(pending.approval_id, 60)
    if delivery is None or delivery.code is None:
        raise RuntimeError(f"the store gave no code for {client_id}")
    store.redeem_code(hash_secret(delivery.code), 3600, 86400)


def _spin_until(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def main(argv: list[str] | None = None) -> int:
    """Drive the refreshes and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_drive")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--refreshes", type=int, default=3600)
    args = parser.parse_args(argv)
    qt = QApplication(sys.argv[:1])
    qt.setQuitOnLastWindowClosed(False)
    runner = ServerRunner(args.data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"b" * 32, persistent=False))
    app = TrayApp(args.data_dir, runner)
    app.start(start_server=True)
    _spin_until(lambda: runner.state is ServerState.RUNNING and not app.controller.busy, 30)
    writer = Store(args.data_dir)
    for index in range(CLIENTS):
        _sign_in(writer, index)
    app.open_dashboard()
    dashboard, service = app.dashboard, app.store
    got = [0]  # snapshots delivered (counted, not kept: keeping them would be the leak measured)

    def arrived(_snapshot: object) -> None:
        got[0] += 1

    service.snapshot_ready.connect(arrived)

    def one_refresh(i: int) -> None:
        if i % 10 == 0:
            writer.log_event(EventKind.REFRESHED, "bench-client-0", f"refresh {i}")
        count = got[0]
        service.refresh()
        _spin_until(lambda: got[0] > count)
        dashboard.update_status()
        if i % 20 == 0:
            dashboard.tokens.model.refresh_times()

    for i in range(50):  # warm-up: caches, fonts, first layouts
        one_refresh(i)
    proc = psutil.Process()
    before = proc.memory_info().rss / 2**20
    began = time.monotonic()
    for i in range(args.refreshes):
        one_refresh(i)
    seconds = time.monotonic() - began
    after = proc.memory_info().rss / 2**20
    writer.close()
    app.shutdown()
    print(json.dumps({"refreshes": args.refreshes, "rss_before_mib": round(before, 1),
                      "rss_after_mib": round(after, 1), "seconds": round(seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
