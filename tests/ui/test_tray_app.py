"""The app object offscreen: no-tray fallback, notifications, a taken port, settings, Claude Desktop."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner, ServerState
from app.store.rows import EventRow
from app.ui import dialogs
from app.ui.notifier import Notifier
from app.ui.store_service import StoreSnapshot
from app.ui.tray_app import TrayApp
from tests.conftest import parts_of
from tests.support.signin import sign_in

pytestmark = pytest.mark.gui


def make_app(data_dir: Path, port: int, claude: Path | None = None) -> TrayApp:
    runner = ServerRunner(
        data_dir, "127.0.0.1", port, Settings(port=port or 8787), secret=Secret(b"k" * 32, persistent=False)
    )
    return TrayApp(data_dir, runner, use_tray=False, claude_config=claude)


@pytest.fixture
def tray_app(qtbot: QtBot, data_dir: Path, tmp_path: Path) -> Iterator[TrayApp]:
    app = make_app(data_dir, 0, tmp_path / "Claude" / "claude_desktop_config.json")
    qtbot.addWidget(app.dashboard)
    # Quitting would end pytest-qt's own event loop: tests see the request, not its effect.
    app.dashboard.quit_requested.disconnect(app.quit)
    yield app
    app.shutdown()


def snapshot(*events: EventRow) -> StoreSnapshot:
    return StoreSnapshot((), (), tuple(events))


def test_notifier_announces_only_new_authorizations() -> None:
    seen: list[tuple[str, str, str, bool, str]] = []
    notifier = Notifier()
    notifier.message.connect(lambda *a: seen.append(a))
    old = EventRow(1, 0.0, "authorized", "c0", "Old app", "mcp")
    notifier.on_snapshot(snapshot(old))  # the baseline: what happened before launch is not news
    assert seen == []
    new = EventRow(3, 0.0, "authorized", "c1", "Claude Desktop", "mcp offline_access")
    refresh = EventRow(2, 0.0, "refreshed", "c0", "Old app", "")
    notifier.on_snapshot(snapshot(new, refresh, old))
    assert seen == [
        (
            "New client granted access",
            "Claude Desktop can now use your MCP server (scopes: mcp offline_access).",
            "dashboard",
            False,
            "access",
        )
    ]
    notifier.on_snapshot(snapshot(new, refresh, old))
    assert len(seen) == 1


def test_without_a_tray_the_dashboard_opens_and_says_why(qtbot: QtBot, tray_app: TrayApp) -> None:
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.runner.state is ServerState.RUNNING, timeout=10_000)
    assert tray_app.dashboard.isVisible()
    assert "No system tray" in tray_app.dashboard.banner.text()
    assert tray_app.dashboard.quit_on_close
    with qtbot.waitSignal(tray_app.dashboard.quit_requested, timeout=2000):
        tray_app.dashboard.close()


def test_a_new_client_is_announced_from_the_real_flow(qtbot: QtBot, tray_app: TrayApp) -> None:
    said: list[str] = []
    tray_app.notifier.message.connect(lambda title, text, purpose, error, about: said.append(text))
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.runner.state is ServerState.RUNNING, timeout=10_000)
    qtbot.waitUntil(lambda: tray_app.notifier.last_event_id is not None, timeout=5000)
    sign_in(tray_app.runner.base_url, "Fresh client", data_dir=tray_app.data_dir)
    qtbot.waitUntil(lambda: any("Fresh client can now use" in s for s in said), timeout=5000)


def test_a_taken_port_is_reported_and_settings_offer_another(qtbot: QtBot, data_dir: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    app = make_app(data_dir, taken)
    qtbot.addWidget(app.dashboard)
    app.dashboard.quit_requested.disconnect(app.quit)
    said: list[tuple[str, str]] = []
    app.notifier.message.connect(lambda title, text, purpose, error, about: said.append((text, purpose)))
    try:
        app.start(start_server=True)
        qtbot.waitUntil(lambda: bool(said), timeout=10_000)
        text, purpose = said[0]
        assert f"port {taken}" in text.lower() and "choose another port" in text
        assert purpose == "settings"
        assert app.runner.state is ServerState.ERROR
        assert (
            "already in use" in app.dashboard.banner.text() and "another port" in app.dashboard.banner.text()
        )

        app.open_settings()
        dialog = app.settings_dialog
        assert dialog is not None and dialog.isVisible()
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        new_port = free.getsockname()[1]
        free.close()
        dialog.port.setValue(new_port)
        dialog.save()
        qtbot.waitUntil(lambda: app.runner.state is ServerState.RUNNING, timeout=10_000)
        assert app.runner.port == new_port
        qtbot.waitUntil(lambda: not app.dashboard.banner.isVisible(), timeout=3000)  # the error is over
        assert json.loads((data_dir / "settings.json").read_text())["port"] == new_port
    finally:
        app.shutdown()
        blocker.close()


def test_settings_save_lifetimes_and_restart_the_server_with_them(
    qtbot: QtBot, tray_app: TrayApp, data_dir: Path
) -> None:
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.runner.state is ServerState.RUNNING, timeout=10_000)
    tray_app.open_settings()
    dialog = tray_app.settings_dialog
    assert dialog is not None
    dialog.access_minutes.setValue(5)
    dialog.refresh_days.setValue(2)
    dialog.start_on_launch.setChecked(False)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
    saved = Settings.load(data_dir)
    assert (saved.access_token_ttl, saved.refresh_token_ttl, saved.start_server_on_launch) == (
        300,
        172800,
        False,
    )
    qtbot.waitUntil(
        lambda: tray_app.runner.state is ServerState.RUNNING and not tray_app.controller.busy, timeout=10_000
    )
    assert tray_app.runner.parts is not None and parts_of(tray_app.runner).lifetimes.access == 300


def test_claude_section_configures_and_offers_a_fresh_start_for_broken_json(
    qtbot: QtBot, tray_app: TrayApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialogs, "tell", lambda *a, **k: None)
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: True)
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    tray_app.open_settings()
    section = tray_app.settings_dialog.claude  # type: ignore[union-attr]  # open_settings() made it
    qtbot.waitUntil(lambda: section.status is not None, timeout=5000)
    assert not section.reset_button.isVisible()
    section.configure()
    qtbot.waitUntil(lambda: "set up to use this server" in section.state_label.text(), timeout=5000)
    assert "mcp-tray" in json.loads(config.read_text())["mcpServers"]
    assert "restart" in section.detail.text().lower()

    config.write_text('{"mcpServers": {"other": ', encoding="utf-8")
    section.refresh()
    qtbot.waitUntil(lambda: section.reset_button.isVisible(), timeout=5000)
    assert "not valid JSON" in section.state_label.text()
    assert not section.configure_button.isEnabled()
    section.backup_and_reset()
    qtbot.waitUntil(lambda: "set up to use this server" in section.state_label.text(), timeout=5000)
    backups = [
        p for p in config.parent.iterdir() if p != config and p.read_text() == '{"mcpServers": {"other": '
    ]
    assert backups, "the broken file was kept as a backup"


def test_a_server_that_stops_on_its_own_is_announced(qtbot: QtBot, tray_app: TrayApp) -> None:
    said: list[tuple[str, str]] = []
    tray_app.notifier.message.connect(
        lambda title, text, purpose, error, about: said.append((title, purpose))
    )
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.runner.state is ServerState.RUNNING, timeout=10_000)
    qtbot.wait(700)  # the controller has seen it running
    # Nothing public stops uvicorn behind the runner's back; this is what a crash in its loop looks like.
    tray_app.runner._server.should_exit = True  # type: ignore[union-attr]  # it runs: _server is set
    qtbot.waitUntil(lambda: bool(said), timeout=10_000)
    assert said == [("MCP server stopped", "dashboard")]
    assert "stopped unexpectedly" in tray_app.dashboard.banner.text()
    assert tray_app.dashboard.status_panel.toggle.text() == "Start server"


def test_a_port_taken_by_another_mcp_tray_says_so(qtbot: QtBot, server: ServerRunner, tmp_path: Path) -> None:
    other = tmp_path / "other-data"
    other.mkdir()
    app = make_app(other, server.port)
    qtbot.addWidget(app.dashboard)
    app.dashboard.quit_requested.disconnect(app.quit)
    said: list[str] = []
    app.notifier.message.connect(lambda title, text, purpose, error, about: said.append(text))
    try:
        app.start(start_server=True)
        qtbot.waitUntil(lambda: bool(said), timeout=10_000)
        assert f"Port {server.port} is used by another MCP Tray" in said[0]
    finally:
        app.shutdown()


def test_tray_configure_with_a_broken_claude_config_opens_settings_and_keeps_the_file(
    qtbot: QtBot, tray_app: TrayApp, tmp_path: Path
) -> None:
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir()
    config.write_text("{not json", encoding="utf-8")
    tray_app.configure_claude()
    qtbot.waitUntil(
        lambda: tray_app.settings_dialog is not None and tray_app.settings_dialog.isVisible(), timeout=5000
    )
    section = tray_app.settings_dialog.claude  # type: ignore[union-attr]  # open_settings() made it
    qtbot.waitUntil(lambda: section.reset_button.isVisible(), timeout=5000)
    assert config.read_text(encoding="utf-8") == "{not json"
    assert "not configured" in tray_app.dashboard.banner.text()


def test_a_client_name_with_markup_is_shown_as_text(qtbot: QtBot, tray_app: TrayApp) -> None:
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.runner.state is ServerState.RUNNING, timeout=10_000)
    qtbot.waitUntil(lambda: tray_app.notifier.last_event_id is not None, timeout=5000)
    sign_in(tray_app.runner.base_url, '<a href="https://evil.example">Claude</a>', data_dir=tray_app.data_dir)
    qtbot.waitUntil(lambda: "New client granted access" in tray_app.dashboard.banner.text(), timeout=5000)
    shown = tray_app.dashboard.banner.text()
    assert "<a href" not in shown
    assert "&lt;a href=&quot;https://evil.example&quot;&gt;Claude&lt;/a&gt;" in shown
    box = dialogs._box(None, "Revoke?", "<b>Claude</b>", QMessageBox.Icon.Question)
    assert box.textFormat() == Qt.TextFormat.PlainText


def test_start_at_login_checkbox_registers_with_the_desktop(
    qtbot: QtBot, tray_app: TrayApp, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    entry = tmp_path / "xdg" / "autostart" / "mcp-tray.desktop"
    tray_app.open_settings()
    dialog = tray_app.settings_dialog
    assert dialog is not None and not dialog.start_at_login.isChecked()
    dialog.start_at_login.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
    assert entry.exists() and "Exec=" in entry.read_text()
    assert Settings.load(data_dir).start_at_login
    tray_app.open_settings()
    assert dialog.start_at_login.isChecked()
    dialog.start_at_login.setChecked(False)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
    assert not entry.exists() and not Settings.load(data_dir).start_at_login


def test_dashboard_has_the_tools_tab_over_the_servers_registry(tray_app: TrayApp) -> None:
    tabs = tray_app.dashboard.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert titles == ["Sign-ins", "Clients", "Recent activity", "Tool calls", "Tools"]
    assert tray_app.dashboard.tools_tab.registry is tray_app.runner.tools


def test_reset_client_sign_in_deletes_mcp_remote_files_only_after_asking(
    qtbot: QtBot, tray_app: TrayApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.bridge.reset import mcp_remote_hash

    cache = tmp_path / "mcp-auth" / "mcp-remote-0.15.1"
    cache.mkdir(parents=True)
    monkeypatch.setenv("MCP_REMOTE_CONFIG_DIR", str(tmp_path / "mcp-auth"))
    ours = cache / f"{mcp_remote_hash(tray_app.server_url())}_tokens.json"
    other = cache / f"{mcp_remote_hash('https://elsewhere.example/mcp')}_tokens.json"
    for path in (ours, other):
        path.write_text("{}")
    notes: list[tuple[object, ...]] = []
    monkeypatch.setattr(tray_app, "notify", lambda *a, **k: notes.append(a))

    asked: list[str] = []
    def ask(parent: object, title: str, text: str) -> bool:
        asked.append(text)
        return False

    monkeypatch.setattr(dialogs, "ask", ask)
    tray_app.reset_client_sign_in()
    qtbot.waitUntil(lambda: len(notes) == 1, timeout=5000)
    assert ours.exists() and len(asked) == 1 and "1 cached sign-in file" in asked[0]

    monkeypatch.setattr(dialogs, "ask", lambda *a: True)
    tray_app.reset_client_sign_in()
    qtbot.waitUntil(lambda: len(notes) == 2, timeout=5000)
    assert not ours.exists() and other.exists()
    assert notes[1][0] == "Client sign-in reset"
