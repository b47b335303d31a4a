"""The tray menu is rebuilt from the live state each time it opens, and its items reach the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.server.runner import ServerRunner, ServerState
from app.ui.controller import ServerController
from app.ui.tray import Tray

pytestmark = pytest.mark.gui


class Host:
    """Records which menu item was chosen."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pending_count(self) -> int:
        return 0

    def __getattr__(self, name: str) -> object:
        return lambda: self.calls.append(name)


@pytest.fixture
def tray(server: ServerRunner) -> Iterator[tuple[Tray, ServerController, Host]]:
    controller = ServerController(server)
    host = Host()
    icon = Tray(controller, host)  # type: ignore[arg-type]  # a stand-in with the methods Tray calls
    yield icon, controller, host
    controller.shutdown()


def texts(icon: Tray) -> list[str]:
    return [a.text() for a in icon.menu.actions() if not a.isSeparator()]


def test_menu_follows_the_server_state(
    qtbot: QtBot, server: ServerRunner, tray: tuple[Tray, ServerController, Host]
) -> None:
    icon, controller, _ = tray
    icon.menu.aboutToShow.emit()
    assert texts(icon)[0] == f"Running — {server.mcp_url}"
    assert "&Stop server" in texts(icon)
    assert f"{server.mcp_url}" in icon.icon.toolTip()

    controller.stop()
    qtbot.waitUntil(lambda: server.state is ServerState.STOPPED and not controller.busy, timeout=10_000)
    icon.menu.aboutToShow.emit()
    assert texts(icon)[0] == "Stopped"
    assert "&Start server" in texts(icon)
    copy = next(a for a in icon.menu.actions() if a.text() == "&Copy server URL")
    assert not copy.isEnabled()
    assert "not serving" in icon.icon.toolTip()


def test_menu_items_call_the_app(tray: tuple[Tray, ServerController, Host]) -> None:
    icon, _, host = tray
    icon.rebuild_menu()
    for action in icon.menu.actions():
        if action.isEnabled() and not action.isSeparator():
            action.trigger()
    assert host.calls == [
        "open_dashboard",
        "toggle_server",
        "copy_url",
        "toggle_remote",  # Copy public URL stays disabled while remote access is off
        "configure_claude",
        "reset_client_sign_in",
        "open_settings",
        "open_logs",
        "panic",
        "quit",
    ]
