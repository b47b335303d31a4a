"""The Tools tab: every tool with its source, permission and state; a toggle each; Reload; Open tools folder;
and the folders shared with the read-only folder tools.

It only talks to a ToolRegistry (no Qt in there). Reloads (which import plugins) and choices (which
write tools.json) run on the tab's own one-thread pool, in the order they were made; the result
comes back to the GUI thread. The registry may also change on another thread (the server reloads the
tools folder when a file changes), so its change callback is bounced onto the GUI thread through a
queued signal before anything is redrawn.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.tools.groups import FILES
from app.tools.policy import POLICIES
from app.tools.registry import ToolRegistry
from app.ui.tasks import run_task
from app.ui.tools_model import COL_ABOUT, COL_ON, COL_POLICY, POLICY_TIPS, POLICY_WORDS, ToolsTableModel


class _Relay(QObject):
    """Carries 'the registry changed' from any thread to the GUI thread."""

    changed = Signal()


def _open_with_desktop(path: Path) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def _ask_for_folder(parent: QWidget) -> str:
    return QFileDialog.getExistingDirectory(parent, "Share a folder (read-only) with MCP clients")


class ToolsTab(QWidget):
    """`ToolsTab(runner.tools)`: a standalone widget for the dashboard's Tools tab."""

    def __init__(self, registry: ToolRegistry, parent: QWidget | None = None, *,
                 open_folder: Callable[[Path], bool] = _open_with_desktop,
                 choose_folder: Callable[[QWidget], str] = _ask_for_folder) -> None:
        super().__init__(parent)
        self.registry = registry
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # choices are written in the order they were made
        self._open_folder = open_folder
        self._choose_folder = choose_folder

        intro = QLabel("Tools your MCP clients can use. Tools marked with a permission are only offered to "
                       "clients you allowed that permission when they connected.")
        intro.setWordWrap(True)

        self.model = ToolsTableModel()
        self.model.toggled.connect(self._toggle)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_ABOUT, QHeaderView.ResizeMode.Stretch)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Load the tools folder and installed plugins again")
        self.reload_button.clicked.connect(self._reload)
        self.open_button = QPushButton("Open tools folder")
        self.open_button.setToolTip(str(registry.tools_dir) if registry.tools_dir else "No tools folder")
        self.open_button.setEnabled(registry.tools_dir is not None)
        self.open_button.clicked.connect(self._open_tools_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.reload_button)

        self.folders = QListWidget()
        self.folders.setMaximumHeight(110)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.clicked.connect(self._add_folder)
        self.remove_folder_button = QPushButton("Remove")
        self.remove_folder_button.clicked.connect(self._remove_folder)
        self.folders_note = QLabel()
        self.folders_note.setWordWrap(True)
        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(self.add_folder_button)
        folder_buttons.addWidget(self.remove_folder_button)
        folder_buttons.addStretch(1)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folders, 1)
        folder_row.addLayout(folder_buttons)
        box = QGroupBox("Folders shared with list_files, search_files and read_file (read-only)")
        box_layout = QVBoxLayout(box)
        box_layout.addLayout(folder_row)
        box_layout.addWidget(self.folders_note)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(box)

        self.policy_boxes: dict[str, QComboBox] = {}  # tool name -> its Allow / Ask / Block box
        self._relay = _Relay(self)
        self._relay.changed.connect(self.refresh, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = registry.subscribe(self._relay.changed.emit)
        self.destroyed.connect(self._unsubscribe)
        self.refresh()

    def refresh(self) -> None:
        """Show the registry as it is now."""
        rows = self.registry.rows()
        self.model.set_rows(rows)
        self.policy_boxes = {}
        for i, row in enumerate(rows):
            if row.error is None:
                self.table.setIndexWidget(self.model.index(i, COL_POLICY), self._policy_box(row.name, row.policy))
        on = sum(1 for r in rows if r.enabled)
        broken = [r for r in rows if r.error]
        text = f"{on} of {len(rows) - len(broken)} tools on"
        if broken:
            text += f"; {len(broken)} could not be loaded (see the red lines)"
        self.status.setText(text)
        folders = self.registry.folders()
        self.folders.clear()
        self.folders.addItems([str(f) for f in folders])
        files_on = any(r.enabled for r in rows if r.group == FILES)
        if files_on and not folders:
            self.folders_note.setText("The folder tools are on, but no folder is shared yet: add one.")
        elif folders and not files_on:
            self.folders_note.setText("Turn on list_files, search_files or read_file above to use these folders.")
        else:
            self.folders_note.setText("Clients can read, never change, files in these folders.")
        self.remove_folder_button.setEnabled(bool(folders))

    def _policy_box(self, name: str, policy: str) -> QComboBox:
        """Allow / Ask / Block for one tool, in its row."""
        box = QComboBox()
        box.setObjectName(f"policy_{name}")
        for value in POLICIES:
            box.addItem(POLICY_WORDS[value], value)
            box.setItemData(box.count() - 1, POLICY_TIPS[value], Qt.ItemDataRole.ToolTipRole)
        box.setCurrentIndex(max(0, box.findData(policy)))
        box.currentIndexChanged.connect(lambda _i, n=name, b=box: self._set_policy(n, str(b.currentData())))
        self.policy_boxes[name] = box
        return box

    def _in_background(self, work: Callable[[], object], what: str, name: str = "") -> None:
        """Run a registry change on the pool; redraw when it is done, or say what went wrong."""

        def failed(exc: Exception) -> None:
            self.refresh()
            if isinstance(exc, KeyError):
                self.status.setText(f"The tool {name} is gone (its plugin changed); the list was reloaded.")
            elif isinstance(exc, OSError):
                self.status.setText(f"Could not save {what} in tools.json: {exc}")
            else:
                self.status.setText(f"Could not {what}: {exc}")

        run_task(self.pool, work, lambda _result: self.refresh(), failed, self)

    def _set_policy(self, name: str, policy: str) -> None:
        self._in_background(lambda: self.registry.set_policy(name, policy), "the choice", name)

    def _reload(self) -> None:
        # Not connected straight to registry.reload: `clicked` would pass its bool as `notify`.
        self.reload_button.setEnabled(False)

        def work() -> None:
            self.registry.reload()

        def done(_result: object) -> None:
            self.reload_button.setEnabled(True)
            self.refresh()

        def failed(exc: Exception) -> None:
            self.reload_button.setEnabled(True)
            self.refresh()
            self.status.setText(f"Could not reload the tools: {exc}")

        run_task(self.pool, work, done, failed, self)

    def _toggle(self, name: str, enabled: bool) -> None:
        self._in_background(lambda: self.registry.set_enabled(name, enabled), "the choice", name)

    def _open_tools_folder(self) -> None:
        folder = self.registry.tools_dir
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        if not self._open_folder(folder):
            self.status.setText(f"Could not open a file manager; the tools folder is {folder}")

    def _add_folder(self) -> None:
        chosen = self._choose_folder(self)
        if chosen:
            self._in_background(lambda: self.registry.add_folder(Path(chosen)), "the folder")

    def _remove_folder(self) -> None:
        item = self.folders.currentItem()
        if item is None and self.folders.count() == 1:
            item = self.folders.item(0)
        if item is not None:
            folder = Path(item.text())
            self._in_background(lambda: self.registry.remove_folder(folder), "the change")

    def wait(self, ms: int = 5000) -> bool:
        """Let the changes under way finish (for tests and for closing)."""
        return bool(self.pool.waitForDone(ms))

    def toggle_column(self) -> int:
        """The column with the on/off checkboxes (for tests and keyboard users)."""
        return COL_ON
