"""Settings: port, token lifetimes, start on launch, how long Ask calls wait and how much of the audit log
is kept (settings.json in the data dir), and Claude Desktop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import autostart
from app.config import Settings
from app.server.port import PortChoice, PortSource, entry_note
from app.ui.claude_section import ClaudeSection
from app.ui.icons import app_icon
from app.ui.other_clients import OtherClientsSection
from app.ui.passkeys_section import PasskeysSection
from app.ui.remote_section import RemoteSection, save_ngrok_token
from app.ui.tasks import run_task

MIN_WIDTH, MIN_HEIGHT = 540, 420  # the form scrolls below this; its widest row still fits
DEFAULT_HEIGHT = 720


class SettingsDialog(QDialog):
    """Edits a copy of Settings; `saved(settings)` fires after the file was written."""

    saved = Signal(object)  # Settings

    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        server_url: Callable[[], str],
        pool: QThreadPool,
        claude_config: Path | None = None,
        parent: QWidget | None = None,
        client_paths: dict[str, Path] | None = None,
        port_choice: Callable[[], PortChoice] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("MCP Tray settings")
        self.setWindowIcon(app_icon())
        self.setObjectName("settingsDialog")
        self.data_dir = data_dir
        self.pool = pool
        # The port in use and its source (--port, environment, settings); the settings' own without one.
        # (No lambda over self here: a dialog in a reference cycle may be collected on a worker thread.)
        self._port_choice = port_choice

        self.port = QSpinBox()
        self.port.setObjectName("port")
        self.port.setRange(1024, 65535)
        self.access_minutes = QSpinBox()
        self.access_minutes.setObjectName("accessMinutes")
        self.access_minutes.setRange(1, 24 * 60)
        self.access_minutes.setSuffix(" min")
        self.refresh_days = QSpinBox()
        self.refresh_days.setObjectName("refreshDays")
        self.refresh_days.setRange(1, 365)
        self.refresh_days.setSuffix(" days")
        self.start_on_launch = QCheckBox("Start the server when MCP Tray starts")
        self.start_on_launch.setObjectName("startOnLaunch")
        self.start_at_login = QCheckBox("Start MCP Tray when I log in")
        self.start_at_login.setObjectName("startAtLogin")

        self.ask_timeout = QSpinBox()
        self.ask_timeout.setObjectName("askTimeout")
        self.ask_timeout.setRange(5, 3600)
        self.ask_timeout.setSuffix(" s")
        self.ask_timeout.setToolTip("How long a call to an Ask tool waits for your answer before it fails")
        self.audit_days = QSpinBox()
        self.audit_days.setObjectName("auditDays")
        self.audit_days.setRange(1, 3650)
        self.audit_days.setSuffix(" days")
        self.audit_rows = QSpinBox()
        self.audit_rows.setObjectName("auditRows")
        self.audit_rows.setRange(100, 10_000_000)
        self.audit_rows.setSingleStep(10_000)
        self.audit_rows.setSuffix(" calls")

        self.port_source = QLabel()
        self.port_source.setObjectName("portSource")
        self.port_source.setWordWrap(True)
        server = QGroupBox("Server")
        form = QFormLayout(server)
        form.addRow("Port", self.port)
        form.addRow("", self.port_source)
        form.addRow("Access tokens last", self.access_minutes)
        form.addRow("Refresh tokens last", self.refresh_days)
        form.addRow("", self.start_on_launch)
        form.addRow("", self.start_at_login)
        note = QLabel(
            "Changing the port or the lifetimes restarts the server. Clients that use the old "
            "port (Claude Desktop included) must be configured again."
        )
        note.setObjectName("settingsNote")
        note.setWordWrap(True)
        form.addRow(note)

        self.remote = RemoteSection()
        self.passkeys = PasskeysSection(data_dir, lambda: self.remote.public_url.text().strip()
                                        or self.original.public_url, pool=pool)
        self.remote.add_passkeys(self.passkeys)
        calls = QGroupBox("Tool calls")
        calls_form = QFormLayout(calls)
        calls_form.addRow("Wait for my answer", self.ask_timeout)
        calls_form.addRow("Keep the audit log for", self.audit_days)
        calls_form.addRow("…and at most", self.audit_rows)

        self.claude = ClaudeSection(server_url, pool, claude_config)
        self.other_clients = OtherClientsSection(server_url, pool, client_paths)
        self.error = QLabel()
        self.error.setObjectName("settingsError")
        self.error.setStyleSheet("color: #c0241c;")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        # The sections scroll; the error line and Save/Cancel stay in view. The whole form is taller
        # than a laptop screen, and a word-wrapped label gets its full height inside a scroll area.
        content = QWidget()
        content.setObjectName("settingsContent")
        sections = QVBoxLayout(content)
        sections.setContentsMargins(0, 0, 6, 0)
        for section in (server, self.remote, calls, self.claude, self.other_clients):
            sections.addWidget(section)
        sections.addStretch(1)
        self.scroller = QScrollArea()
        self.scroller.setObjectName("settingsScroll")
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.setWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroller, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        margins = layout.contentsMargins()
        # As wide as the widest row, plus the scroll bar: the form never hides under it.
        needed = (content.minimumSizeHint().width() + self.scroller.verticalScrollBar().sizeHint().width()
                  + margins.left() + margins.right() + 2)
        self.setMinimumSize(max(MIN_WIDTH, needed), MIN_HEIGHT)
        self.resize(max(self.minimumWidth(), content.sizeHint().width() + 40), DEFAULT_HEIGHT)
        self.load(settings)

    def load(self, settings: Settings) -> None:
        """Show these settings (the dialog is kept and reused; this resets it to the saved state)."""
        self.original = settings
        choice = self.port_choice()
        self.port.setValue(choice.port or settings.port)  # the port in use, which saving keeps
        self.port_source.setText(self.port_words(choice, settings.port))
        self.claude.port_note = self.port_note()
        self.access_minutes.setValue(max(1, settings.access_token_ttl // 60))
        self.refresh_days.setValue(max(1, settings.refresh_token_ttl // 86400))
        self.start_on_launch.setChecked(settings.start_server_on_launch)
        self.ask_timeout.setValue(settings.ask_timeout)
        self.audit_days.setValue(settings.audit_max_days)
        self.audit_rows.setValue(settings.audit_max_rows)
        # What the OS has registered is the truth (the user may have removed the entry by hand).
        self.start_at_login.setChecked(autostart.is_enabled())
        self.remote.load(settings)
        self.passkeys.refresh()
        self.error.hide()
        self.claude.refresh()
        self.other_clients.refresh()

    def port_choice(self) -> PortChoice:
        """The port in use and where it comes from."""
        given = self._port_choice
        return given() if given is not None else PortChoice(self.original.port, PortSource.SETTINGS)

    @staticmethod
    def port_words(choice: PortChoice, saved: int) -> str:
        """Where the port shown comes from, and what saving does with it."""
        text = choice.describe(saved)
        if choice.for_this_run_only and choice.port != saved:
            text += f" Saving these settings keeps port {choice.port} for later runs too."
        return text

    def port_note(self) -> str:
        """Why a client entry written now may stop working after a restart ('' when it will not)."""
        return entry_note(self.port_choice(), self.original.port)

    def edited(self) -> Settings:
        """The settings as the form shows them; ValueError when a remote-access field is wrong."""
        access = self.access_minutes.value() * 60
        return replace(
            self.remote.edited(self.original),
            port=self.port.value(),
            access_token_ttl=access,
            refresh_token_ttl=max(access, self.refresh_days.value() * 86400),
            start_server_on_launch=self.start_on_launch.isChecked(),
            start_at_login=self.start_at_login.isChecked(),
            ask_timeout=self.ask_timeout.value(),
            audit_max_days=self.audit_days.value(),
            audit_max_rows=self.audit_rows.value(),
        )

    def save(self) -> None:
        """Write settings.json off the GUI thread; close once it is on disk."""
        try:
            settings = self.edited()
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        token = self.remote.pending_token()

        def failed(exc: Exception) -> None:
            self.error.setText(f"Could not save the settings: {exc}")
            self.error.show()

        def done(_: object) -> None:
            self.saved.emit(settings)
            self.accept()

        def work() -> None:
            save_ngrok_token(self.data_dir, token)  # the keyring first: a refusal keeps the file as it was
            if settings.start_at_login != autostart.is_enabled():
                # Registers with the OS first; raises AutostartError (shown above) if that fails.
                autostart.set_start_at_login(self.data_dir, settings.start_at_login)
            settings.save(self.data_dir)

        run_task(self.pool, work, done, failed, self)

    def focus_port(self) -> None:
        """Put the cursor in the port field (after the port turned out to be taken)."""
        self.scroller.ensureWidgetVisible(self.port)
        self.port.setFocus()
        self.port.selectAll()
