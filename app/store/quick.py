"""Reads that never wait for a lock, for callers on an event loop (the per-request token check).

In WAL mode a reader does not wait for a writer, so these almost never fail; when one would have to
wait (say, a process recovering the WAL after a crash), it fails at once with BusyError and the
caller repeats the read on a worker thread, where waiting harms nobody.
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


class QuickReads:
    """One connection per thread with a zero busy timeout."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: PostgreSQL, where every read is a network round trip: always a worker thread
        self._lock = threading.Lock()
        self._by_thread: dict[int, sqlite3.Connection] = {}

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(conn)` on this thread's no-wait connection; BusyError instead of waiting."""
        if self.path is None:
            raise BusyError("a PostgreSQL read does not belong on the event loop")
        ident = threading.get_ident()
        conn = self._by_thread.get(ident)
        if conn is None:
            conn = connect(self.path)
            conn.execute("PRAGMA busy_timeout=0")
            with self._lock:
                self._by_thread[ident] = conn
        try:
            return fn(conn)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BusyError(str(exc)) from None
            raise

    def close(self) -> None:
        """Close every connection opened here."""
        with self._lock:
            for conn in self._by_thread.values():
                conn.close()
            self._by_thread.clear()
