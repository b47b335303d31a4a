"""Counters the dashboard shows: uptime, requests served, open connections, the last error."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


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

    def request_started(self) -> None:
        """Count one HTTP request."""
        with self._lock:
            self._requests += 1

    def server_error(self, status: int, path: str) -> None:
        """Remember a 5xx answer."""
        self.error(f"HTTP {status} on {path}")

    def error(self, text: str) -> None:
        """Remember the last error and when it happened."""
        with self._lock:
            self._last_error = text
            self._last_error_at = time.time()

    def snapshot(self) -> StatsSnapshot:
        """The counters now."""
        with self._lock:
            return StatsSnapshot(self.started_at, self._requests, self._last_error, self._last_error_at)
