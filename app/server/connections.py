"""Connections that never finish their request head are closed, and a cap keeps file descriptors for real clients.

uvicorn's h11 protocol has no deadline for the request head: a connection that sends
`GET / HTTP/1.1\\r\\nHost: 127.0.0.1` and nothing more is kept forever (its keep-alive timer only
runs between requests, and any byte cancels it). Under the common limit of 1,024 descriptors,
1,100 such sockets from any local process use them all; accept() then fails with EMFILE and
every real client waits in the kernel's queue. (uvicorn's `limit_concurrency` does not help: it
answers 503 to requests, but only once a head is complete, and the socket is accepted anyway.)

`guarded_protocol` is uvicorn's H11Protocol with two rules added:

- a head must be complete within HEAD_TIMEOUT seconds of the connection opening, or of the
  previous response ending; otherwise the connection is closed;
- above `cap` open connections, each new one closes the connection that has waited longest for
  its head. Requests being served and open streams are never closed by this.

The cap stays a quarter of the descriptor limit below it, which covers what accept() takes in
one batch (the listen backlog) and the server's own files. `raise_fd_limit` lifts the soft limit
to the hard one at start, so the cap is as high as the system allows.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEAD_TIMEOUT = 10.0  # seconds for a request head; a real client sends it in one packet
BACKLOG = 128  # the listen queue, and so the most accept() takes in one go
MAX_CONNECTIONS = 4096  # a personal server needs a few dozen
FALLBACK_FD_LIMIT = 1024  # when the limit cannot be read (Windows: no RLIMIT_NOFILE)
_UNLIMITED_CEILING = 65536  # the soft limit asked for when the hard limit is "unlimited"


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    try:
        import resource
    except ImportError:
        return FALLBACK_FD_LIMIT
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _UNLIMITED_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        for target in (wanted, 10240):  # macOS refuses more than OPEN_MAX (10240) even below the hard limit
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            except (ValueError, OSError):
                continue
            log.info("raised the open-file limit from %d to %d", soft, target)
            return target
    return _UNLIMITED_CEILING if soft == resource.RLIM_INFINITY else soft


def connection_cap(fd_limit: int) -> int:
    """How many connections to keep open at most, under `fd_limit` descriptors."""
    reserve = max(BACKLOG + 64, fd_limit // 4)
    return max(16, min(MAX_CONNECTIONS, fd_limit - reserve))


class GuardedH11Protocol(H11Protocol):
    """H11Protocol with a deadline for each request head and a cap on open connections."""

    cap = MAX_CONNECTIONS
    head_timeout = HEAD_TIMEOUT

    _head_timer: asyncio.TimerHandle | None = None
    _waiting_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as H11Protocol: a TCP transport
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.cap:
            self._close_longest_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def awaiting_head(self) -> bool:
        """True while no request is in progress and the next head is not complete."""
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _await_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._waiting_since = self.loop.time()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_deadline)

    def _head_deadline(self) -> None:
        self._head_timer = None
        if self.awaiting_head() and not self.transport.is_closing():
            self.transport.close()

    def _close_longest_waiting(self) -> None:
        waiting = [c for c in self.connections
                   if c is not self and isinstance(c, GuardedH11Protocol) and c.awaiting_head()
                   and not c.transport.is_closing()]
        if waiting:
            min(waiting, key=lambda c: c._waiting_since).transport.close()


def guarded_protocol(cap: int, head_timeout: float = HEAD_TIMEOUT) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's `http=`, with this server's cap and head deadline."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"cap": cap, "head_timeout": head_timeout})
