"""The Clients and Recent activity tabs: sortable tables over the thin models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.store.rows import ClientGroup, EventRow
from app.ui import dialogs
from app.ui.table_models import ROW_ROLE, SORT_ROLE, ClientsModel, EventsModel, RowsModel
from app.wording import plural

CLIENTS_EMPTY = ("No client has registered yet. Set one up under Settings (Claude Desktop, Cursor, VS Code, "
                 "Claude Code) or point any MCP client at the server URL above; it appears here once it "
                 "registers.")
ACTIVITY_EMPTY = "Nothing has happened yet. Registrations, sign-ins, refreshes and revocations are listed here."


def empty_hint(text: str) -> QLabel:
    """The line a tab shows instead of an empty table."""
    label = QLabel(text)
    label.setObjectName("emptyHint")
    label.setWordWrap(True)
    return label


def make_table(
    owner: QWidget, model: RowsModel[Any], stretch: int, sort_column: int, order: Qt.SortOrder
) -> QTableView:
    """A read-only, row-selecting, sortable table over `model`; the sorting proxy belongs to `owner`."""
    # Owned by the widget, not the model: a proxy that is the model's child while holding the
    # model as its source is a reference cycle of Qt wrappers, which gc cannot take apart safely.
    proxy = QSortFilterProxyModel(owner)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    table = QTableView()
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(sort_column, order)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setVisible(False)
    # Compact rows without a grid, like the tokens tree, so the three tabs look like one family.
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.setShowGrid(False)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


class ClientsView(QWidget):
    """Registered clients grouped by app, with Remove."""

    remove_clients = Signal(list, str)  # client ids, name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ClientsModel()
        self.table = make_table(
            self,
            self.model,
            ClientsModel.COL_REDIRECTS,
            ClientsModel.COL_LATEST,
            Qt.SortOrder.DescendingOrder,
        )
        self.table.setObjectName("clientsTable")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.remove_button = QPushButton("Remove client…")
        self.remove_button.setObjectName("removeClient")
        self.remove_button.setToolTip("Forget this client's registrations and revoke its tokens.")
        self.remove_button.clicked.connect(self.ask_remove)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.remove_button.setEnabled(self.selected() is not None)
        )
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        self.empty = empty_hint(CLIENTS_EMPTY)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def set_rows(self, rows: Sequence[ClientGroup]) -> None:
        """Show these clients (or the empty-state line)."""
        self.model.set_rows(rows)
        self.empty.setVisible(not rows)

    def selected(self) -> ClientGroup | None:
        """The selected client group."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].data(ROW_ROLE)
        return row if isinstance(row, ClientGroup) else None

    def ask_remove(self) -> None:
        """Remove the selected client once the user confirms (the button, or the Delete key)."""
        group = self.selected()
        if group is None:
            return
        if dialogs.ask(
            self,
            "Remove this client?",
            f"Remove “{group.client_name}” ({plural(len(group.client_ids), 'registration')}) and revoke its "
            f"{plural(group.active_tokens, 'active token')}?\n\nIf it connects again it registers anew and "
            "you will be asked to approve it.",
        ):
            self.remove_clients.emit(list(group.client_ids), group.client_name)


class ActivityView(QWidget):
    """Recent activity, newest first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = EventsModel()
        self.table = make_table(
            self,
            self.model,
            EventsModel.COL_DETAIL,
            EventsModel.COL_TIME,
            Qt.SortOrder.DescendingOrder,
        )
        self.table.setObjectName("activityTable")
        self.empty = empty_hint(ACTIVITY_EMPTY)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

    def set_rows(self, rows: Sequence[EventRow]) -> None:
        """Show these events (or the empty-state line)."""
        self.model.set_rows(rows)
        self.empty.setVisible(not rows)
