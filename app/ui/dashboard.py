"""The dashboard window: server status, active tokens, clients and recent activity, updated live.

Live without polling, and only while it is shown: the status card is drawn again when something it
shows changes (app/ui/status_feed.py), the lists when the store changes (app/ui/store_service.py),
the Tool calls tab when the database is written; showEvent starts that and hideEvent stops it, so
a tray app whose window was never opened, or was closed again, does no periodic work at all. The
one timer left, the tokens' relative times ('3 min ago'), runs every TIMES_MS while shown.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.server.runner import ServerState
from app.tools.registry import ToolRegistry
from app.ui.audit_view import AuditView
from app.ui.controller import ServerController
from app.ui.icons import app_icon
from app.ui.lists_view import ActivityView, ClientsView
from app.ui.status_feed import StatusFeed
from app.ui.status_panel import StatusPanel
from app.ui.store_service import StoreService, StoreSnapshot
from app.ui.tokens_view import TokensView
from app.ui.tools_tab import ToolsTab

TIMES_MS = 20_000
MIN_SIZE = QSize(640, 460)  # below this the status card and the tabs' buttons no longer fit
SIGN_INS_TAB = "Sign-ins"


class Banner(QLabel):
    """A coloured line above everything for things the user must know (no tray, no keyring, port taken)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("banner")
        self.setWordWrap(True)
        self.setOpenExternalLinks(False)
        self.hide()

    def say(self, text: str, tone: str = "warn", about: str = "", title: str = "") -> None:
        """Show `text` ("warn" amber, "error" red, "info" blue); about="server" goes once it runs.

        Text and title are escaped: they may carry a client's self-chosen name.
        """
        self.setProperty("about", about)
        shown = html.escape(text)
        self.setTextFormat(Qt.TextFormat.RichText)
        colours = {
            "warn": ("#fff4d6", "#8a5a00", "#f0d48a"),
            "error": ("#fde8e7", "#9b1c15", "#f3b3ae"),
            "info": ("#e8f0fe", "#1a4fa0", "#b6cdf6"),
        }
        bg, fg, border = colours.get(tone, colours["warn"])
        self.setStyleSheet(
            f"QLabel#banner {{ background: {bg}; color: {fg}; border: 1px solid {border};"
            " border-radius: 6px; padding: 8px 10px; }"
        )
        self.setText(f"<b>{html.escape(title)}</b> — {shown}" if title else shown)
        self.show()


