"""Turns store events and server failures into notifications ("new client granted access", "port taken")."""

from __future__ import annotations

import enum

from PySide6.QtCore import QObject, Signal

from app.store.kinds import EventKind
from app.ui.store_service import StoreSnapshot


class NotifyTarget(enum.StrEnum):
    """What clicking a notification opens."""

    DASHBOARD = "dashboard"
    SETTINGS = "settings"
    APPROVALS = "approvals"


class Notifier(QObject):
    """Watches snapshots for new "authorized" events; the first snapshot only sets the baseline."""

    # title, text, purpose (what clicking the message opens: "dashboard" or "settings"), is_error,
    # about ("access" or "server": a server message is stale once the server runs again).
    # A signal rather than a callback: a callback into the app would make a reference cycle
    # through Qt objects, which Python's collector must then untangle.
    message = Signal(str, str, str, bool, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.last_event_id: int | None = None

    def on_snapshot(self, snapshot: object) -> None:
        """Announce clients granted access since the last snapshot."""
        if not isinstance(snapshot, StoreSnapshot):
            return
        newest = max((e.id for e in snapshot.events), default=0)
        if self.last_event_id is None:
            self.last_event_id = newest
            return
        fresh = [e for e in snapshot.events if e.id > self.last_event_id and e.kind == EventKind.AUTHORIZED]
        self.last_event_id = max(self.last_event_id, newest)
        for event in sorted(fresh, key=lambda e: e.id):
            name = event.client_name or event.client_id or "A client"
            scopes = f" (scopes: {event.detail})" if event.detail else ""
            self.message.emit(
                "New client granted access",
                f"{name} can now use your MCP server{scopes}.",
                NotifyTarget.DASHBOARD,
                False,
                "access",
            )

    def on_start_failed(self, message: str, port_in_use: bool) -> None:
        """The server could not start; offer Settings when the port is taken."""
        if port_in_use:
            self.message.emit(
                "MCP Tray cannot start",
                f"{message[:1].upper()}{message[1:]}. Click here to choose another port.",
                NotifyTarget.SETTINGS,
                True,
                "server",
            )
        else:
            self.message.emit("MCP Tray cannot start", message, NotifyTarget.DASHBOARD, True, "server")

    def on_stopped_unexpectedly(self, message: str) -> None:
        """The server thread ended without being asked to."""
        self.message.emit(
            "MCP server stopped",
            f"The server stopped unexpectedly: {message}. Click to open the dashboard.",
            NotifyTarget.DASHBOARD,
            True,
            "server",
        )
