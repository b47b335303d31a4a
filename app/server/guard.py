"""Outermost ASGI layer: the way in (loopback or public), Host (DNS rebinding), Origin (T1), CORS, body size.

Only loopback names are accepted in Host, so a web page can never reach us through a domain it
controls. A request with a foreign Origin gets 403; a loopback page (say the MCP Inspector on
http://localhost:6274) gets CORS headers, including on preflights, before any auth check runs.

With remote access on, the public host is accepted too, but only from a trusted proxy (loopback by
default) that says the caller used HTTPS; `Forwarded` / `X-Forwarded-*` are read from trusted
proxies only. Each request then runs with its `WayIn` (origin, remote or not) in a context variable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.errors import oauth_error
from app.auth.origins import ServerIdentity, WayIn, current_origin, current_way, origin_for, split_host
from app.server.forwarded import parse_forwarded
from app.server.public import PublicEntry
from app.server.ratelimit import RateLimiter, too_many
from app.server.sse_relay import RELAYED
from app.server.stats import ServerStats

MAX_BODY = 1024 * 1024  # bytes; MCP messages and OAuth forms are far smaller
ALLOW_HEADERS = "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"
EXPOSE_HEADERS = "Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version"
ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"


async def drain(scope: Scope, receive: Receive) -> None:
    """Read (and drop) a request body the answer does not need, up to MAX_BODY.

    Closing a connection with unread request bytes makes the kernel send a reset, and a proxy in
    front of us (Caddy, nginx) can then lose the response it already had. Early refusals read
    the body first, so the answer always arrives whole.
    """
    if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        return
    received = 0
    while received <= MAX_BODY:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class BodyTooLargeError(HTTPException):
    """The request body passed MAX_BODY while streaming in (a chunked body has no Content-Length).

    An HTTPException, so Starlette's exception middleware answers 413 instead of turning it into
    a 500 before it can reach the guard.
    """

    def __init__(self) -> None:
        super().__init__(413, f"The body must be at most {MAX_BODY} bytes")


@dataclass(frozen=True)
class Refusal:
    """Why a request cannot come in this way: status, OAuth-style error code, sentence."""

    status: int
    error: str
    description: str


class Guard:
    """Way-in, Host, Origin, CORS and body-size checks around the whole app."""

    def __init__(self, app: ASGIApp, identity: ServerIdentity, stats: ServerStats,
                 public: PublicEntry | None = None, on_refused: Callable[[Refusal, str], None] | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.app = app
        self.identity = identity
        self.stats = stats
        self.public = public or PublicEntry()
        self.on_refused = on_refused
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.stats.request_started()
        headers = Headers(scope=scope)
        way = self.way_in(scope, headers)
        if isinstance(way, Refusal):
            if self.on_refused is not None and way.error != "invalid_host":
                self.on_refused(way, _peer(scope))
            await drain(scope, receive)
            await oauth_error(way.error, way.description, way.status)(scope, receive, send)
            return
        if way.remote:
            # Rate limits and the activity log see the caller the proxy saw, not the proxy.
            scope = {**scope, "client": (way.client_address, 0)}
            limiter = self.limiter
            # A relayed SSE post was counted by the worker that received it (app/server/sse_relay.py).
            if limiter is not None and limiter.limits.enabled and not scope.get(RELAYED):
                wait = limiter.take("remote-address", way.client_address, limiter.limits.remote_per_address)
                if wait:
                    await drain(scope, receive)
                    await too_many(wait, "requests from this address")(scope, receive, send)
                    return
        origin_token = current_origin.set(way.origin)
        way_token = current_way.set(way)
        try:
            await self._checked(scope, receive, send, headers, way)
        finally:
            current_way.reset(way_token)
            current_origin.reset(origin_token)

    def way_in(self, scope: Scope, headers: Headers) -> WayIn | Refusal:
        """Loopback, public (through a trusted proxy, HTTPS), or a refusal saying why not."""
        host = split_host(headers.get("host", ""))
        if host is None:
            return Refusal(421, "invalid_host", "The Host header is missing or malformed")
        peer = _peer(scope)
        trusted = self.public.trusts(peer)
        forwarded = parse_forwarded(headers) if trusted else None
        name, port = host
        if forwarded is not None and forwarded.host:
            named = split_host(forwarded.host)
            if named is None:
                return Refusal(400, "invalid_request", "The proxy's forwarded host is malformed")
            name, port = named
        public = self.public.origin
        if public is not None and public.accepts_host(name, port):
            if not trusted:
                return Refusal(403, "untrusted_proxy", f"{public.host_header} is only served through the "
                               "configured proxy or tunnel; this request came from somewhere else")
            if forwarded is None or forwarded.proto != "https":
                return Refusal(403, "https_required", f"{public.origin} is served over HTTPS only; this "
                               "request did not come through the HTTPS proxy (no X-Forwarded-Proto: https)")
            return WayIn(public.origin, True, self.identity, public, forwarded.client or peer)
        last = self.public.last
        if public is None and last is not None and last.accepts_host(name, port):
            return Refusal(421, "remote_access_off", f"Remote access to {last.origin} is turned off")
        if not self.identity.accepts_host(name, port):
            return Refusal(421, "invalid_host", "This server only answers to its loopback address")
        if forwarded is not None and forwarded.present:
            # A proxy that hides the public name would make internet callers look local.
            return Refusal(421, "proxied_loopback", "A proxy passed this request on with a loopback host; "
                           "turn on the public URL mode and make the proxy keep the Host header")
        return WayIn(origin_for(name, self.identity.port), False, self.identity, public, peer)

    async def _checked(self, scope: Scope, receive: Receive, send: Send, headers: Headers, way: WayIn) -> None:
        cors: dict[str, str] = {}
        origin = headers.get("origin")
        if origin is not None:
            if not self._allowed_origin(origin, way):
                await drain(scope, receive)
                await oauth_error("forbidden_origin", f"Requests from {origin[:100]} are not allowed",
                                  403)(scope, receive, send)
                return
            cors = {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSE_HEADERS,
                    "Vary": "Origin"}
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await Response(status_code=204, headers={
                    **cors, "Access-Control-Allow-Methods": ALLOW_METHODS,
                    "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": "600",
                })(scope, receive, send)
                return
        too_large = f"The body must be at most {MAX_BODY} bytes"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            if length.isdigit():
                await oauth_error("request_too_large", too_large, 413, cors)(scope, receive, send)
            else:
                await oauth_error("invalid_request", too_large, 400, cors)(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in cors.items()]

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
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_cors)
        except BodyTooLargeError:
            if not started:
                await oauth_error("request_too_large", too_large, 413, cors)(scope, receive, send)

    @staticmethod
    def _allowed_origin(origin: str, way: WayIn) -> bool:
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return False
        return way.accepts_origin((parts.hostname or "").lower(), parts.scheme, port)
