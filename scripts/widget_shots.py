"""Offscreen shots of single windows at their minimum and a normal size (`scripts/screenshots.py --widgets`).

The dashboard empty and with a signed-in client, Settings, and the approval window with a waiting
request: each window is grabbed by Qt itself on the offscreen platform, so no X server is needed.
Saved to docs/screenshots/ as <name>-min.png and <name>.png (the README's shots are the normal ones).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner
from bench.support import owner
from bench.support.oauth import authorize_url, pkce_pair, register, sign_in


def _wait(app: object, done: Callable[[], bool], timeout: float = 15.0) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("widget shots: timed out")
        QApplication.processEvents()
        time.sleep(0.02)


def _settle(seconds: float = 0.4) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def _shoot(window: object, out: Path, name: str, normal: tuple[int, int]) -> list[Path]:
    """The window at its minimum size and at `normal`, as PNGs."""
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    saved = []
    for suffix, size in (("-min", (1, 1)), ("", normal)):
        window.resize(*size)  # (1, 1): Qt stops at the window's minimum
        _settle()
        path = out / f"{name}{suffix}.png"
        window.grab().save(str(path))
        saved.append(path)
        print(f"saved {path.relative_to(out.parent.parent)} ({window.width()}x{window.height()})")
    return saved


def widget_shots(out: Path) -> list[Path]:
    """Make the shots; returns the files written."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from app.ui.tray_app import TrayApp

    qt = QApplication.instance() or QApplication(["widget-shots"])
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"s" * 32, persistent=True))
        app = TrayApp(data_dir, runner, use_tray=False, claude_config=Path(tmp) / "claude.json")
        app.dashboard.quit_requested.disconnect(app.quit)
        app.start(start_server=True)
        _wait(qt, lambda: app.controller.status().url is not None)
        owner.remember(runner.port, data_dir)
        dashboard = app.dashboard
        dashboard.banner.hide()  # "no system tray" is this offscreen run's own situation
        _wait(qt, lambda: app.store.last is not None)
        dashboard.tabs.setCurrentWidget(dashboard.clients)
        saved += _shoot(dashboard, out, "dashboard-empty", (860, 600))
        sign_in(runner.base_url, "Claude Desktop", "mcp offline_access", data_dir=data_dir)
        _wait(qt, lambda: dashboard.tokens.model.token_count() == 2)
        dashboard.tabs.setCurrentWidget(dashboard.tokens)
        dashboard.tokens.tree.expandAll()
        saved += _shoot(dashboard, out, "dashboard", (860, 600))
        app.open_settings()
        assert app.settings_dialog is not None
        saved += _shoot(app.settings_dialog, out, "settings", (660, 760))
        app.settings_dialog.hide()
        client_id = register(runner.base_url, "Cursor")
        _verifier, challenge = pkce_pair()
        httpx.get(authorize_url(runner.base_url, client_id, challenge, scope="mcp tools:files"), timeout=10)
        _wait(qt, app.approvals.isVisible)
        saved += _shoot(app.approvals, out, "approval-window", (720, app.approvals.sizeHint().height()))
        app.shutdown()
    return saved
