"""The application object: wires the runner, the store service, the tray, the dashboard and notifications."""

from __future__ import annotations

import logging
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.auth.approval import ApprovalDesk
from app.config import Settings, log_dir
from app.remote.adapters import build_ingress
from app.remote.ingress import IngressError
from app.server.port import PortChoice, PortSource, entry_note
from app.server.runner import ServerRunner, ServerState
from app.server.tool_gate import ScopeRefusal
from app.store.rows import PendingApproval
from app.store.store import Store
from app.tools.groups import GROUPS
from app.ui import dialogs, menu_jobs
from app.ui.approval_window import ApprovalSignals, ApprovalWindow
from app.ui.controller import ServerController
from app.ui.dashboard import Dashboard
from app.ui.notifier import Notifier, NotifyTarget
from app.ui.prompt_window import PromptWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.store_service import StoreService
from app.ui.tasks import run_task
from app.ui.tray import Tray

log = logging.getLogger(__name__)


class _ServerRelay(QObject):
    """Carries what the server thread reports (held calls, refused scopes) onto the GUI thread."""

    held = Signal(object)  # list[HeldCall]
    scope_refused = Signal(object)  # ScopeRefusal


class TrayApp(QObject):
    """One running MCP Tray: what the tray menu, the dashboard and the notifications act on."""

    def __init__(
        self,
        data_dir: Path,
        runner: ServerRunner,
        *,
        use_tray: bool | None = None,
        claude_config: Path | None = None,
        tray_icon: QSystemTrayIcon | None = None,
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.runner = runner  # the settings' one owner: `self.settings` reads them from it
        self.claude_config = claude_config
        self.pool = QThreadPool(self)  # small disk jobs: settings, Claude's config
        self.controller = ServerController(runner, self)
        self.store = StoreService(data_dir, self)
        self.has_tray = QSystemTrayIcon.isSystemTrayAvailable() if use_tray is None else use_tray
        log.info("system tray available: %s", self.has_tray)
        self.dashboard = Dashboard(self.controller, self.store, runner.tools, quit_on_close=not self.has_tray)
        self.dashboard.settings_requested.connect(self.open_settings)
        self.dashboard.quit_requested.connect(self.quit)
        self.settings_dialog: SettingsDialog | None = None
        self._message_purpose = NotifyTarget.DASHBOARD
        self.notifier = Notifier(self)
        self.notifier.message.connect(self.notify)
        self.store.snapshot_ready.connect(self.notifier.on_snapshot)
        self.controller.start_failed.connect(self.notifier.on_start_failed)
        self.controller.stopped_unexpectedly.connect(self.notifier.on_stopped_unexpectedly)
        self.approval_desk = ApprovalDesk(Store(data_dir))
        self.approvals = ApprovalWindow(self.approval_desk)
        self._pending = 0
        self.approvals.queue_changed.connect(self._pending_changed)
        self.approvals.answered.connect(self._approval_answered)
        self.dashboard.approvals_requested.connect(self.open_approvals)
        self.approval_signals = ApprovalSignals(self)
        self.approval_signals.arrived.connect(self._approval_arrived)
        runner.approval_events.subscribe(self.approval_signals.on_arrived)
        self.controller.remote_failed.connect(
            lambda message: self.notify("Remote access did not start", message, NotifyTarget.SETTINGS, True))
        self.controller.remote_ended.connect(
            lambda message: self.notify("Remote access is off", message, NotifyTarget.DASHBOARD, False))
        self.prompt = PromptWindow()
        self.relay = _ServerRelay(self)
        self.relay.held.connect(self.prompt.set_calls, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe_held = runner.held.subscribe(self.relay.held.emit)
        self.prompt.answered.connect(self.answer_call)
        self.relay.scope_refused.connect(self.offer_scope, Qt.ConnectionType.QueuedConnection)
        self._scope_listener = self.relay.scope_refused.emit
        runner.scope_listeners.append(self._scope_listener)
        self._offers_open: set[tuple[str, str]] = set()
        self.tray: Tray | None = None
        if self.has_tray:
            self.tray = Tray(self.controller, self, self, tray_icon)
            self.tray.icon.messageClicked.connect(self._message_clicked)
        else:
            self.dashboard.banner.say(
                "No system tray was found on this desktop, so MCP Tray shows this window instead. "
                "Closing it quits MCP Tray and stops the server.",
                "info",
            )

    @property
    def settings(self) -> Settings:
        """The settings the server runs with (the runner holds them)."""
        return self.runner.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.runner.reconfigure(settings)

    def start(self, start_server: bool) -> None:
        """Show the tray (or the window) and, if wanted, start the server."""
        self.store.start()
        if self.tray is not None:
            self.tray.show()
            QTimer.singleShot(1500, self._log_tray_geometry)
        else:
            self.dashboard.bring_up()
        if start_server:
            self.controller.start()

    def _log_tray_geometry(self) -> None:
        if self.tray is not None:
            # In device pixels, the way X tools (xdotool, xwininfo) count them, whatever the scale factor.
            g = self.tray.icon.geometry()
            screen = QGuiApplication.primaryScreen()
            r = screen.devicePixelRatio() if screen is not None else 1.0
            log.info(
                "tray icon embedded at x=%d y=%d w=%d h=%d",
                round(g.x() * r),
                round(g.y() * r),
                round(g.width() * r),
                round(g.height() * r),
            )

    # -- what the tray menu does -----------------------------------------------------------------

    def open_dashboard(self) -> None:
        """Show the dashboard window."""
        self.dashboard.bring_up()

    def open_approvals(self) -> None:
        """Show the sign-in requests waiting for an answer."""
        self.approvals.refresh(bring_up=True)

    def pending_count(self) -> int:
        """How many sign-in requests wait (as of the approval window's last look)."""
        return self._pending

    def _approval_arrived(self, approval: object) -> None:
        if not isinstance(approval, PendingApproval):
            return
        self.approvals.on_arrived(approval)
        self.notify("Sign-in request", f"{approval.client_name} asks to connect (code {approval.match_code}). "
                    "Answer in the MCP Tray window.", NotifyTarget.APPROVALS, False)

    def _pending_changed(self, count: int) -> None:
        self._pending = count
        self.dashboard.show_pending(count)

    def _approval_answered(self, client_name: str, allowed: bool) -> None:
        self.dashboard.statusBar().showMessage(
            f"{'Allowed' if allowed else 'Denied'} {client_name}.", 8000)

    def toggle_server(self) -> None:
        """Start a stopped server, stop a running one."""
        if self.runner.state is ServerState.RUNNING:
            self.controller.stop()
        else:
            self.controller.start()

    def server_url(self) -> str:
        """The MCP URL clients should use: the live one, else the one the next start will serve on."""
        return self.controller.status().url or f"http://127.0.0.1:{self.runner.requested_port}/mcp"

    def port_note(self) -> str:
        """Why a client entry written now may stop working after a restart ('' when it will not)."""
        return entry_note(self.runner.port_choice, self.settings.port)

    def copy_url(self) -> None:
        """Put the MCP URL on the clipboard."""
        QGuiApplication.clipboard().setText(self.server_url())
        self.notify("Server URL copied", self.server_url(), NotifyTarget.DASHBOARD, False, quiet=True)

    def toggle_remote(self) -> None:
        """Start remote access with the settings' ingress, or stop it (closing it and revoking remote sign-ins)."""
        remote = self.runner.remote.status()
        if remote.on:
            self.controller.stop_remote()
            self.notify("Remote access stopped", "The public URL is closed and remote sign-ins are revoked.",
                        NotifyTarget.DASHBOARD, False)
            return
        try:
            ingress = build_ingress(self.settings, self.data_dir)
        except IngressError as exc:
            self.open_settings()
            self.notify("Remote access did not start", str(exc), NotifyTarget.SETTINGS, True)
            return
        self.controller.start_remote(ingress, self.settings.remote_auto_off)

    def copy_public_url(self) -> None:
        """Put the public MCP URL on the clipboard (while remote access is on)."""
        url = self.runner.remote.status().public_url
        if url:
            QGuiApplication.clipboard().setText(url)
            self.notify("Public URL copied", url, NotifyTarget.DASHBOARD, False, quiet=True)

    def configure_claude(self) -> None:
        """Write Claude Desktop's entry; a broken config opens Settings, which offers a fresh start."""
        menu_jobs.configure_claude(self)

    def reset_client_sign_in(self) -> None:
        """Forget the bridge's stored sign-in and, once the user agrees, mcp-remote's cached files."""
        menu_jobs.reset_client_sign_in(self)

    def panic(self) -> None:
        """After one confirmation: revoke every sign-in, deny waiting calls, close every stream, stop."""
        menu_jobs.panic(self)

    def open_logs(self) -> None:
        """Open the log folder in the file manager."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir(self.data_dir))))

    def open_settings(self) -> None:
        """Show the settings dialog, reset to the saved settings."""
        # One dialog for the app's lifetime: dropping the last reference to a dialog from inside
        # its own finished() signal would delete it while Qt is still emitting.
        if self.settings_dialog is None:
            dialog = SettingsDialog(
                self.data_dir, self.settings, self.server_url, self.pool, self.claude_config,
                port_choice=lambda: self.runner.port_choice,
            )
            dialog.saved.connect(self._settings_saved)
            self.settings_dialog = dialog
        elif not self.settings_dialog.isVisible():
            self.settings_dialog.load(self.settings)
        if self.runner.state is ServerState.ERROR:
            self.settings_dialog.focus_port()
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        self.settings_dialog.activateWindow()

    def _settings_saved(self, settings: object) -> None:
        if not isinstance(settings, Settings):
            return
        old, in_use = self.settings, self.runner.port_choice
        # The dialog showed the port in use; saving it makes it the settings' port from now on.
        port_changed = settings.port != (in_use.port or old.port)
        lifetimes_changed = (settings.access_token_ttl, settings.refresh_token_ttl) != (
            old.access_token_ttl,
            old.refresh_token_ttl,
        )
        # What needs no restart applies at once: the Ask timeout, the per-sign-in cap, audit retention.
        saved = PortChoice(settings.port, PortSource.SETTINGS)
        if port_changed or lifetimes_changed or self.runner.state is ServerState.ERROR:
            self.runner.reconfigure(settings)
            self.controller.restart(settings, saved)
        else:
            self.runner.reconfigure(settings, saved if in_use.port == settings.port else None)

    # -- held calls (tool policy Ask) --------------------------------------------------------------

    def answer_call(self, call_id: str, allow: bool, answer_for: str) -> None:
        """The owner's answer from the prompt: written and passed to the waiting call off the GUI thread."""

        def failed(exc: Exception) -> None:
            self.notify("The answer did not reach the call", str(exc), NotifyTarget.DASHBOARD, True)

        run_task(self.pool, lambda: self.runner.held.answer(call_id, allow, answer_for, by="tray"),
                 None, failed, self)

    # -- step-up: "Give <client> access to <group>?" ------------------------------------------------

    def offer_scope(self, refusal: object) -> None:
        """A client called a tool its sign-in may not use: offer to extend the sign-in (once at a time)."""
        if not isinstance(refusal, ScopeRefusal) or self.runner.parts is None:
            return
        key = (refusal.grant_id, refusal.scope)
        if key in self._offers_open:
            return
        self._offers_open.add(key)
        store = self.runner.parts.store

        def lookup() -> str:
            info = store.client_info(refusal.client_id) or {}
            name = info.get("client_name")
            return name if isinstance(name, str) and name else "An unnamed client"

        def ask(name: object) -> None:
            group = GROUPS[refusal.group]
            try:
                yes = dialogs.ask(
                    self.dashboard, f"Give {name} access to {group.title.lower()}?",
                    f"“{name}” tried to call {refusal.tool}, which needs the permission {refusal.scope} "
                    f"({group.description[:1].lower()}{group.description[1:]}). Its sign-in does not have "
                    "it.\n\nGive it that permission? It applies from the client's next request; you can revoke "
                    "the sign-in at any time.")
            finally:
                self._offers_open.discard(key)
            if yes:
                run_task(self.pool, lambda: store.extend_grant(refusal.grant_id, [refusal.scope]),
                         lambda now: self.notify("Access extended", f"{name} may now use {group.title.lower()}.",
                                                 NotifyTarget.DASHBOARD, False, quiet=True),
                         lambda exc: self.notify("Access not extended", str(exc), NotifyTarget.DASHBOARD, True), self)

        run_task(self.pool, lookup, ask, lambda exc: self._offers_open.discard(key), self)

    # -- notifications ---------------------------------------------------------------------------

    def notify(
        self, title: str, text: str, purpose: NotifyTarget | str, error: bool, about: str = "", quiet: bool = False
    ) -> None:
        """A tray message; with no tray, a banner in the dashboard."""
        log.info("notification: %s: %s", title, text)
        self._message_purpose = NotifyTarget(purpose)
        if self.tray is not None:
            self.tray.notify(title, text, error)
        elif not quiet:
            self.dashboard.banner.say(text, "error" if error else "info", about, title=title)

    def _message_clicked(self) -> None:
        if self._message_purpose is NotifyTarget.SETTINGS:
            self.open_settings()
        elif self._message_purpose is NotifyTarget.APPROVALS:
            self.open_approvals()
        else:
            self.open_dashboard()

    # -- leaving ---------------------------------------------------------------------------------

    def quit(self) -> None:
        """Leave the event loop; run_gui then stops the server and exits 0."""
        log.info("quit requested")
        app = QApplication.instance()
        if app is not None:
            app.exit(0)

    def shutdown(self) -> None:
        """After the event loop: hide the tray, stop the server, close the stores."""
        if self.tray is not None:
            self.tray.hide()
        self._unsubscribe_held()
        if self._scope_listener in self.runner.scope_listeners:
            self.runner.scope_listeners.remove(self._scope_listener)
        self.prompt.hide()
        self.dashboard.hide()
        self.runner.approval_events.unsubscribe(self.approval_signals.on_arrived)
        self.approvals.hide()
        self.approval_desk.store.close()
        if self.settings_dialog is not None:
            # Deleted here, not left to the garbage collector: the dialog's wrappers form cycles
            # (callbacks into this app), and collecting a dialog with live Qt children crashed.
            self.settings_dialog.hide()
            shiboken6.delete(self.settings_dialog)
            self.settings_dialog = None
        self.store.close()
        self.pool.waitForDone(3000)
        self.controller.shutdown()
