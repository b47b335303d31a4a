"""Forward every JSON-RPC message both ways between the local client (stdio) and the remote server.

Requests, responses and notifications pass through unchanged in both directions. The pump adds
only what HTTP needs and stdio has no place for: the MCP-Protocol-Version (and, for per-request
envelopes, Mcp-Method / Mcp-Name) headers, taken from the messages themselves. When the server
side drops (an SSE stream cut after a revocation, for example) the pump reconnects, replays the
client's `initialize` to open a new session, and answers requests that were lost with an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import anyio
from mcp.client._transport import TransportStreams
from mcp.shared.inbound import (
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    NAME_BEARING_METHODS,
    encode_header_value,
)
from mcp.shared.message import ClientMessageMetadata, SessionMessage
from mcp_types import (
    CONNECTION_CLOSED,
    PROTOCOL_VERSION_META_KEY,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
)

log = logging.getLogger(__name__)

REPLAY_ID = "mcp-tray-bridge-replay"


class Outcome(Enum):
    """Why one upstream session ended."""

    CLIENT_CLOSED = "the client closed stdin"
    SERVER_CLOSED = "the server closed the connection"
    FALLBACK = "the server does not speak streamable HTTP"
    SESSION_LOST = "the server no longer knows the session"


def headers_for(message: Any, negotiated: str | None) -> dict[str, str]:
    """The MCP HTTP headers this message needs on the streamable-HTTP transport."""
    headers: dict[str, str] = {}
    if isinstance(message, JSONRPCRequest):
        params = message.params if isinstance(message.params, dict) else {}
        meta = params.get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get(PROTOCOL_VERSION_META_KEY), str):
            # A per-request envelope (2026 protocol): the headers must mirror the body.
            headers[MCP_PROTOCOL_VERSION_HEADER] = meta[PROTOCOL_VERSION_META_KEY]
            headers[MCP_METHOD_HEADER] = message.method
            name_key = NAME_BEARING_METHODS.get(message.method)
            if name_key is not None and isinstance(params.get(name_key), str):
                headers[MCP_NAME_HEADER] = encode_header_value(params[name_key])
            return headers
        if message.method == "initialize":
            return headers
    if negotiated:
        headers[MCP_PROTOCOL_VERSION_HEADER] = negotiated
    return headers


@dataclass
class Pump:
    """The state shared by every upstream session of one bridge run."""

    client_read: Any  # stdio read stream: SessionMessage | Exception
    client_write: Any  # stdio write stream: SessionMessage
    initialize: SessionMessage | None = None
    initialized: SessionMessage | None = None
    negotiated: str | None = None
    answered_initialize: bool = False
    pending: dict[RequestId, SessionMessage] = field(default_factory=dict)
    resend: list[SessionMessage] = field(default_factory=list)
    fallback_possible: bool = False
    statuses: Any = None  # transport.PostStatuses, consulted for the streamable-HTTP fallback
    delivered: int = 0  # messages from the server forwarded in this session
    _replayed: anyio.Event | None = None

    async def session(self, upstream: TransportStreams, replay: bool) -> Outcome:
        """Forward until the client or the server side ends, or a fallback is needed."""
        up_read, up_write = upstream
        self.delivered = 0
        self._replayed = anyio.Event()
        outcome: list[Outcome] = []
        async with anyio.create_task_group() as tg:

            async def finish(result: Outcome) -> None:
                outcome.append(result)
                tg.cancel_scope.cancel()

            async def downstream() -> None:
                async for item in up_read:
                    if isinstance(item, Exception):
                        log.warning("unreadable message from the server: %s", item)
                        continue
                    ended = await self._from_server(item)
                    if ended is not None:
                        await finish(ended)
                        return
                await finish(Outcome.SERVER_CLOSED)

            async def upstream_writer() -> None:
                if replay:
                    await self._replay(up_write)
                for message in self.resend:
                    await up_write.send(self._stamped(message))
                self.resend = []
                async for item in self.client_read:
                    if isinstance(item, Exception):
                        log.warning("ignoring an unreadable message from the client: %s", item)
                        continue
                    self._note_from_client(item)
                    # Kept until sent, so a reconnect in between does not lose it.
                    self.resend = [item]
                    await up_write.send(self._stamped(item))
                    self.resend = []
                await finish(Outcome.CLIENT_CLOSED)

            tg.start_soon(downstream)
            tg.start_soon(upstream_writer)
        return outcome[0] if outcome else Outcome.SERVER_CLOSED

    def _stamped(self, message: SessionMessage) -> SessionMessage:
        headers = headers_for(message.message, self.negotiated)
        return SessionMessage(message.message, metadata=ClientMessageMetadata(headers=headers or None))

    def _note_from_client(self, item: SessionMessage) -> None:
        message = item.message
        if isinstance(message, JSONRPCRequest):
            self.pending[message.id] = item
            if message.method == "initialize":
                self.initialize = item
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/initialized":
            self.initialized = item

    async def _from_server(self, item: SessionMessage) -> Outcome | None:
        """Forward one server message; an Outcome when it shows this session must end instead."""
        message = item.message
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            if message.id == REPLAY_ID:
                self._note_version(message)
                if self._replayed is not None:
                    self._replayed.set()
                return None
            request = self.pending.pop(message.id, None)
            method = request.message.method if request is not None and isinstance(request.message, JSONRPCRequest) \
                else None
            if method == "initialize":
                if (isinstance(message, JSONRPCError) and not self.answered_initialize and self.fallback_possible
                        and self.statuses is not None and self.statuses.says_no_streamable_http()):
                    if request is not None:
                        self.pending[message.id] = request
                    self.resend = [self.initialize] if self.initialize is not None else []
                    return Outcome.FALLBACK
                self._note_version(message)
                self.answered_initialize = True
            elif (request is not None and isinstance(message, JSONRPCError) and self.answered_initialize
                  and self.statuses is not None and self.statuses.seen[-1:] == [404]):
                # Streamable HTTP answers 404 for a session the server dropped (restart, or a new
                # client after re-registration): the request was not carried out, so send it again
                # in a new session instead of failing it.
                self.pending[message.id] = request
                return Outcome.SESSION_LOST
        self.delivered += 1
        await self.client_write.send(SessionMessage(message))
        return None

    def _note_version(self, message: JSONRPCResponse | JSONRPCError) -> None:
        if isinstance(message, JSONRPCResponse) and isinstance(message.result, dict):
            version = message.result.get("protocolVersion")
            if isinstance(version, str):
                self.negotiated = version

    async def _replay(self, up_write: Any) -> None:
        """Open a fresh server session for a client that already initialized (its answer is dropped)."""
        if self.initialize is None or not isinstance(self.initialize.message, JSONRPCRequest):
            return
        original = self.initialize.message
        again = JSONRPCRequest(jsonrpc="2.0", id=REPLAY_ID, method=original.method, params=original.params)
        await up_write.send(SessionMessage(again))
        if self._replayed is not None:
            await self._replayed.wait()  # the session id comes with the answer; the notification needs it
        if self.initialized is not None:
            await up_write.send(self._stamped(self.initialized))

    def requeue_pending(self) -> None:
        """After the server side dropped: send the unanswered requests again on the next connection.

        A dropped SSE session takes its server-side session with it, so what was sent there was
        not carried out (or its answer cannot arrive); the client would otherwise see an error for
        a request it made just as its token was revoked.
        """
        unsent = self.resend
        self.resend = [m for m in self.pending.values() if self.answered_initialize or m is self.initialize]
        self.resend += [m for m in unsent if m not in self.resend]

    async def fail_pending(self, why: str) -> None:
        """Answer every request still waiting for the server with an error, so the client does not hang."""
        for request_id in list(self.pending):
            error = ErrorData(code=CONNECTION_CLOSED, message=f"mcp-tray bridge: {why}")
            try:
                await self.client_write.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=request_id, error=error)))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            del self.pending[request_id]
