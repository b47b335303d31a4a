"""Writes the request path asks for but need not wait for: `last_used_at` and the odd activity line.

A request must never wait for the database's write lock (another process, say the CLI, may hold
it for seconds). These writes go to one thread that gathers them for GATHER seconds and lands them
in one transaction. Each token's `last_used_at` is written at most once per RESOLUTION seconds.
The thread starts with the first write and sleeps on a condition while there is nothing to do.
"""

from __future__ import annotations

import logging
import threading
import time

from app.store import activity
from app.store.db import Database
from app.store.kinds import EventKind
from app.store.sql import Conn

log = logging.getLogger(__name__)

RESOLUTION = 30.0  # seconds; last_used_at is written at most this often per token
GATHER = 0.2  # seconds writes gather before one transaction lands them
MAX_REMEMBERED = 4096  # tokens whose last write time is remembered (older ones are forgotten)


class LaterWrites:
    """Queue writes from any thread (never blocks on the database); one thread lands them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cond = threading.Condition()
        self._touches: dict[str, float] = {}  # token hash -> when it was used, waiting to be written
        self._events: list[tuple[EventKind, str | None, str]] = []
        self._written: dict[str, float] = {}  # token hash -> when its last_used_at was last queued
        self._thread: threading.Thread | None = None
        self._closing = False
        self._busy = False

    def touch(self, token_hash: str, stored_last_used: float | None, now: float | None = None) -> None:
        """Note a use of a token; written when the stored time (or the last one queued) is old enough."""
        now = time.time() if now is None else now
        if stored_last_used is not None and now - stored_last_used < RESOLUTION:
            return
        with self._cond:
            if now - self._written.get(token_hash, float("-inf")) < RESOLUTION:
                return
            if len(self._written) >= MAX_REMEMBERED:
                self._written.clear()
            self._written[token_hash] = now
            self._touches[token_hash] = now
            self._wake()

    def event(self, kind: EventKind, client_id: str | None, detail: str) -> None:
        """Add a line to the activity log, soon."""
        with self._cond:
            self._events.append((kind, client_id, detail))
            self._wake()

    def flush(self, timeout: float = 15.0) -> bool:
        """Wait until everything queued so far is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._touches or self._events or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    return False
        return True

    def close(self, timeout: float = 15.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _wake(self) -> None:
        # Called holding the condition.
        if self._thread is None and not self._closing:
            self._thread = threading.Thread(target=self._run, name="store-later", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._touches or self._events or self._closing):
                    self._cond.wait()
                if self._closing and not (self._touches or self._events):
                    return
                closing = self._closing
            if not closing:
                time.sleep(GATHER)
            with self._cond:
                touches, self._touches = self._touches, {}
                events, self._events = self._events, []
                self._busy = True
            try:
                self._write(touches, events)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, touches: dict[str, float], events: list[tuple[EventKind, str | None, str]]) -> None:
        def run(conn: Conn) -> None:
            for token_hash, at in touches.items():
                conn.execute("UPDATE tokens SET last_used_at = ? WHERE token_hash = ?", (at, token_hash))
            for kind, client_id, detail in events:
                activity.record(conn, kind, client_id, detail)

        try:
            self.db.tx(run)
        except Exception:
            log.exception("could not write %d last-used time(s) and %d activity line(s)", len(touches), len(events))
