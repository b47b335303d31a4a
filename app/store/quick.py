"""Reads that never wait for a lock, for callers on an event loop (the per-request token check).

In WAL mode a reader does not wait for a writer, so these almost never fail; when one would have to
wait (say, a process recovering the WAL after a crash), it fails at once with BusyError and the
caller repeats the read on a worker thread, where waiting harms nobody.

`remembered` keeps a read's answer until anything in the database changes: SQLite's
`PRAGMA data_version` (one look at the WAL's shared index, no page read) changes on this connection
whenever any other connection, of this process or another, commits. So a token revoked by the GUI,
the CLI or another server is looked up afresh on its very next request, and a stream of calls with
one token costs one lookup per commit anywhere instead of one per call.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from app.store.db import connect

T = TypeVar("T")


class BusyError(RuntimeError):
    """The database would have made this read wait; repeat it where waiting is allowed."""


MAX_REMEMBERED = 1024  # answers kept per thread; all are forgotten when it fills


class _Reader:
    """One thread's no-wait connection and what it remembers, valid while `version` holds."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.version: object = None
        self.answers: dict[str, object] = {}


class QuickReads:
    """One connection per thread with a zero busy timeout."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: PostgreSQL, where every read is a network round trip: always a worker thread
        self._lock = threading.Lock()
        self._by_thread: dict[int, _Reader] = {}

    def _reader(self) -> _Reader:
        if self.path is None:
            raise BusyError("a PostgreSQL read does not belong on the event loop")
        ident = threading.get_ident()
        reader = self._by_thread.get(ident)
        if reader is None:
            conn = connect(self.path)
            conn.execute("PRAGMA busy_timeout=0")
            reader = _Reader(conn)
            with self._lock:
                self._by_thread[ident] = reader
        return reader

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(conn)` on this thread's no-wait connection; BusyError instead of waiting."""
        return _no_wait(fn, self._reader().conn)

    def remembered(self, key: str, fn: Callable[[sqlite3.Connection], T], keep: Callable[[T], bool]) -> T:
        """`run(fn)`, or the answer it gave for `key` if nothing was committed since and `keep(answer)`."""
        reader = self._reader()
        version = _no_wait(_data_version, reader.conn)
        if version != reader.version:
            reader.version = version
            reader.answers.clear()
        elif key in reader.answers:
            answer: T = reader.answers[key]  # type: ignore[assignment]  # stored by this method for this key
            if keep(answer):
                return answer
        answer = _no_wait(fn, reader.conn)
        if keep(answer):
            if len(reader.answers) >= MAX_REMEMBERED:
                reader.answers.clear()
            reader.answers[key] = answer
        return answer

    def close(self) -> None:
        """Close every connection opened here."""
        with self._lock:
            for reader in self._by_thread.values():
                reader.conn.close()
            self._by_thread.clear()


def _data_version(conn: sqlite3.Connection) -> object:
    return conn.execute("PRAGMA data_version").fetchone()[0]


def _no_wait(fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    try:
        return fn(conn)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BusyError(str(exc)) from None
        raise
