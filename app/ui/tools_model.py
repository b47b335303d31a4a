"""Table model of the Tools tab: one row per tool (or broken plugin), a checkbox to turn it on or off."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from app.tools.groups import GROUPS
from app.tools.registry import ToolRow

COL_ON, COL_NAME, COL_PERMISSION, COL_POLICY, COL_SOURCE, COL_ABOUT = range(6)
HEADERS = ("On", "Tool", "Permission", "Policy", "Source", "Description")
POLICY_WORDS = {"allow": "Allow", "ask": "Ask", "block": "Block"}
POLICY_TIPS = {
    "allow": "Calls run at once.",
    "ask": "Each call waits until you answer it in a prompt (or with mcp-tray calls).",
    "block": "Calls are refused at once.",
}

Index = QModelIndex | QPersistentModelIndex


class ToolsTableModel(QAbstractTableModel):
    """Rows from ToolRegistry.rows(); ticking a box asks (through `toggled`) for the change, it does not make it."""

    toggled = Signal(str, bool)  # tool name, wanted state

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[ToolRow] = []

    def set_rows(self, rows: list[ToolRow]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> ToolRow:
        """The tool shown in `row`."""
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """One row per tool or problem."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """The columns of HEADERS."""
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Only a loaded tool's On cell can be ticked."""
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL_ON and self._rows[index.row()].error is None:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Text, check state, tooltips, and red text for what failed."""
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_ON and row.error is None:
            return Qt.CheckState.Checked if row.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_NAME:
                return row.name
            if col == COL_PERMISSION:
                return row.scope or "none needed"
            if col == COL_POLICY:
                return "" if row.error else POLICY_WORDS.get(row.policy, row.policy)
            if col == COL_SOURCE:
                return row.source
            if col == COL_ABOUT:
                return f"Failed to load: {row.error}" if row.error else row.description
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.error:
                return row.error
            if col == COL_PERMISSION:
                return GROUPS[row.group].description
            if col == COL_POLICY:
                default = POLICY_WORDS.get(row.default_policy, row.default_policy)
                return f"{POLICY_TIPS.get(row.policy, '')} Default for this tool: {default}."
            return row.description or None
        if role == Qt.ItemDataRole.ForegroundRole and row.error and col == COL_ABOUT:
            return QBrush(QColor("#c0392b"))
        return None

    def setData(self, index: Index, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """A tick or untick becomes a `toggled` request; the registry's change redraws the row."""
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != COL_ON:
            return False
        row = self._rows[index.row()]
        if row.error is not None:
            return False
        wanted = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2)
        self.toggled.emit(row.name, wanted)
        return True
