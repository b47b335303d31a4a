"""Settings' Claude Desktop box: is our entry there and current, Configure, and a way out of a broken file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.clients import claude_desktop as cd
from app.clients.catalogue import ClientKey, client
from app.ui import dialogs
from app.ui.tasks import run_task

CLAUDE = client(ClientKey.CLAUDE_DESKTOP)

STATE_TEXT = {
    cd.EntryState.CURRENT: ("✔ Claude Desktop is set up to use this server.", "#1e7e45"),
    cd.EntryState.OUTDATED: ("Claude Desktop has an MCP Tray entry, but it points elsewhere.", "#8a5a00"),
    cd.EntryState.MISSING: ("Claude Desktop is not set up for MCP Tray yet.", "#5b6270"),
    cd.EntryState.NO_FILE: ("Claude Desktop has no config file yet; Configure creates one.", "#5b6270"),
    cd.EntryState.INVALID: (
        "Claude Desktop's config file is not valid JSON, so it was left untouched.",
        "#c0241c",
    ),
}


class ClaudeSection(QGroupBox):
    """Shows the entry's state for `server_url()` and configures it; file work runs off the GUI thread."""

    def __init__(
        self,
        server_url: Callable[[], str],
        pool: QThreadPool,
        config_path: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Claude Desktop", parent)
        self.server_url = server_url
        self.port_note = ""  # why an entry written now may stop working after a restart (set by Settings)
        self.pool = pool
        self.config_path = config_path
        self.state_label = QLabel("Checking…")
        self.state_label.setObjectName("claudeState")
        self.state_label.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setObjectName("claudeDetail")
        self.detail.setWordWrap(True)
        self.configure_button = QPushButton("Configure Claude Desktop")
        self.configure_button.setObjectName("configureClaude")
        self.configure_button.clicked.connect(self.configure)
        self.reset_button = QPushButton("Back up and start fresh…")
        self.reset_button.setObjectName("resetClaude")
        self.reset_button.clicked.connect(self.backup_and_reset)
        self.reset_button.hide()
        # How Claude Desktop (a stdio-only client) reaches us: our bridge, or Node's mcp-remote.
        self.via = QComboBox()
        self.via.setObjectName("claudeVia")
        self.via.addItem("Automatic (built-in bridge unless Node.js is found)", None)
        self.via.addItem("Built-in bridge (no Node.js needed, sign-in kept in the keyring)", cd.Via.BRIDGE.value)
        self.via.addItem("mcp-remote (needs Node.js)", cd.Via.MCP_REMOTE.value)
        via_row = QHBoxLayout()
        via_row.addWidget(QLabel("Connect through"))
        via_row.addWidget(self.via, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.configure_button)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(self.detail)
        layout.addLayout(via_row)
        layout.addLayout(buttons)
        self.status: cd.EntryStatus | None = None

    def refresh(self) -> None:
        """Look at the config file again (on the pool)."""
        url, path = self.server_url(), self.config_path
        run_task(self.pool, lambda: cd.entry_status(url, path), self._show, self._failed, self)

    def _show(self, status: Any) -> None:
        self.status = status
        text, colour = STATE_TEXT[status.state]
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"color: {colour}; font-weight: bold;")
        # The state line says it all for the plain cases; the writer's detail explains the odd ones.
        odd = status.state in (cd.EntryState.INVALID, cd.EntryState.OUTDATED)
        lines = [status.detail] if odd else []
        lines.append(f"File: {status.path}")
        if status.state is cd.EntryState.CURRENT:
            lines.append("If Claude Desktop was open when this was set up, restart it to connect.")
        self.detail.setText("\n".join(lines))
        invalid = status.state is cd.EntryState.INVALID
        self.configure_button.setEnabled(not invalid)
        self.configure_button.setText(
            "Update Claude Desktop" if status.state is cd.EntryState.OUTDATED else "Configure Claude Desktop"
        )
        self.reset_button.setVisible(invalid)

    def _failed(self, exc: Exception) -> None:
        self.state_label.setText(f"Could not read Claude Desktop's config: {exc}")
        self.state_label.setStyleSheet("color: #c0241c;")

    def configure(self) -> None:
        """Write our entry (everything else in the file stays as it was)."""
        url, path, via = self.server_url(), self.config_path, self.via.currentData()
        self.configure_button.setEnabled(False)
        run_task(self.pool, lambda: cd.write_entry(url, path, via=via), self._written, self._write_failed, self)

    def _written(self, result: Any) -> None:
        backup = f" The previous file is kept as {result.backup.name}." if result.backup else ""
        what = "Claude Desktop is configured." if result.changed else "Claude Desktop was already configured."
        after = CLAUDE.after_write(result.entry)
        note = self.port_note
        self.detail.setText(f"{what}{backup} {after if result.changed else ''}".strip())
        dialogs.tell(self, "Claude Desktop", f"{what}{backup}\n\n{after}" + (f"\n\n{note}" if note else ""))
        self.refresh()

    def _write_failed(self, exc: Exception) -> None:
        self.refresh()
        dialogs.tell(self, "Claude Desktop", str(exc), warning=True)

    def backup_and_reset(self) -> None:
        """Move the broken file aside (after asking) so Configure can write a fresh one."""
        path = self.status.path if self.status is not None else self.config_path
        if not dialogs.ask(
            self,
            "Start a fresh Claude Desktop config?",
            f"{path} is not valid JSON.\n\nMove it aside as a backup and write a new config with only "
            "MCP Tray in it? Other servers listed in the broken file will need to be added again "
            "from the backup.",
        ):
            return
        url, via = self.server_url(), self.via.currentData()

        def job() -> tuple[Path, cd.WriteResult]:
            backup = cd.backup_and_reset(path)
            return backup, cd.write_entry(url, path, via=via)

        def done(value: Any) -> None:
            backup, written = value
            dialogs.tell(
                self,
                "Claude Desktop",
                f"The old file is kept as {backup}.\nA fresh config was written.\n\n"
                + CLAUDE.after_write(written.entry),
            )
            self.refresh()

        run_task(self.pool, job, done, self._write_failed, self)