class Dashboard(QMainWindow):
    """Everything at a glance; the tray's Open dashboard shows this window."""

    settings_requested = Signal()
    quit_requested = Signal()
    approvals_requested = Signal()

    def __init__(
        self, controller: ServerController, store: StoreService, tools: ToolRegistry, *,
        quit_on_close: bool = False,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.store = store
        self.quit_on_close = quit_on_close
        self.setWindowTitle("MCP Tray")
        self.setWindowIcon(app_icon())
        self.setObjectName("dashboard")

        self.banner = Banner()
        self.pending_button = QPushButton()
        self.pending_button.setObjectName("pendingApprovals")
        self.pending_button.setStyleSheet(
            "QPushButton#pendingApprovals { background: #fff4d6; color: #8a5a00; border: 1px solid #f0d48a;"
            " border-radius: 6px; padding: 8px 10px; text-align: left; font-weight: 600; }"
        )
        self.pending_button.clicked.connect(self.approvals_requested)
        self.pending_button.hide()
        self.status_panel = StatusPanel()
        self.tokens = TokensView()
        self.clients = ClientsView()
        self.activity = ActivityView()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.tokens, SIGN_INS_TAB)
        self.tabs.addTab(self.clients, "Clients")
        self.tabs.addTab(self.activity, "Recent activity")
        self.audit = AuditView()
        self.tabs.addTab(self.audit, "Tool calls")
        self.tools_tab = ToolsTab(tools)
        self.tabs.addTab(self.tools_tab, "Tools")
        self.status_panel.settings_clicked.connect(self.settings_requested)
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("keyringNote")
        self.keyring_note.setWordWrap(True)
        self.keyring_note.hide()

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(14, 12, 14, 8)
        layout.setSpacing(10)
        layout.addWidget(self.banner)
        layout.addWidget(self.pending_button)
        layout.addWidget(self.status_panel)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.keyring_note)
        self.setCentralWidget(body)
        self.setMinimumSize(MIN_SIZE.expandedTo(body.minimumSizeHint()))
        self.resize(860, 600)
        # Made now, not at the first message: a status bar that appears later pushes the buttons up.
        self.statusBar().setSizeGripEnabled(True)
        self._shortcuts()

        self.status_panel.start_clicked.connect(controller.start)
        self.status_panel.stop_clicked.connect(controller.stop)
        self.status_panel.copy_clicked.connect(self.copy_url)
        controller.changed.connect(self.update_status)
        controller.start_failed.connect(self._start_failed)
        controller.stopped_unexpectedly.connect(
            lambda msg: self.banner.say(
                f"The server stopped unexpectedly: {msg}. Start it again above.", "error", "server"
            )
        )
        store.snapshot_ready.connect(self.show_snapshot)
        store.action_done.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        store.action_failed.connect(lambda msg: self.banner.say(msg, "error"))
        self.tokens.revoke_tokens.connect(store.revoke_tokens)
        self.tokens.revoke_client.connect(store.revoke_clients)
        self.clients.remove_clients.connect(store.remove_clients)
        self.audit.wanted.connect(store.read_audit)
        self.audit.revoke_grant.connect(store.revoke_grant)
        store.audit_ready.connect(self.audit.show_page)
        store.changed_on_disk.connect(self.audit.refresh)  # a tool call's row was written (or anything else)
        self.audit.poll = store.polls  # a PostgreSQL store has no file to watch

        self.feed = StatusFeed(controller, self)
        self.feed.due.connect(self.update_status)
        self._times_timer = QTimer(self)
        self._times_timer.setInterval(TIMES_MS)
        self._times_timer.timeout.connect(self.tokens.model.refresh_times)
        self.update_status()
        if store.last is not None:
            self.show_snapshot(store.last)

    def _shortcuts(self) -> None:
        """Delete revokes (after asking), Esc and Ctrl+W close the window, Ctrl+Q quits MCP Tray."""
        def add(keys: QKeySequence | QKeySequence.StandardKey | str, slot: object) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        add(QKeySequence.StandardKey.Delete, self._delete_pressed)
        add("Esc", self._close_pressed)
        add("Ctrl+W", self._close_pressed)
        add("Ctrl+Q", self.quit_requested)

    def _delete_pressed(self) -> None:
        current = self.tabs.currentWidget()
        if current is self.tokens:
            self.tokens.ask_revoke_selected()
        elif current is self.clients:
            self.clients.ask_remove()

    def _close_pressed(self) -> None:
        # Without a tray, closing quits; Esc and Ctrl+W then only put the window away.
        if self.quit_on_close:
            self.showMinimized()
        else:
            self.close()

    @property
    def refreshing(self) -> bool:
        """Whether the window keeps itself current (it does exactly while it is shown)."""
        return self.feed.on

    def showEvent(self, event: QShowEvent) -> None:
        """Start the live updates, with one at once so nothing shown is stale (also when un-minimised)."""
        super().showEvent(event)
        if not self.feed.on:
            self.feed.start()
            self.update_status()
            self.tokens.model.refresh_times()
            self._times_timer.start()
        self.store.set_shown(True)

    def hideEvent(self, event: QHideEvent) -> None:
        """Stop every update while nobody sees the window (hidden to the tray, or minimised)."""
        super().hideEvent(event)
        self.feed.stop()
        self._times_timer.stop()
        self.store.set_shown(False)

    def update_status(self) -> None:
        """Read the controller's non-blocking status into the panel, and plan the next look."""
        self.feed.arm()  # before the read: a request counted after it calls back
        status = self.controller.status()
        self.status_panel.show_status(status)
        self.feed.drawn(status)
        if status.keyring_problem:
            self.keyring_note.setText(
                f"⚠ {status.keyring_problem[:1].upper()}{status.keyring_problem[1:]}: the consent-signing "
                "key lives in memory for this run only (nothing is written to disk in its place), so "
                "consent pages left open do not survive a restart."
            )
        self.keyring_note.setVisible(bool(status.keyring_problem))
        if status.state is ServerState.RUNNING and self.banner.property("about") == "server":
            self.banner.hide()

    def _start_failed(self, message: str, port_in_use: bool) -> None:
        hint = " Choose another port in Settings." if port_in_use else ""
        self.banner.say(f"The server could not start: {message}.{hint}", "error", "server")

    def show_snapshot(self, snapshot: object) -> None:
        """Put a store snapshot into the three tabs (sign-ins counted as sign-ins, not tokens)."""
        if not isinstance(snapshot, StoreSnapshot):
            return
        self.tokens.set_rows(snapshot.tokens)
        self.clients.set_rows(snapshot.clients)
        self.activity.set_rows(snapshot.events)
        self.tabs.setTabText(0, f"{SIGN_INS_TAB} ({self.tokens.model.sign_in_count()})")
        self.tabs.setTabText(1, f"Clients ({len(snapshot.clients)})")

    def show_pending(self, count: int) -> None:
        """The 'requests waiting for you' line above the tabs (hidden when none wait)."""
        if count:
            many = f"{count} sign-in requests are" if count > 1 else "A sign-in request is"
            self.pending_button.setText(f"⏳ {many} waiting for your answer — Answer…")
        self.pending_button.setVisible(count > 0)

    def copy_url(self) -> None:
        """Put the MCP URL on the clipboard."""
        url = self.controller.status().url
        if url:
            QGuiApplication.clipboard().setText(url)
            self.statusBar().showMessage(f"Copied {url}", 5000)

    def bring_up(self) -> None:
        """Show, un-minimise and raise the window."""
        self.show()
        self.setWindowState(self.windowState() & ~self.windowState().WindowMinimized)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        """With a tray, closing only hides; with no tray, closing the window quits the app."""
        if self.quit_on_close:
            self.quit_requested.emit()
        event.accept()
