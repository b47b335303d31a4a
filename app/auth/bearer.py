"""Bearer-token guard for the MCP endpoints (OAuth 2.1 5.2, RFC 6750, RFC 8707 audience check).

Every request reads the store (one indexed lookup), so a token revoked by the GUI, the CLI or
another process fails on its very next request. Streams opened with a token are tracked, and a
watcher cuts them as soon as that token is revoked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.caller import CallerToken
from app.auth.errors import oauth_error
from app.auth.metadata import resource_metadata_url
from app.auth.origins import ServerIdentity, WayIn, way_for
from app.server.guard import drain
from app.server.ratelimit import Limit, RateLimiter, too_many
from app.store.kinds import EventKind
from app.store.quick import BusyError
from app.store.rows import TokenCheck
from app.store.store import Store
from app.store.token_rules import Reason, Refused
from app.wording import plural

log = logging.getLogger(__name__)

GRANT_KEY = "mcp_tray.grant_id"  # the ASGI scope key naming the grant of the request's token
REMOTE_LOG = Limit(1, 1 / 60)  # an activity-log line per remote client at most once a minute


class _Tracked:
    """One request or stream: a cancel scope, and a flag that makes it see a client disconnect."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.cut_off = False
        self.signalled = False
        self._receiving: set[anyio.CancelScope] = set()
        self.open_body = False  # a response started and its last body part not sent yet

    def disconnect(self) -> None:
        """From now on, and in any `receive` waiting now, the client has gone (call on the event loop)."""
        self.cut_off = True
        for waiting in list(self._receiving):
            waiting.cancel()

    def wrap_send(self, send: Send) -> Send:
        """`send` that remembers whether an event stream's response is still open (a cut may end it mid-way)."""

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Only an event stream may end early as a finished response: its events are whole.
                # A cut JSON answer must stay visibly broken, or it would read as a complete 200.
                types = [v for k, v in message.get("headers", ()) if k.lower() == b"content-type"]
                self.open_body = any(t.startswith(b"text/event-stream") for t in types)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                self.open_body = False
            await send(message)

        return tracking_send

    async def finish(self, send: Send) -> None:
        """After a cut: end a stream's response properly, so the server logs no half-sent response."""
        if self.open_body and self.cut_off:
            self.open_body = False
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def wrap(self, receive: Receive) -> Receive:
        """`receive` that answers `http.disconnect` once this connection is cut, even while waiting."""

        async def receive_or_disconnect() -> Message:
            if self.cut_off:
                return {"type": "http.disconnect"}
            # A cancel scope per wait, not a task: every request waits here at least twice.
            with anyio.CancelScope() as waiting:
                self._receiving.add(waiting)
                try:
                    return await receive()
                finally:
                    self._receiving.discard(waiting)
            return {"type": "http.disconnect"}  # cut while waiting

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
                tracked.disconnect()
        return len(victims)


async def watch_revocations(store: Store, live: LiveConnections, interval: float = 0.25,
                            look: bool = True) -> None:
    """Forever: cut the streams of tokens that were revoked (by anyone, in any process), and all on stop.

    With nothing in flight there is nothing to cut: it sleeps until a request comes in. `look=False`
    (PostgreSQL, where app/server/revocation_listener.py is told of revocations) only ends streams
    when the server stops.
    """
    while True:
        await live.until_traffic()
        await anyio.sleep(interval)
        hashes = live.token_hashes()
        if hashes and live.closing.is_set():
            live.cut(set(hashes))
        elif hashes and look:
            try:
                revoked = store.revoked_among(hashes, wait=False)
            except BusyError:
                continue  # the next round looks again; the loop never waits for a lock
            if revoked:
                log.info("closing %s of revoked tokens", plural(live.cut(revoked), "connection"))


def _audience_problem(way: WayIn, resource: str | None) -> str | None:
    """RFC 8707 audience check against the way in: a public-URL token is refused on loopback, and back.

    A token with no resource predates binding; it is accepted on loopback only.
    """
    if resource is None and not way.remote:
        return None
    if way.names_us(resource):
        return None
    if way.remote and resource is not None and way.identity.names_us(resource):
        return "The access token was issued for this computer's local address; sign in through the public URL"
    if not way.remote and way.public is not None and way.public.names_us(resource):
        return "The access token was issued for the public URL; local clients sign in on loopback"
    return "The access token was issued for another resource"


# What a client is told about a refused access token (WRONG_RESOURCE says which audience it was for).
_PROBLEMS = {
    Reason.UNKNOWN: "The access token is not valid",
    Reason.REVOKED: "The access token was revoked",
    Reason.EXPIRED: "The access token has expired",
}

# Given a POST body and the caller, the scopes for an insufficient_scope challenge, or None.
Challenge = Callable[[bytes, CallerToken], "str | None"]


