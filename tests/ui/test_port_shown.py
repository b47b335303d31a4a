"""One truth for the port in the tray: Settings shows the port in use and its source; Configure writes it, or warns."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.port import PortChoice, PortSource
from app.server.runner import ServerRunner, ServerState
from app.ui import dialogs
from app.ui.settings_dialog import SettingsDialog
from app.ui.tray_app import TrayApp
from tests.support.serve import free_port

pytestmark = pytest.mark.gui


def tray(data_dir: Path, choice: PortChoice, saved: int, claude: Path | None = None) -> TrayApp:
    runner = ServerRunner(data_dir, "127.0.0.1", choice, Settings(port=saved),
                          secret=Secret(b"k" * 32, persistent=False))
    app = TrayApp(data_dir, runner, use_tray=False, claude_config=claude)
    app.dashboard.quit_requested.disconnect(app.quit)
    return app


@pytest.fixture
def pool() -> Iterator[QThreadPool]:
    pool = QThreadPool()
    yield pool
    pool.waitForDone(5000)


def test_settings_shows_the_port_given_with_dash_dash_port(qtbot: QtBot, data_dir: Path, pool: QThreadPool) -> None:
    dialog = SettingsDialog(data_dir, Settings(port=8787), lambda: "http://127.0.0.1:18787/mcp", pool,
                            port_choice=lambda: PortChoice(18787, PortSource.COMMAND_LINE))
    qtbot.addWidget(dialog)
    assert dialog.port.value() == 18787
    text = dialog.port_source.text()
    assert "--port for this run only" in text and "settings file says 8787" in text
    assert "Saving these settings keeps port 18787" in text


def test_settings_shows_a_port_from_the_environment(qtbot: QtBot, data_dir: Path, pool: QThreadPool) -> None:
    dialog = SettingsDialog(data_dir, Settings(port=8787), lambda: "http://127.0.0.1:9100/mcp", pool,
                            port_choice=lambda: PortChoice(9100, PortSource.ENVIRONMENT))
    qtbot.addWidget(dialog)
    assert dialog.port.value() == 9100 and "$MCP_TRAY_PORT" in dialog.port_source.text()


def test_settings_says_the_port_comes_from_the_settings_file(qtbot: QtBot, data_dir: Path, pool: QThreadPool) -> None:
    dialog = SettingsDialog(data_dir, Settings(port=9001), lambda: "http://127.0.0.1:9001/mcp", pool)
    qtbot.addWidget(dialog)
    assert dialog.port.value() == 9001 and dialog.port_source.text() == "Port 9001, from the settings file."


def test_the_settings_note_is_not_cut_off(qtbot: QtBot, data_dir: Path, pool: QThreadPool) -> None:
    dialog = SettingsDialog(data_dir, Settings(), lambda: "http://127.0.0.1:8787/mcp", pool)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSize())
    qtbot.wait(50)
    for name in ("settingsNote", "portSource"):
        label = dialog.findChild(type(dialog.port_source), name)
        assert label is not None
        assert label.height() >= label.heightForWidth(label.width()), name


def test_a_taken_dash_dash_port_opens_settings_showing_that_port(qtbot: QtBot, data_dir: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    app = tray(data_dir, PortChoice(taken, PortSource.COMMAND_LINE), 8787)
    qtbot.addWidget(app.dashboard)
    try:
        app.start(start_server=True)
        qtbot.waitUntil(lambda: app.runner.state is ServerState.ERROR, timeout=10_000)
        app.open_settings()  # what clicking the port-taken notification does
        dialog = app.settings_dialog
        assert dialog is not None and dialog.port.value() == taken
        assert "--port for this run only" in dialog.port_source.text()
    finally:
        app.shutdown()
        blocker.close()


def test_configure_claude_writes_the_served_port_and_says_it_is_for_this_run(
    qtbot: QtBot, data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    app = tray(data_dir, PortChoice(port, PortSource.COMMAND_LINE), 8787, config)
    qtbot.addWidget(app.dashboard)
    said: list[str] = []
    app.notifier.message.connect(lambda title, text, purpose, error, about: said.append(text))
    app.notify = lambda title, text, purpose, error, about="", quiet=False: said.append(text)  # type: ignore[method-assign]  # on purpose: catch what it says
    try:
        app.start(start_server=True)
        qtbot.waitUntil(lambda: app.runner.state is ServerState.RUNNING, timeout=10_000)
        app.configure_claude()
        qtbot.waitUntil(lambda: any("Claude Desktop" in s for s in said), timeout=5000)
        entry = json.loads(config.read_text())["mcpServers"]["mcp-tray"]
        assert f"http://127.0.0.1:{port}/mcp" in entry["args"]
        text = next(s for s in said if "Restart Claude Desktop" in s)
        assert "browser page" in text and ("“MCP Tray bridge”" in text or "“MCP CLI Client”" in text)
        assert f"Save port {port} in Settings" in text and "settings file says 8787" in text
    finally:
        app.shutdown()


def test_saving_settings_keeps_the_port_in_use_without_a_restart(
    qtbot: QtBot, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialogs, "tell", lambda *a, **k: None)
    port = free_port()
    app = tray(data_dir, PortChoice(port, PortSource.COMMAND_LINE), 8787)
    qtbot.addWidget(app.dashboard)
    try:
        app.start(start_server=True)
        qtbot.waitUntil(lambda: app.runner.state is ServerState.RUNNING, timeout=10_000)
        started = app.runner.parts.stats.started_at if app.runner.parts else 0.0
        app.open_settings()
        dialog = app.settings_dialog
        assert dialog is not None
        with qtbot.waitSignal(dialog.saved, timeout=5000):
            dialog.save()
        assert Settings.load(data_dir).port == port  # the next launch without --port serves it too
        assert app.runner.port_choice == PortChoice(port, PortSource.SETTINGS)
        assert app.runner.parts is not None and app.runner.parts.stats.started_at == started  # no restart
        assert app.port_note() == ""
    finally:
        app.shutdown()
