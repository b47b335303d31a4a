"""Each request's fields for the log, and with `access=True` one line per request (hosted JSON logs).

The outermost ASGI layer: it names the request (method, path without the query, peer address, a
request id: the caller's `X-Request-Id` when it sends a sane one, else a fresh one) in a context
variable, so every log line written while serving it carries them (app/logging_setup.py). With
`access`, it also logs the status and duration once the response has started and ended. The query
string is never logged: OAuth puts codes and states there.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logging_setup import request_fields

log = logging.getLogger("mcp_tray.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_minted: tuple[int, str, itertools.count[int]] | None = None  # (pid, random prefix, counter)


def fresh_request_id() -> str:
    """A request id unique to this process (and to each forked worker): a random prefix and a counter.

    Cheaper than fresh random bytes for every request, which cost a system call each.
    """
    global _minted
    pid = os.getpid()
    if _minted is None or _minted[0] != pid:
        _minted = (pid, secrets.token_hex(4), itertools.count(1))
    return f"{_minted[1]}{next(_minted[2]):08x}"


class RequestLog:
    """Set the request's log fields; log an access line per request when `access` is on."""

    def __init__(self, app: ASGIApp, access: bool = False) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        named: dict[str, object] = {}

        def fields() -> dict[str, object]:
            # Worked out for the request's first log line only; most requests write none.
            if not named:
                given = Headers(scope=scope).get("x-request-id", "")
                client = scope.get("client")
                named.update({
                    "id": given if _REQUEST_ID.fullmatch(given) else fresh_request_id(),
                    "method": scope.get("method", ""),
                    "path": scope.get("path", ""),
                    "peer": client[0] if client else None,
                })
            return named

        token = request_fields.set(fields)
        started = time.perf_counter()
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch if self.access else send)
        finally:
            if self.access:
                log.info("%s %s %d", scope.get("method", ""), scope.get("path", ""), status, extra={"fields": {
                    "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 1)}})
            request_fields.reset(token)
