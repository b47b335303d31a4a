"""Counters the dashboard shows: uptime, requests served, open connections, the last error.

A window that shows them asks to be told of the next change (`notify_next`) instead of polling: the
listener is called once, by whichever thread changes a counter, and the window asks again when it
has shown the new figures. A request costs one more attribute swap; a flood of them wakes the
window once per look, not once per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


def _call(listener: Callable[[], None] | None) -> None:
    """A listener's failure is logged, never passed on to the request that counted."""
    if listener is None:
        return
    try:
        listener()
    except Exception:
        log.exception("stats listener failed")


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent copy of the counters, safe to hand to another thread."""

    started_at: float | None
    requests: int
    last_error: str | None
    last_error_at: float | None


class ServerStats:
    """Thread-safe counters, written by the server thread and read by anyone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started_at: float | None = None
        self._requests = 0
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._listener: Callable[[], None] | None = None

    def notify_next(self, listener: Callable[[], None] | None) -> None:
        """Call `listener()` once, on the thread that makes it, at the next change; None forgets it."""
        with self._lock:
            self._listener = listener

    def _changed(self) -> Callable[[], None] | None:
        listener, self._listener = self._listener, None  # under the lock
        return listener

    def request_started(self) -> None:
        """Count one HTTP request."""
        with self._lock:
            self._requests += 1
            listener = self._changed()
        _call(listener)

    def server_error(self, status: int, path: str) -> None:
        """Remember a 5xx answer."""
        self.error(f"HTTP {status} on {path}")

    def error(self, text: str) -> None:
        """Remember the last error and when it happened."""
        with self._lock:
            self._last_error = text
            self._last_error_at = time.time()
            listener = self._changed()
        _call(listener)

    def snapshot(self) -> StatsSnapshot:
        """The counters now."""
        with self._lock:
            return StatsSnapshot(self.started_at, self._requests, self._last_error, self._last_error_at)
