"""Writes audit rows off the event loop: the server hands entries over and goes on at once.

One thread per server takes entries from a queue, lets more gather for GATHER seconds, writes them in
one transaction (a stream of calls costs one commit and one wake-up of this thread per GATHER, not
one per call), and applies retention every TRIM_EVERY rows.
While nothing is called it sleeps on the queue: no polling.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.store.audit import AuditEntry
from app.store.store import Store

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction at most
GATHER = 0.05  # seconds the writer lets entries gather after the first, so a stream of calls costs
# one transaction (and one wake-up of this thread) per GATHER, not one per call
TRIM_EVERY = 1000  # rows written between retention passes


@dataclass(frozen=True)
class Retention:
    """How much of the log is kept."""

    max_days: int = 30
    max_rows: int = 100_000


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class AuditWriter:
    """`record(entry)` from any thread or the event loop; rows land within a few milliseconds."""

    def __init__(self, data_dir: Path, retention: Retention | None = None, database: str | None = None) -> None:
        self.store = Store(data_dir, database)  # its own connection, closed when the thread ends
        self.retention = retention or Retention()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._names: dict[str, str | None] = {}
        self._since_trim = 0
        self._listeners: list[Callable[[], None]] = []
        self.written = 0
        self.enabled = True  # False: nothing is recorded (the benchmark's reference)
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, entry: AuditEntry) -> None:
        """Queue one entry (never blocks)."""
        if self.enabled:
            self._queue.put(entry)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener()` (on the writer's thread) after each batch is written."""
        self._listeners.append(listener)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (tests, shutdown)."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _client_name(self, client_id: str | None) -> str | None:
        if client_id is None:
            return None
        if client_id not in self._names:
            info = self.store.client_info(client_id)
            name = info.get("client_name") if info else None
            self._names[client_id] = name if isinstance(name, str) else None
        return self._names[client_id]

    def _run(self) -> None:
        try:
            self._trim()
        except Exception:
            log.exception("audit retention failed")
        stop = False
        while not stop:
            items = [self._queue.get()]
            if isinstance(items[0], AuditEntry) and self._queue.qsize() < BATCH:
                time.sleep(GATHER)  # a full batch is already waiting: write it at once
            while len(items) < BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [i for i in items if isinstance(i, AuditEntry)]
            stop = any(i is _STOP for i in items)
            if entries:
                self._write(entries)
            for item in items:
                if isinstance(item, _Flush):
                    item.done.set()
        self.store.db.close()

    def _write(self, entries: list[AuditEntry]) -> None:
        named = [e if e.client_name is not None else AuditEntry(
            e.at, e.client_id, self._client_name(e.client_id), e.grant_id, e.method, e.name, e.arguments,
            e.outcome, e.detail, e.duration_ms) for e in entries]
        try:
            self.store.audit.append(named)
        except Exception:
            log.exception("could not write %d audit row(s)", len(named))
            return
        self.written += len(named)
        self._since_trim += len(named)
        if self._since_trim >= TRIM_EVERY:
            self._since_trim = 0
            try:
                self._trim()
            except Exception:
                log.exception("audit retention failed")
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("audit listener failed")

    def _trim(self) -> None:
        gone = self.store.audit.trim(self.retention.max_days, self.retention.max_rows)
        if gone:
            log.info("audit retention removed %d row(s)", gone)
