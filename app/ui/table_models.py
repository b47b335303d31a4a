"""Thin table models for the Clients and Recent activity views: rows in, cells out, no widgets."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.store.audit import AuditRow
from app.store.kinds import EventKind
from app.store.rows import ClientGroup, EventRow
from app.ui.format import absolute, clock, relative

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
R = TypeVar("R")


class RowsModel(QAbstractTableModel, Generic[R]):
    """A list of frozen rows; subclasses say what each cell shows."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._rows: tuple[R, ...] = ()
        self._now = now

    def set_rows(self, rows: Sequence[R]) -> bool:
        """Replace the rows; False (and no reset, so selections survive) when nothing changed."""
        rows = tuple(rows)
        if rows == self._rows:
            return False
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()
        return True

    def row_at(self, row: int) -> R:
        """The row object shown at `row`."""
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's name
        """Number of rows (a table has no children)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's name
        """Number of headers."""
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display text, tooltip and sort key of a cell; the row object under ROW_ROLE."""
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, index.column())
        if role == SORT_ROLE:
            return self.sort_key(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, index.column())
        return None

    def text(self, row: R, col: int) -> str:
        """What the cell shows."""
        raise NotImplementedError

    def sort_key(self, row: R, col: int) -> Any:
        """What the column sorts by (the text, unless overridden)."""
        return self.text(row, col)

    def tooltip(self, row: R, col: int) -> str | None:
        """Extra detail on hover."""
        return None


class ClientsModel(RowsModel[ClientGroup]):
    """Registered clients, grouped by name and redirect URIs (`Store.client_groups`)."""

    COL_NAME, COL_REDIRECTS, COL_REGISTRATIONS, COL_ACTIVE, COL_LATEST = range(5)
    HEADERS = ("Client", "Redirect URIs", "Registrations", "Active tokens", "Registered")

    def text(self, row: ClientGroup, col: int) -> str:
        """Cell text."""
        return (
            row.client_name,
            ", ".join(row.redirect_uris),
            str(len(row.client_ids)),
            str(row.active_tokens),
            relative(row.latest_created_at, self._now()),
        )[col]

    def sort_key(self, row: ClientGroup, col: int) -> Any:
        """Numbers and times sort as numbers."""
        if col == self.COL_REGISTRATIONS:
            return len(row.client_ids)
        if col == self.COL_ACTIVE:
            return row.active_tokens
        if col == self.COL_LATEST:
            return row.latest_created_at
        return self.text(row, col).lower()

    def tooltip(self, row: ClientGroup, col: int) -> str | None:
        """The client ids, or the exact time."""
        if col == self.COL_LATEST:
            return absolute(row.latest_created_at)
        return "Client ids: " + ", ".join(row.client_ids)


EVENT_LABELS: dict[EventKind, str] = {
    EventKind.REGISTERED: "Registered",
    EventKind.CLIENT_UPDATED: "Client updated",
    EventKind.CLIENT_REMOVED: "Client removed",
    EventKind.SIGN_IN_REQUESTED: "Sign-in requested",
    EventKind.AUTHORIZED: "Access granted",
    EventKind.DENIED: "Access denied",
    EventKind.REFRESHED: "Token refreshed",
    EventKind.REVOKED: "Revoked",
    EventKind.CODE_REPLAYED: "Code replayed (grant revoked)",
    EventKind.REFRESH_REUSED: "Refresh token reused (grant revoked)",
    EventKind.SCOPE_EXTENDED: "Access extended",
    EventKind.PANIC: "Revoked everything",
    EventKind.BAD_CLIENT_DOCUMENT: "Bad client metadata document",
    EventKind.UNKNOWN_CLIENT: "Unknown client",
    EventKind.BAD_REDIRECT: "Bad redirect address",
    EventKind.REFUSED_REDIRECT: "Redirect refused",
    EventKind.SIGN_INS_LIMITED: "Sign-in requests limited",
    EventKind.REMOTE_ACCESS: "Remote access",
    EventKind.REMOTE_SIGN_IN: "Remote sign-in started",
    EventKind.REMOTE_REQUEST: "Remote request",
    EventKind.REMOTE_REFUSED: "Remote request refused",
    EventKind.PASSKEY_ENROLMENT: "Passkey enrolment started",
    EventKind.PASSKEY_ADDED: "Passkey added",
    EventKind.PASSKEY_REMOVED: "Passkey removed",
    EventKind.PASSKEY_REFUSED: "Passkey refused",
    EventKind.OIDC_REFUSED: "Sign-in at the identity provider refused",
}


def event_label(kind: str) -> str:
    """The words for an activity row's kind (an unknown kind, from a newer version, as it is stored)."""
    try:
        return EVENT_LABELS[EventKind(kind)]
    except ValueError:
        return kind.capitalize()


class EventsModel(RowsModel[EventRow]):
    """Recent activity, newest first (`Store.recent_events`)."""

    COL_TIME, COL_KIND, COL_CLIENT, COL_DETAIL = range(4)
    HEADERS = ("Time", "What", "Client", "Detail")

    def text(self, row: EventRow, col: int) -> str:
        """Cell text."""
        return (
            clock(row.at, self._now()),
            event_label(row.kind),
            row.client_name or row.client_id or "",
            row.detail,
        )[col]

    def sort_key(self, row: EventRow, col: int) -> Any:
        """Time sorts by event order."""
        return row.id if col == self.COL_TIME else self.text(row, col).lower()

    def tooltip(self, row: EventRow, col: int) -> str | None:
        """Exact time, or the full detail."""
        return absolute(row.at) if col == self.COL_TIME else (row.detail or None)


class AuditModel(RowsModel[AuditRow]):
    """Tool calls from the audit log, newest first (`Store.audit.rows`)."""

    COL_TIME, COL_CLIENT, COL_TOOL, COL_OUTCOME, COL_TOOK, COL_ARGS = range(6)
    HEADERS = ("Time", "Client", "Tool", "Outcome", "Took", "Arguments")

    def text(self, row: AuditRow, col: int) -> str:
        """Cell text."""
        return (
            clock(row.at, self._now()),
            row.client_name or row.client_id or "",
            row.name,
            row.outcome,
            f"{row.duration_ms:.0f} ms",
            row.arguments,
        )[col]

    def sort_key(self, row: AuditRow, col: int) -> Any:
        """Time sorts by row order, durations as numbers."""
        if col == self.COL_TIME:
            return row.id
        if col == self.COL_TOOK:
            return row.duration_ms
        return self.text(row, col).lower()

    def tooltip(self, row: AuditRow, col: int) -> str | None:
        """Exact time, the client id and grant, or the outcome's detail."""
        if col == self.COL_TIME:
            return absolute(row.at)
        if col == self.COL_CLIENT:
            return f"Client id: {row.client_id}\nSign-in (grant): {row.grant_id}"
        if col == self.COL_OUTCOME:
            return row.detail or None
        return row.arguments
