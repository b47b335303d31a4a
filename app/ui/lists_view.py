"""The Clients and Recent activity tabs: sortable tables over the thin models."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.store.rows import ClientGroup
from app.ui import dialogs
from app.ui.table_models import ROW_ROLE, SORT_ROLE, ClientsModel, EventsModel, RowsModel


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
        self.remove_button.clicked.connect(self._remove)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.remove_button.setEnabled(self.selected() is not None)
        )
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def selected(self) -> ClientGroup | None:
        """The selected client group."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = rows[0].data(ROW_ROLE)
        return row if isinstance(row, ClientGroup) else None

    def _remove(self) -> None:
        group = self.selected()
        if group is None:
            return
        if dialogs.ask(
            self,
            "Remove this client?",
            f"Remove “{group.client_name}” ({len(group.client_ids)} registration(s)) and revoke its "
            f"{group.active_tokens} active token(s)?\n\nIf it connects again it registers anew and "
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
