"""The tray icon: its state icon and tooltip, and a menu rebuilt each time it opens (so it is never stale)."""

from __future__ import annotations

import logging
import weakref
from typing import Protocol, cast

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.server.runner import ServerState
from app.ui.controller import ServerController
from app.ui.icons import state_icon
from app.ui.status_panel import state_words

log = logging.getLogger(__name__)


class TrayHost(Protocol):
    """What the tray's menu items do; the application object provides it."""

    def open_dashboard(self) -> None: ...
    def open_approvals(self) -> None: ...
    def pending_count(self) -> int: ...
    def toggle_server(self) -> None: ...
    def copy_url(self) -> None: ...
    def toggle_remote(self) -> None: ...
    def copy_public_url(self) -> None: ...
    def configure_claude(self) -> None: ...
    def reset_client_sign_in(self) -> None: ...
    def panic(self) -> None: ...
    def open_logs(self) -> None: ...
    def open_settings(self) -> None: ...
    def quit(self) -> None: ...


class Tray(QObject):
    """A QSystemTrayIcon that follows the server's state."""

    def __init__(
        self,
        controller: ServerController,
        host: TrayHost,
        parent: QObject | None = None,
        icon: QSystemTrayIcon | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        # A proxy, not a reference: the host owns this object, and a cycle through Qt objects
        # would be left for Python's collector to untangle.
        self.host: TrayHost = cast(TrayHost, weakref.proxy(host))
        # An icon shown early at launch (before the server code loaded) is taken over, not replaced.
        self.icon = icon or QSystemTrayIcon()
        self.icon.setParent(self)
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        controller.changed.connect(self.update_icon)
        self.rebuild_menu()
        self.update_icon()

    def show(self) -> None:
        """Put the icon in the tray."""
        self.icon.show()

    def hide(self) -> None:
        """Take the icon out of the tray."""
        self.icon.hide()

    def update_icon(self) -> None:
        """Icon and tooltip for the current state."""
        status = self.controller.status()
        self.icon.setIcon(state_icon(ServerState.STARTING if status.busy else status.state))
        words, _ = state_words(status)
        detail = status.url or (status.error if status.state is ServerState.ERROR else "not serving")
        self.icon.setToolTip(f"MCP Tray — {words}\n{detail}")

    def rebuild_menu(self) -> None:
        """Fill the menu from the live state (connected to aboutToShow)."""
        status = self.controller.status()
        self.menu.clear()
        words, _ = state_words(status)
        line = f"{words} — {status.url}" if status.url else words
        if status.state is ServerState.ERROR and status.error:
            line = f"Error — {status.error}"
        head = self.menu.addAction(state_icon(status.state), line)
        head.setEnabled(False)
        head.setObjectName("statusLine")
        self.menu.addSeparator()
        waiting = self.host.pending_count()
        if waiting:
            answer = self._add(f"&Approve sign-in… ({waiting} waiting)", self.host.open_approvals)
            answer.setObjectName("approveSignIn")
        self._add("Open &dashboard", self.host.open_dashboard)
        running = status.state is ServerState.RUNNING
        toggle = self._add("&Stop server" if running else "&Start server", self.host.toggle_server)
        toggle.setEnabled(not status.busy)
        self._add("&Copy server URL", self.host.copy_url).setEnabled(status.url is not None)
        remote_on = status.remote is not None and status.remote.on
        remote = self._add("Stop re&mote access" if remote_on else "Start re&mote access…", self.host.toggle_remote)
        remote.setObjectName("toggleRemote")
        remote.setEnabled(not status.busy and (remote_on or running))
        public = self._add("Copy &public URL", self.host.copy_public_url)
        public.setObjectName("copyPublicUrl")
        public.setEnabled(remote_on)
        self._add("Configure C&laude Desktop", self.host.configure_claude)
        self._add("&Reset client sign-in…", self.host.reset_client_sign_in)
        self._add("Se&ttings…", self.host.open_settings)
        self._add("Open l&ogs", self.host.open_logs)
        self.menu.addSeparator()
        self._add("Revoke everything and sto&p…", self.host.panic).setObjectName("panic")
        self.menu.addSeparator()
        self._add("&Quit", self.host.quit)

    def _add(self, text: str, slot: object) -> QAction:
        action = self.menu.addAction(text)
        action.triggered.connect(slot)
        return action

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.host.open_dashboard()

    def notify(self, title: str, text: str, error: bool = False) -> None:
        """A tray message (balloon or desktop notification)."""
        kind = QSystemTrayIcon.MessageIcon.Warning if error else QSystemTrayIcon.MessageIcon.Information
        self.icon.showMessage(title, text, kind, 10_000)
