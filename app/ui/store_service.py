"""The store as the GUI sees it: reads and revocations on a worker thread, results by queued signals.

The worker has its own Store (its own SQLite connection) on one dedicated thread, so the GUI
thread never waits on the disk or on a write lock the server holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from app.store.audit import AuditFilter, AuditRow
from app.store.rows import ClientGroup, EventRow, TokenRow
from app.store.store import Store
from app.ui.tasks import run_task

log = logging.getLogger(__name__)

REFRESH_MS = 1000
EVENTS_SHOWN = 200


@dataclass(frozen=True)
class AuditPage:
    """Tool calls for the activity view: the rows that match its filters, and what it can filter by."""

    filter: AuditFilter
    rows: tuple[AuditRow, ...]
    clients: tuple[tuple[str, str], ...]  # (client id, name)
    names: tuple[str, ...]


@dataclass(frozen=True)
class StoreSnapshot:
    """Everything the dashboard lists, read in one go."""

    tokens: tuple[TokenRow, ...]
    clients: tuple[ClientGroup, ...]
    events: tuple[EventRow, ...]


class StoreService(QObject):
    """Polls the store for the dashboard and carries out revocations; all on one worker thread."""

    snapshot_ready = Signal(object)  # StoreSnapshot
    audit_ready = Signal(object)  # AuditPage
    action_done = Signal(str)  # a sentence for the status bar
    action_failed = Signal(str)

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one thread: one connection, actions in order
        self._pool.setExpiryTimeout(-1)
        self._store: Store | None = None
        self._reading = False
        self._closed = False
        self.last: StoreSnapshot | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        """Read now and then every REFRESH_MS."""
        self._timer.start()
        self.refresh()

    def _get_store(self) -> Store:
        if self._store is None:
            self._store = Store(self.data_dir)
        return self._store

    def _read(self) -> StoreSnapshot:
        store = self._get_store()
        return StoreSnapshot(
            tuple(store.list_tokens()), tuple(store.client_groups()), tuple(store.recent_events(EVENTS_SHOWN))
        )

    def refresh(self) -> None:
        """Read a fresh snapshot unless one is on its way."""
        if self._reading or self._closed:
            return
        self._reading = True
        run_task(self._pool, self._read, self._got, self._read_failed, self)

    def _got(self, snapshot: Any) -> None:
        self._reading = False
        if self._closed:  # a read that finished after close(): nobody wants it
            return
        self.last = snapshot
        self.snapshot_ready.emit(snapshot)

    def _read_failed(self, exc: Exception) -> None:
        self._reading = False
        log.warning("could not read the store: %s", exc)

    def _act(self, fn: Callable[[Store], str]) -> None:
        def job() -> str:
            return fn(self._get_store())

        def done(message: Any) -> None:
            self.action_done.emit(str(message))
            self.refresh()

        def failed(exc: Exception) -> None:
            log.warning("store action failed: %s", exc)
            self.action_failed.emit(f"That did not work: {exc}")

        run_task(self._pool, job, done, failed, self)

    def read_audit(self, wanted: AuditFilter) -> None:
        """Read tool calls matching `wanted` on the worker; `audit_ready` carries them back."""

        def job() -> AuditPage:
            store = self._get_store()
            clients, names = store.audit.facets()
            return AuditPage(wanted, tuple(store.audit.rows(wanted)), tuple(clients), tuple(names))

        def done(page: Any) -> None:
            if not self._closed:
                self.audit_ready.emit(page)

        run_task(self._pool, job, done, self._read_failed_quietly, self)

    def _read_failed_quietly(self, exc: Exception) -> None:
        log.warning("could not read the audit log: %s", exc)

    def revoke_grant(self, grant_id: str, name: str) -> None:
        """Revoke one sign-in (a grant and every token it issued)."""
        self._act(lambda s: f"Revoked the sign-in of {name}." if s.revoke_grant(grant_id, "revoked by the user")
                  else f"That sign-in of {name} was already revoked.")

    def revoke_tokens(self, token_ids: Sequence[str]) -> None:
        """Revoke the grants that own these tokens (an access token and its refresh token go together)."""
        ids = list(token_ids)
        self._act(lambda s: f"Revoked {len(s.revoke_tokens(ids))} sign-in(s).")

    def revoke_clients(self, client_ids: Sequence[str], name: str) -> None:
        """Revoke every grant of these client ids (one app that registered several times)."""
        ids = list(client_ids)
        self._act(lambda s: f"Revoked {sum(s.revoke_client(c) for c in ids)} sign-in(s) of {name}.")

    def remove_clients(self, client_ids: Sequence[str], name: str) -> None:
        """Forget these registrations and revoke what they hold."""
        ids = list(client_ids)
        self._act(lambda s: f"Removed {name} ({sum(s.remove_client(c) for c in ids)} registration(s)).")

    def close(self) -> None:
        """Stop polling, let queued work finish, close the connection."""
        self._closed = True
        self._timer.stop()
        self._pool.waitForDone(5000)
        if self._store is not None:
            self._store.close()
            self._store = None
