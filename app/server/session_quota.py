"""A quota of MCP sessions per grant, so one token cannot fill the server's shared session cap.

The SDK's StreamableHTTPSessionManager holds at most 10,000 sessions for everyone together and
refuses new ones (503) once full; a single token could open them all and lock every other
client out. This ASGI layer sits between the bearer guard (which names the grant in the scope)
and the SDK's app. It remembers which sessions each grant opened, in the order they were last
used, and before a grant opens one more than `per_grant`, it ends that grant's least recently
used idle session (no request or stream open on it). The session is ended through the SDK's own
front door, a DELETE with the session id, so the SDK forgets it exactly as if the client had.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.bearer import GRANT_KEY
from app.auth.errors import oauth_error

log = logging.getLogger(__name__)

PER_GRANT = 32  # sessions one grant may hold; a client needs one or two
SESSION_HEADER = "mcp-session-id"


@dataclass
class _Session:
    opened_by: Scope  # the scope of the request that opened it, to end it the way it was opened
    busy: int = 0  # requests and streams in flight on it


class SessionQuota:
    """At most `per_grant` MCP sessions per grant; the least recently used idle one makes room."""

    def __init__(self, app: ASGIApp, per_grant: int = PER_GRANT) -> None:
        self.app = app
        self.per_grant = per_grant
        self._grants: dict[str, OrderedDict[str, _Session]] = {}
        self._lock = anyio.Lock()

    def count(self, grant_id: str) -> int:
        """How many sessions this grant holds (as far as this layer knows)."""
        return len(self._grants.get(grant_id, ()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        grant = scope.get(GRANT_KEY) if scope["type"] == "http" else None
        if not isinstance(grant, str):
            await self.app(scope, receive, send)
            return
        session_id = Headers(scope=scope).get(SESSION_HEADER)
        if session_id is None:
            await self._open(grant, scope, receive, send)
        else:
            await self._use(grant, session_id, scope, receive, send)

    async def _use(self, grant: str, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        sessions = self._grants.get(grant)
        session = sessions.get(session_id) if sessions is not None else None
        if sessions is None or session is None:
            await self.app(scope, receive, send)  # not one of this grant's: the SDK answers
            return
        sessions.move_to_end(session_id)
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        session.busy += 1
        try:
            await self.app(scope, receive, watch)
        finally:
            session.busy -= 1
        if status == 404 or (scope["method"] == "DELETE" and status < 300):
            self._forget(grant, session_id)  # ended by the client, or by the SDK's idle timeout

    async def _open(self, grant: str, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._lock:
            if not await self._make_room(grant):
                log.warning("grant %s has %d busy sessions; refusing another", grant, self.count(grant))
                answer = oauth_error("too_many_sessions",
                                     f"This connection already has {self.per_grant} sessions in use", 429,
                                     {"Retry-After": "5"})
                await answer(scope, receive, send)
                return

        async def note_session(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                opened = Headers(raw=message.get("headers", [])).get(SESSION_HEADER)
                if opened:
                    self._grants.setdefault(grant, OrderedDict())[opened] = _Session(dict(scope))
            await send(message)

        await self.app(scope, receive, note_session)

    async def _make_room(self, grant: str) -> bool:
        """End idle sessions of `grant`, oldest use first, until one more fits; False if none is idle."""
        sessions = self._grants.get(grant)
        while sessions is not None and len(sessions) >= self.per_grant:
            idle = next((sid for sid, s in sessions.items() if s.busy == 0), None)
            if idle is None:
                return False
            await self._end(idle, sessions.pop(idle))
            log.info("grant %s is at its %d sessions: ended the least recently used one", grant, self.per_grant)
        if sessions is not None and not sessions:
            del self._grants[grant]
        return True

    def _forget(self, grant: str, session_id: str) -> None:
        sessions = self._grants.get(grant)
        if sessions is not None:
            sessions.pop(session_id, None)
            if not sessions:
                del self._grants[grant]

    async def _end(self, session_id: str, session: _Session) -> None:
        """DELETE the session through the SDK, with the credentials that opened it (404 if already gone)."""
        dropped = {b"content-length", b"content-type", SESSION_HEADER.encode()}
        headers = [(k, v) for k, v in session.opened_by["headers"] if k not in dropped]
        headers.append((SESSION_HEADER.encode(), session_id.encode()))
        scope = {**session.opened_by, "method": "DELETE", "headers": headers}
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
