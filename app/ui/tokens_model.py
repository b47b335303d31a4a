"""Active sign-ins: a two-level model (a sign-in, then its access and refresh token), usable without widgets.

One top-level row per sign-in (grant), named after its client; "Revoke all for this client"
acts on every sign-in of that client name, since an app that registered several times (mcp-remote
does after its cache is cleared) is still one app to the user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from app.store.kinds import TokenKind
from app.store.rows import TokenRow
from app.ui.format import absolute, relative

COL_CLIENT, COL_ID, COL_SCOPES, COL_ISSUED, COL_EXPIRES, COL_LAST_USED, COL_VIA = range(7)
HEADERS = ("Client / token", "ID", "Scopes", "Issued", "Expires", "Last used", "Via")
REMOTE_TEXT = "public URL"  # what the Via column says of a grant made through remote access
LOCAL_TEXT = "this computer"
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
TOKEN_ID_ROLE = Qt.ItemDataRole.UserRole + 2
CLIENT_IDS_ROLE = Qt.ItemDataRole.UserRole + 3
CLIENT_NAME_ROLE = Qt.ItemDataRole.UserRole + 4
GRANT_ID_ROLE = Qt.ItemDataRole.UserRole + 5

TOKEN_WORDS: dict[str, str] = {TokenKind.ACCESS: "Access token", TokenKind.REFRESH: "Refresh token"}

Index = QModelIndex | QPersistentModelIndex
_ROOT = 0  # internalId of a group row; token rows carry their group's row + 1


@dataclass(frozen=True)
class TokenGroup:
    """One sign-in (grant): its client and its live tokens (an access and a refresh token, usually)."""

    client_name: str
    client_ids: tuple[str, ...]
    tokens: tuple[TokenRow, ...]
    grant_id: str = ""


def group_tokens(rows: Sequence[TokenRow]) -> list[TokenGroup]:
    """Group rows by sign-in, in order of first appearance (the store gives newest first), access first."""
    groups: dict[str, list[TokenRow]] = {}
    for row in rows:
        groups.setdefault(row.grant_id, []).append(row)
    return [
        TokenGroup(members[0].client_name, tuple(dict.fromkeys(r.client_id for r in members)),
                   tuple(sorted(members, key=lambda r: r.kind != TokenKind.ACCESS)), grant)
        for grant, members in groups.items()
    ]


def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


class TokensModel(QAbstractItemModel):
    """Clients at the top level, their tokens below; `set_rows` replaces everything."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._groups: list[TokenGroup] = []
        self._rows: tuple[TokenRow, ...] = ()
        self._now = now

    # -- data in -------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[TokenRow]) -> bool:
        """Show these tokens; returns False (and keeps views untouched) when nothing changed."""
        rows = tuple(rows)
        if rows == self._rows:
            return False
        self.beginResetModel()
        self._rows = rows
        self._groups = group_tokens(rows)
        self.endResetModel()
        return True

    def refresh_times(self) -> None:
        """Relative times ('3 min ago') age: repaint the time columns."""
        for g, group in enumerate(self._groups):
            parent = self.index(g, 0)
            self.dataChanged.emit(self.index(g, COL_ISSUED), self.index(g, COL_LAST_USED))
            if group.tokens:
                last = len(group.tokens) - 1
                self.dataChanged.emit(
                    self.index(0, COL_ISSUED, parent),
                    self.index(last, COL_LAST_USED, parent),
                )

    @property
    def groups(self) -> list[TokenGroup]:
        """The groups shown, in model order."""
        return list(self._groups)

    def token_count(self) -> int:
        """How many token rows there are."""
        return len(self._rows)

    def sign_in_count(self) -> int:
        """How many sign-ins (top-level rows) there are."""
        return len(self._groups)

    def client_ids_named(self, client_name: str) -> list[str]:
        """Every client id of every sign-in of this client name (what "Revoke all for client" revokes)."""
        return list(dict.fromkeys(c for g in self._groups if g.client_name == client_name for c in g.client_ids))

    # -- the item model --------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Top-level rows are groups; children are tokens."""
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _ROOT)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """A token's parent is its group; a group has none."""
        if not index.isValid() or index.internalId() == _ROOT:
            return QModelIndex()
        return self.createIndex(int(index.internalId()) - 1, 0, _ROOT)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's name
        """Groups at the top, tokens under a group, nothing under a token."""
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() == _ROOT and parent.column() == 0:
            return len(self._groups[parent.row()].tokens)
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's name
        """One column per header."""
        return len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """The column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def token_at(self, index: Index) -> TokenRow | None:
        """The token behind a child index, or None for a group row."""
        if not index.isValid() or index.internalId() == _ROOT:
            return None
        return self._groups[int(index.internalId()) - 1].tokens[index.row()]

    def group_at(self, index: Index) -> TokenGroup | None:
        """The group a row belongs to (itself for a group row)."""
        if not index.isValid():
            return None
        row = index.row() if index.internalId() == _ROOT else int(index.internalId()) - 1
        return self._groups[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, sort keys, tooltips and ids for each cell."""
        if not index.isValid():
            return None
        token, group = self.token_at(index), self.group_at(index)
        if group is None:
            return None
        if role == CLIENT_IDS_ROLE:
            return list(group.client_ids)
        if role == CLIENT_NAME_ROLE:
            return group.client_name
        if role == GRANT_ID_ROLE:
            return group.grant_id
        if role == TOKEN_ID_ROLE:
            return None if token is None else token.token_id
        col = index.column()
        if token is None:
            return self._group_data(group, col, role)
        return self._token_data(token, col, role)

    def _times(self, col: int, issued: float, expires: float, used: float | None) -> tuple[Any, str, str]:
        value = {COL_ISSUED: issued, COL_EXPIRES: expires, COL_LAST_USED: used}[col]
        return (value or 0.0), relative(value, self._now()), absolute(value)

    def _group_data(self, group: TokenGroup, col: int, role: int) -> Any:
        tokens = group.tokens
        if col in (COL_ISSUED, COL_EXPIRES, COL_LAST_USED):
            used = [t.last_used_at for t in tokens if t.last_used_at is not None]
            key, text, tip = self._times(
                col,
                max(t.created_at for t in tokens),
                max(t.expires_at for t in tokens),
                max(used) if used else None,
            )
            return {SORT_ROLE: key, Qt.ItemDataRole.DisplayRole: text, Qt.ItemDataRole.ToolTipRole: tip}.get(
                role
            )
        remote = [t.remote for t in tokens]
        text = {
            COL_CLIENT: group.client_name,
            COL_ID: f"sign-in {group.grant_id[:8]}",
            COL_SCOPES: " ".join(dict.fromkeys(s for t in tokens for s in t.scopes)),
            COL_VIA: REMOTE_TEXT if all(remote) else LOCAL_TEXT if not any(remote) else f"both ({REMOTE_TEXT})",
        }[col]
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return text.lower() if role == SORT_ROLE and col == COL_CLIENT else text
        if role == Qt.ItemDataRole.FontRole and col == COL_CLIENT:
            return _bold()
        if role == Qt.ItemDataRole.ToolTipRole and col in (COL_CLIENT, COL_ID):
            return f"Sign-in {group.grant_id} of client " + ", ".join(group.client_ids)
        return None

    def _token_data(self, token: TokenRow, col: int, role: int) -> Any:
        if col in (COL_ISSUED, COL_EXPIRES, COL_LAST_USED):
            key, text, tip = self._times(col, token.created_at, token.expires_at, token.last_used_at)
            return {SORT_ROLE: key, Qt.ItemDataRole.DisplayRole: text, Qt.ItemDataRole.ToolTipRole: tip}.get(
                role
            )
        text = {
            COL_CLIENT: TOKEN_WORDS.get(token.kind, f"{token.kind.capitalize()} token"),
            COL_ID: token.token_id,
            COL_SCOPES: " ".join(token.scopes) or "(none)",
            COL_VIA: REMOTE_TEXT if token.remote else LOCAL_TEXT,
        }[col]
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return text
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_VIA and token.remote:
            return QColor("#b35c00")
        if role == Qt.ItemDataRole.ToolTipRole:
            resource = token.resource or "-"
            return f"{token.kind} token {token.token_id} of client {token.client_id}; resource {resource}"
        return None
