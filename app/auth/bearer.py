"""Bearer-token guard for the MCP endpoints (OAuth 2.1 5.2, RFC 6750, RFC 8707 audience check).

Every request reads the store (one indexed lookup), so a token revoked by the GUI, the CLI or
another process fails on its very next request. Streams opened with a token are tracked, and a
watcher cuts them as soon as that token is revoked.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.metadata import resource_metadata_url
from app.auth.origins import ServerIdentity
from app.store.store import Store

log = logging.getLogger(__name__)


class _Tracked:
    """One request or stream: a cancel scope, and a flag that makes it see a client disconnect."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.disconnect = anyio.Event()
        self.signalled = False

    def wrap(self, receive: Receive) -> Receive:
        """`receive` that answers `http.disconnect` once this connection is cut, even while waiting."""

        async def receive_or_disconnect() -> Message:
            if self.disconnect.is_set():
                return {"type": "http.disconnect"}
            message: Message | None = None
            async with anyio.create_task_group() as tg:

                async def pump() -> None:
                    nonlocal message
                    message = await receive()
                    tg.cancel_scope.cancel()

                tg.start_soon(pump)
                await self.disconnect.wait()
                tg.cancel_scope.cancel()
            return message if message is not None else {"type": "http.disconnect"}

        return receive_or_disconnect


class LiveConnections:
    """Requests and streams in flight, by the hash of the token that opened them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, set[_Tracked]] = {}
        # Set (from any thread) when the server is about to stop: the watcher then ends every
        # stream the clean way, instead of uvicorn waiting out its grace period and cancelling.
        self.closing = threading.Event()
        self._traffic: anyio.Event | None = None  # set by the next track(): the watcher sleeps on it

    @contextmanager
    def track(self, token_hash: str) -> Iterator[_Tracked]:
        """Run a request inside a cancel scope, with a disconnect flag, that `cut` can trigger."""
        tracked = _Tracked()
        with self._lock:
            self._scopes.setdefault(token_hash, set()).add(tracked)
            traffic, self._traffic = self._traffic, None
        if traffic is not None:
            traffic.set()
        try:
            with tracked.scope:
                yield tracked
        finally:
            with self._lock:
                members = self._scopes.get(token_hash)
                if members is not None:
                    members.discard(tracked)
                    if not members:
                        del self._scopes[token_hash]

    async def until_traffic(self) -> None:
        """Return once something is in flight (at once if something is); call on the server's event loop."""
        with self._lock:
            if self._scopes:
                return
            if self._traffic is None:
                self._traffic = anyio.Event()
            traffic = self._traffic
        await traffic.wait()

    def token_hashes(self) -> list[str]:
        """Hashes of tokens with something in flight."""
        with self._lock:
            return list(self._scopes)

    def count(self) -> int:
        """How many requests and streams are open."""
        with self._lock:
            return sum(len(v) for v in self._scopes.values())

    def cut(self, token_hashes: set[str]) -> int:
        """End everything opened with these tokens (call on the server's event loop).

        First the connection sees a client disconnect, so the SDK's transports close their own
        streams (cancelling the SSE transport outright leaks its memory streams). Whatever is still
        open at the next call is cancelled.
        """
        with self._lock:
            victims = [t for h in token_hashes for t in self._scopes.get(h, ())]
        for tracked in victims:
            if tracked.signalled:
                tracked.scope.cancel()
            else:
                tracked.signalled = True
                tracked.disconnect.set()
        return len(victims)


async def watch_revocations(store: Store, live: LiveConnections, interval: float = 0.25) -> None:
    """Forever: cut the streams of tokens that were revoked (by anyone, in any process).

    With nothing in flight there is nothing to cut: it sleeps until a request comes in.
    """
    while True:
        await live.until_traffic()
        await anyio.sleep(interval)
        hashes = live.token_hashes()
        if hashes and live.closing.is_set():
            live.cut(set(hashes))
        elif hashes:
            revoked = store.revoked_among(hashes)
            if revoked:
                log.info("closing %d connection(s) of revoked token(s)", live.cut(revoked))


class BearerGuard:
    """ASGI wrapper: a valid access token for this server in the Authorization header, or 401."""

    def __init__(self, app: ASGIApp, store: Store, identity: ServerIdentity, live: LiveConnections, path: str):
        self.app = app
        self.store = store
        self.identity = identity
        self.live = live
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._refuse(send, None, "Authentication required")
            return
        check = self.store.check_token(token.strip())
        problem = None
        if check is None or check.kind != "access":
            problem = "The access token is not valid"
        elif check.revoked:
            problem = "The access token was revoked"
        elif check.expires_at <= time.time():
            problem = "The access token has expired"
        elif check.resource is not None and not self.identity.names_us(check.resource):
            problem = "The access token was issued for another resource"
        if problem is not None or check is None:
            await self._refuse(send, "invalid_token", problem or "invalid token")
            return
        self.store.touch(check)
        access = AccessToken(
            token=check.token_hash,  # the raw token is not kept past this point
            client_id=check.client_id,
            scopes=list(check.scopes),
            expires_at=int(check.expires_at),
            resource=check.resource,
        )
        user = AuthenticatedUser(access)
        scope = {**scope, "user": user, "auth": AuthCredentials(list(check.scopes))}
        context = auth_context_var.set(user)
        try:
            with self.live.track(check.token_hash) as tracked:
                await self.app(scope, tracked.wrap(receive), send)
        finally:
            auth_context_var.reset(context)

    async def _refuse(self, send: Send, error: str | None, description: str) -> None:
        parts = [f'resource_metadata="{resource_metadata_url(self.path)}"', 'scope="mcp"']
        if error:
            parts = [f'error="{error}"', f'error_description="{description}"', *parts]
        body = json.dumps({"error": error or "invalid_request", "error_description": description}).encode()
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", ("Bearer " + ", ".join(parts)).encode()),
                (b"cache-control", b"no-store"),
            ],
        })
        await send({"type": "http.response.body", "body": body})
