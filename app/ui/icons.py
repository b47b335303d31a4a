"""Icons from resources/icons (SVG, so they stay crisp at any tray size and scale factor)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from app.resources import resource_path
from app.server.server_state import ServerState

STATE_ICONS = {
    ServerState.RUNNING: "tray-running",
    ServerState.STOPPED: "tray-stopped",
    ServerState.STARTING: "tray-starting",
    ServerState.ERROR: "tray-error",
}


@cache
def icon(name: str) -> QIcon:
    """resources/icons/<name>.svg as a QIcon."""
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def state_icon(state: ServerState) -> QIcon:
    """The tray icon for a server state."""
    return icon(STATE_ICONS[state])


def app_icon() -> QIcon:
    """The application's own icon (window title bars, task switchers)."""
    return icon("mcp-tray")
