"""The store as the GUI sees it: reads and revocations on a worker thread, results by queued signals.

The worker has its own Store (its own SQLite connection) on one dedicated thread, so the GUI
thread never waits on the disk or on a write lock the server holds.

Nothing polls: the service watches the database files (any writer, this process's server or a CLI
command in another, touches them) and reads a fresh snapshot shortly after they change, which is
all the tray's notifications need. While a window shows the lists (`set_shown(True)`) the one
change that comes without a write, a token expiring, is met by a single read just after the
soonest expiry in the last snapshot. A PostgreSQL store has no file to watch: there `polls` is
true and the shown lists are read every REFRESH_MS instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QThreadPool, QTimer, Signal

from app.store.audit import AuditFilter, AuditRow
from app.store.db import DB_NAME, database_url
from app.store.rows import ClientGroup, EventRow, TokenRow
from app.store.store import Store
from app.ui.tasks import run_task
from app.wording import plural

log = logging.getLogger(__name__)

REFRESH_MS = 10_000  # while shown, on PostgreSQL only: another process's writes leave no file to watch
EXPIRY_SLACK_MS = 500  # read this long after the soonest expiry (the store's clock and ours agree)
SETTLE_MS = 250  # after a change on disk: writes come in bursts, one read covers them
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


def _watched_files(data_dir: Path) -> list[str]:
    """The database and its write-ahead log (not the -shm file, which readers write too)."""
    names = (DB_NAME, f"{DB_NAME}-wal")
    return [str(data_dir / name) for name in names if (data_dir / name).exists()]


class StoreService(QObject):
    """Reads the store for the dashboard and the notifier, and carries out revocations; on one worker thread."""

    snapshot_ready = Signal(object)  # StoreSnapshot
    audit_ready = Signal(object)  # AuditPage
    changed_on_disk = Signal()  # the database was written (by anyone), after SETTLE_MS of quiet
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
        self._again = False
        self.last: StoreSnapshot | None = None
        self.polls = database_url() is not None  # PostgreSQL: nothing on disk tells of changes
        self._shown = False
        self._timer = QTimer(self)  # while shown: the periodic refresh (PostgreSQL) or the next expiry
        self._timer.setSingleShot(not self.polls)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._disk_changed)
        self._watcher: QFileSystemWatcher | None = None

    def start(self) -> None:
        """Read once now, then again whenever the database changes on disk."""
        if self._watcher is None:
            self._watcher = QFileSystemWatcher(self)
            self._watcher.fileChanged.connect(self._poke)
            self._watcher.directoryChanged.connect(self._poke)  # the files appear, or are replaced
            self._watcher.addPath(str(self.data_dir))
            self._watch_files()
        self.refresh()

    @property
    def shown(self) -> bool:
        """Whether a window shows the lists (and they are kept current even when tokens expire)."""
        return self._shown

    def set_shown(self, shown: bool) -> None:
        """A window started or stopped showing the lists: start (with a read now) or stop the refresh."""
        if shown and not self._closed:
            if not self._shown:
                self._shown = True
                if self.polls:
                    self._timer.start()
                self.refresh()
        else:
            self._shown = False
            self._timer.stop()

    def _plan_expiry(self, snapshot: StoreSnapshot) -> None:
        """While shown (SQLite): one read just after the soonest token expiry, when the lists change unwritten."""
        if self.polls or not self._shown:
            return
        now = time.time()
        soonest = min((t.expires_at for t in snapshot.tokens if t.expires_at > now), default=None)
        if soonest is None:
            self._timer.stop()
        else:
            self._timer.start(min(2**31 - 1, round((soonest - now) * 1000) + EXPIRY_SLACK_MS))

    def _watch_files(self) -> None:
        if self._watcher is None:
            return
        missing = [f for f in _watched_files(self.data_dir) if f not in self._watcher.files()]
        if missing:
            self._watcher.addPaths(missing)

    def _poke(self, _path: str) -> None:
        if not self._closed and not self._settle.isActive():
            self._settle.start()

    def _disk_changed(self) -> None:
        self._watch_files()  # a file that was replaced (or created since) is watched again
        self.changed_on_disk.emit()
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
        """Read a fresh snapshot; while one is on its way, read once more after it."""
        if self._closed:
            return
        if self._reading:
            self._again = True  # the change may have landed after that read began
            return
        self._reading = True
        run_task(self._pool, self._read, self._got, self._read_failed, self)

    def _read_done(self) -> None:
        self._reading = False
        if self._again:
            self._again = False
            self.refresh()

    def _got(self, snapshot: Any) -> None:
        if self._closed:  # a read that finished after close(): nobody wants it
            self._reading = False
            return
        self.last = snapshot
        self._plan_expiry(snapshot)
        self.snapshot_ready.emit(snapshot)
        self._read_done()

    def _read_failed(self, exc: Exception) -> None:
        log.warning("could not read the store: %s", exc)
        self._read_done()

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
        self._act(lambda s: f"Revoked {plural(len(s.revoke_tokens(ids)), 'sign-in')}.")

    def revoke_clients(self, client_ids: Sequence[str], name: str) -> None:
        """Revoke every grant of these client ids (one app that registered several times)."""
        ids = list(client_ids)
        self._act(lambda s: f"Revoked {plural(sum(s.revoke_client(c) for c in ids), 'sign-in')} of {name}.")

    def remove_clients(self, client_ids: Sequence[str], name: str) -> None:
        """Forget these registrations and revoke what they hold."""
        ids = list(client_ids)
        self._act(lambda s: f"Removed {name} ({sum(s.remove_client(c) for c in ids)} registration(s)).")

    def close(self) -> None:
        """Stop refreshing and watching, let queued work finish, close the connection."""
        self._closed = True
        self._shown = False
        self._timer.stop()
        self._settle.stop()
        if self._watcher is not None:
            self._watcher.deleteLater()
            self._watcher = None
        self._pool.waitForDone(5000)
        if self._store is not None:
            self._store.close()
            self._store = None
