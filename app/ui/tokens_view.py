"""The Sign-ins tab: a row per sign-in, its tokens under it, sortable; Revoke selected, Revoke all for a client."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.store.rows import TokenRow
from app.ui import dialogs
from app.ui.tokens_model import COL_CLIENT, COL_ISSUED, COL_SCOPES, GRANT_ID_ROLE, SORT_ROLE, TokenGroup, TokensModel
from app.wording import plural


class TokensView(QWidget):
    """A tree of sign-ins and their tokens; asks (by signals) to revoke."""

    revoke_tokens = Signal(list)  # token ids
    revoke_client = Signal(list, str)  # client ids, client name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TokensModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.tree = QTreeView()
        self.tree.setObjectName("tokensTree")
        self.tree.setModel(self.proxy)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(COL_ISSUED, Qt.SortOrder.DescendingOrder)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_SCOPES, QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel(
            "No one is signed in. When an MCP client signs in and you approve it, its sign-in "
            "appears here, with its access and refresh token under it."
        )
        self.empty.setObjectName("emptyHint")
        self.empty.setWordWrap(True)
        self.revoke_selected_button = QPushButton("Revoke selected")
        self.revoke_selected_button.setObjectName("revokeSelected")
        self.revoke_selected_button.setToolTip(
            "Revoke the selected sign-ins (each with its access and refresh token); "
            "the client must sign in again. Key: Delete."
        )
        self.revoke_client_button = QPushButton("Revoke all for client…")
        self.revoke_client_button.setObjectName("revokeClient")
        self.revoke_selected_button.clicked.connect(self._revoke_selected)
        self.revoke_client_button.clicked.connect(self._revoke_client)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revoke_client_button)
        buttons.addWidget(self.revoke_selected_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._selected_ids: set[str] = set()
        self._collapsed: set[str] = set()
        self.model.modelAboutToBeReset.connect(self._remember)
        self.model.modelReset.connect(self._restore)
        self.tree.collapsed.connect(lambda i: self._collapsed.add(self._name(i)))
        self.tree.expanded.connect(lambda i: self._collapsed.discard(self._name(i)))
        self.tree.selectionModel().selectionChanged.connect(self._update_buttons)
        self._restore()

    def _name(self, proxy_index: QModelIndex) -> str:
        return str(proxy_index.data(GRANT_ID_ROLE) or "")

    def set_rows(self, rows: list[TokenRow] | tuple[TokenRow, ...]) -> None:
        """Show these tokens, keeping the selection and collapsed groups."""
        self.model.set_rows(rows)

    def _remember(self) -> None:
        self._selected_ids = {t.token_id for t in self.selected_tokens()}

    def _restore(self) -> None:
        selection = self.tree.selectionModel()
        for g in range(self.proxy.rowCount()):
            group_index = self.proxy.index(g, 0)
            self.tree.setExpanded(group_index, self._name(group_index) not in self._collapsed)
            for t in range(self.proxy.rowCount(group_index)):
                index = self.proxy.index(t, 0, group_index)
                token = self.model.token_at(self.proxy.mapToSource(index))
                if token is not None and token.token_id in self._selected_ids:
                    selection.select(
                        index,
                        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
                    )
        empty = self.model.token_count() == 0
        self.empty.setVisible(empty)
        self._update_buttons()

    def selected_tokens(self) -> list[TokenRow]:
        """Tokens on selected rows; a selected sign-in row stands for all its tokens."""
        found: dict[str, TokenRow] = {}
        for index in self.tree.selectionModel().selectedRows(COL_CLIENT):
            source = self.proxy.mapToSource(index)
            token = self.model.token_at(source)
            group = self.model.group_at(source)
            for row in (token,) if token is not None else (group.tokens if group is not None else ()):
                found[row.token_id] = row
        return list(found.values())

    def selected_sign_ins(self) -> int:
        """How many sign-ins the selection revokes."""
        return len({t.grant_id for t in self.selected_tokens()})

    def current_group(self) -> TokenGroup | None:
        """The client of the current (or first selected) row."""
        rows = self.tree.selectionModel().selectedRows(COL_CLIENT)
        index = rows[0] if rows else self.tree.currentIndex()
        return self.model.group_at(self.proxy.mapToSource(index)) if index.isValid() else None

    def _update_buttons(self) -> None:
        tokens = self.selected_tokens()
        self.revoke_selected_button.setEnabled(bool(tokens))
        group = self.current_group()
        self.revoke_client_button.setEnabled(group is not None)
        self.revoke_client_button.setText(
            f"Revoke all for {group.client_name}…" if group is not None else "Revoke all for client…"
        )

    def _revoke_selected(self) -> None:
        tokens = self.selected_tokens()
        if tokens:
            self.revoke_tokens.emit([t.token_id for t in tokens])

    def ask_revoke_selected(self) -> None:
        """The Delete key: revoke the selected sign-ins once the user confirms."""
        tokens = self.selected_tokens()
        if not tokens:
            return
        names = sorted({t.client_name for t in tokens})
        if dialogs.ask(
            self,
            "Revoke the selected sign-ins?",
            f"Revoke {plural(self.selected_sign_ins(), 'sign-in')} of {', '.join(f'“{n}”' for n in names)}?\n\n"
            "Each loses access at once and must sign in again, and you approve it again.",
        ):
            self.revoke_tokens.emit([t.token_id for t in tokens])

    def _revoke_client(self) -> None:
        group = self.current_group()
        if group is None:
            return
        ids = self.model.client_ids_named(group.client_name)
        count = sum(1 for g in self.model.groups if g.client_name == group.client_name)
        if dialogs.ask(
            self,
            "Revoke every sign-in of this client?",
            f"Revoke every sign-in of “{group.client_name}” ({plural(count, 'sign-in')})?\n\n"
            "It loses access at once and must sign in again, and you approve it again.",
        ):
            self.revoke_client.emit(ids, group.client_name)