def _replay_disconnect(message: Message) -> Receive:
    """A `receive` that reports how the client left (to whoever reads next)."""

    async def gone() -> Message:
        return message

    return gone


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it on again before the rest."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", _replay_disconnect(message)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


class BearerGuard:
    """ASGI wrapper: a valid access token for this server in the Authorization header, or 401.

    With `challenge`, a POST whose call needs a scope the token lacks gets 403 insufficient_scope.
    """
    def __init__(self, app: ASGIApp, store: Store, identity: ServerIdentity, live: LiveConnections, path: str,
                 limiter: RateLimiter | None = None, challenge: Challenge | None = None):
        self.app = app
        self.store = store
        self.identity = identity
        self.live = live
        self.path = path
        self.limiter = limiter or RateLimiter()
        self.challenge = challenge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._refuse(scope, receive, send, None, "Authentication required")
            return
        way = way_for(self.identity)
        check = await self._check(token.strip(), way)
        if isinstance(check, Refused):
            await self._refuse(scope, receive, send, "invalid_token", _PROBLEMS.get(check.reason, check.detail))
            return
        if way.remote and not await self._remote_allowed(scope, receive, send, check.client_id, way):
            return
        self.store.touch(check)
        access = CallerToken(
            token=check.token_hash,  # the raw token is not kept past this point
            client_id=check.client_id,
            grant_id=check.grant_id,
            token_id=check.token_id,
            scopes=list(check.scopes),
            expires_at=int(check.expires_at),
            resource=check.resource,
        )
        if self.challenge is not None and scope.get("method") == "POST":
            body, receive = await read_body(receive)
            needed = self.challenge(body, access)
            if needed is not None:
                await self._forbid(scope, receive, send, needed)
                return
        user = AuthenticatedUser(access)
        scope = {**scope, "user": user, "auth": AuthCredentials(list(check.scopes)), GRANT_KEY: check.grant_id}
        context = auth_context_var.set(user)
        try:
            with self.live.track(check.token_hash) as tracked:
                await self.app(scope, tracked.wrap(receive), tracked.wrap_send(send))
            if scope.get("method") == "GET":  # a long-lived stream (/sse, /mcp's GET), never a call's answer
                await tracked.finish(send)  # a revoked stream ends as a finished response, not an error
        finally:
            auth_context_var.reset(context)

    async def _remote_allowed(self, scope: Scope, receive: Receive, send: Send, client_id: str, way: WayIn) -> bool:
        """Per-remote-client rate limit, and a line in the activity log (at most one a minute per client)."""
        limits = self.limiter.limits
        if limits.enabled:
            wait = self.limiter.take("remote-client", client_id, limits.remote_per_client)
            if wait:
                await drain(scope, receive)
                await too_many(wait, "requests from this remote client")(scope, receive, send)
                return False
        if self.limiter.take("remote-log", client_id, REMOTE_LOG) == 0.0:
            detail = f"{scope.get('method', '')} {self.path} through {way.origin} from {way.client_address}"
            self.store.later.event(EventKind.REMOTE_REQUEST, client_id, detail)  # written off the event loop
        return True

    async def _check(self, token: str, way: WayIn) -> TokenCheck | Refused:
        """The store's access-token rule, read on the loop without ever waiting for a lock.

        A read that would have to wait (rare in WAL mode) is repeated on a worker thread, so a
        process holding the database's lock delays this request only, never the others.
        """
        def audience(resource: str | None) -> str | None:
            return _audience_problem(way, resource)

        try:
            return self.store.check_access(token, audience, wait=False)
        except BusyError:
            return await anyio.to_thread.run_sync(self.store.check_access, token, audience)

    async def _forbid(self, scope: Scope, receive: Receive, send: Send, scopes: str) -> None:
        """403 insufficient_scope (RFC 6750 3.1, MCP 2025-11-25 step-up): the scopes the call needs."""
        description = "This call needs a permission this sign-in does not have; the owner can add it in MCP Tray"
        parts = ['error="insufficient_scope"', f'scope="{scopes}"',
                 f'resource_metadata="{resource_metadata_url(self.path)}"', f'error_description="{description}"']
        answer = oauth_error("insufficient_scope", description, 403, {"WWW-Authenticate": "Bearer " + ", ".join(parts)},
                             scope=scopes)
        await answer(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: str | None, description: str) -> None:
        """401 with the challenge that points the client at the resource metadata (RFC 9728)."""
        await drain(scope, receive)
        parts = [f'resource_metadata="{resource_metadata_url(self.path)}"', 'scope="mcp"']
        if error:
            parts = [f'error="{error}"', f'error_description="{description}"', *parts]
        answer = oauth_error(error or "invalid_request", description, 401,
                             {"WWW-Authenticate": "Bearer " + ", ".join(parts)})
        await answer(scope, receive, send)
