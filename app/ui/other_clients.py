"""Settings' "Other MCP clients" box: Cursor, VS Code and Claude Code, each with its state and a Set up button.

These clients speak remote HTTP and OAuth themselves, so their entry is just our URL. The writers
(app/clients/) merge one entry and keep a backup; the file work runs off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

from app.clients.catalogue import CLIENTS as CATALOGUE
from app.clients.catalogue import ClientInfo, ClientKey
from app.clients.entries import EntryState, EntryStatus, WriteResult
from app.ui import dialogs
from app.ui.tasks import run_task

STATE_WORDS = {
    EntryState.CURRENT: ("✔ set up", "#1e7e45"),
    EntryState.OUTDATED: ("points elsewhere", "#8a5a00"),
    EntryState.MISSING: ("not set up", "#5b6270"),
    EntryState.NO_FILE: ("not set up (no config file yet)", "#5b6270"),
    EntryState.INVALID: ("config file is not valid JSON; left untouched", "#c0241c"),
}


CLIENTS = tuple(c for c in CATALOGUE if c.key is not ClientKey.CLAUDE_DESKTOP)  # Claude has its own box


class OtherClientsSection(QGroupBox):
    """A row per client: name, state, Set up."""

    def __init__(
        self,
        server_url: Callable[[], str],
        pool: QThreadPool,
        paths: dict[str, Path] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Other MCP clients", parent)
        self.server_url = server_url
        self.pool = pool
        self.paths = paths or {}
        self.states: dict[str, QLabel] = {}
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        for row, kind in enumerate(CLIENTS):
            grid.addWidget(QLabel(kind.title), row, 0)
            state = QLabel("Checking…")
            state.setObjectName(f"state-{kind.key.value}")
            state.setWordWrap(True)
            button = QPushButton("Set up")
            button.setObjectName(f"setup-{kind.key.value}")
            button.clicked.connect(lambda _=False, k=kind: self.configure(k))
            grid.addWidget(state, row, 1)
            grid.addWidget(button, row, 2)
            self.states[kind.key.value], self.buttons[kind.key.value] = state, button
        grid.setColumnStretch(1, 1)

    def refresh(self) -> None:
        """Look at each client's config again (on the pool)."""
        url = self.server_url()
        for kind in CLIENTS:
            self._check(kind, url)

    def _check(self, kind: ClientInfo, url: str) -> None:
        path = self.paths.get(kind.key.value)

        def shown(status: object) -> None:
            if isinstance(status, EntryStatus):
                self._show(kind, status)

        def failed(exc: Exception) -> None:
            self._failed(kind, exc)

        run_task(self.pool, lambda: kind.writer.entry_status(url, path), shown, failed, self)

    def _show(self, kind: ClientInfo, status: EntryStatus) -> None:
        words, colour = STATE_WORDS[status.state]
        label = self.states[kind.key.value]
        label.setText(words)
        label.setToolTip(f"{status.detail}\n{status.path}".strip())
        label.setStyleSheet(f"color: {colour};")
        self.buttons[kind.key.value].setEnabled(status.state is not EntryState.INVALID)

    def _failed(self, kind: ClientInfo, exc: Exception) -> None:
        self.states[kind.key.value].setText(f"could not check: {exc}")
        self.states[kind.key.value].setStyleSheet("color: #c0241c;")

    def configure(self, kind: ClientInfo) -> None:
        """Write this client's entry (everything else in its file stays as it was)."""
        url, path = self.server_url(), self.paths.get(kind.key.value)
        self.buttons[kind.key.value].setEnabled(False)

        def done(result: object) -> None:
            if not isinstance(result, WriteResult):
                return
            backup = f" The previous file is kept as {result.backup.name}." if result.backup else ""
            what = "is set up" if result.changed else "was already set up"
            after = kind.after_write(result.entry)
            dialogs.tell(self, kind.title, f"{kind.title} {what} to use this server.{backup}\n\n{after}")
            self.refresh()

        def failed(exc: Exception) -> None:
            self.refresh()
            dialogs.tell(self, kind.title, str(exc), warning=True)

        run_task(self.pool, lambda: kind.writer.write_entry(url, path), done, failed, self)
