"""Outermost ASGI layer: Host (DNS rebinding), Origin (T1), CORS for loopback pages (T1b), body size.

Only loopback names are accepted in Host, so a web page can never reach us through a domain it
controls. A request with a foreign Origin gets 403; a loopback page (say the MCP Inspector on
http://localhost:6274) gets CORS headers, including on preflights, before any auth check runs.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.origins import LOOPBACK_HOSTS, ServerIdentity, current_origin, origin_for, split_host
from app.server.stats import ServerStats

MAX_BODY = 1024 * 1024  # bytes; MCP messages and OAuth forms are far smaller
ALLOW_HEADERS = "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"
EXPOSE_HEADERS = "Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version"
ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"


async def _plain(send: Send, status: int, error: str, description: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra],
    })
    await send({"type": "http.response.body", "body": body})


class BodyTooLargeError(HTTPException):
    """The request body passed MAX_BODY while streaming in (a chunked body has no Content-Length).

    An HTTPException, so Starlette's exception middleware answers 413 instead of turning it into
    a 500 before it can reach the guard.
    """

    def __init__(self) -> None:
        super().__init__(413, f"The body must be at most {MAX_BODY} bytes")


class Guard:
    """Host, Origin, CORS and body-size checks around the whole app."""

    def __init__(self, app: ASGIApp, identity: ServerIdentity, stats: ServerStats) -> None:
        self.app = app
        self.identity = identity
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.stats.request_started()
        headers = Headers(scope=scope)
        host = split_host(headers.get("host", ""))
        if host is None or not self.identity.accepts_host(*host):
            await _plain(send, 421, "invalid_host", "This server only answers to its loopback address", [])
            return
        origin_token = current_origin.set(origin_for(host[0], self.identity.port))
        try:
            await self._checked(scope, receive, send, headers)
        finally:
            current_origin.reset(origin_token)

    async def _checked(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        cors: list[tuple[bytes, bytes]] = []
        origin = headers.get("origin")
        if origin is not None:
            if not self._loopback_origin(origin):
                await _plain(send, 403, "forbidden_origin", f"Requests from {origin[:100]} are not allowed", [])
                return
            cors = [
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
                (b"vary", b"Origin"),
            ]
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await self._preflight(send, cors)
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            status = 413 if length.isdigit() else 400
            await _plain(send, status, "request_too_large" if status == 413 else "invalid_request",
                         f"The body must be at most {MAX_BODY} bytes", cors)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise BodyTooLargeError
            return message

        started = False

        async def send_with_cors(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 500:
                    self.stats.server_error(message["status"], scope.get("path", ""))
                if cors:
                    message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_cors)
        except BodyTooLargeError:
            if not started:
                await _plain(send, 413, "request_too_large", f"The body must be at most {MAX_BODY} bytes", cors)

    def _loopback_origin(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            return False
        name = (parts.hostname or "").lower()
        return parts.scheme in ("http", "https") and (name in LOOPBACK_HOSTS or name in self.identity.extra_hosts)

    @staticmethod
    async def _preflight(send: Send, cors: list[tuple[bytes, bytes]]) -> None:
        await send({
            "type": "http.response.start",
            "status": 204,
            "headers": [
                *cors,
                (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
            ],
        })
        await send({"type": "http.response.body", "body": b""})
