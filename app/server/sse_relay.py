"""Legacy SSE across workers: a POST for another worker's stream is passed to it over a private socket.

The SSE transport keeps each stream (`GET /sse`) in the worker that accepted it, and the client
posts its messages to the endpoint URL the stream announced. With several workers that URL names
the worker (`/messages/w2/?session_id=...`, app/server/hosting.py), but the kernel gives the POST's
connection to any worker. So:

- `MessagesRelay` (on /messages): a POST naming this worker goes to the SDK as usual; one naming
  another worker is sent, unchanged, to that worker's Unix socket (in a 0700 directory the
  supervisor made), and its answer (202, 404...) is the answer. Nothing is checked here: the owner
  checks the token, the Host and the session exactly as if the POST had come to it directly.
- `RelayEntry` (outermost): on that Unix socket, the peer and server addresses the POST first came
  from are put back into the scope (the `RELAY_HEADER` says them), so the owner's guard decides the
  way in (loopback or public through a trusted proxy) from the same facts, and marks it `RELAYED`:
  the first worker's guard already took it from the per-address rate limit, so the owner's guard
  does not take it again (every other check runs as usual). On the TCP socket the header is
  removed: no client can claim to be relayed (the socket's directory is 0700, the supervisor's).

If the owner is gone (killed, restarting), its streams went with it: the answer is the SDK's own
404 "Could not find session", and the client reconnects.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.server.hosting import Hosting

log = logging.getLogger(__name__)

RELAY_HEADER = b"x-mcp-tray-relayed-from"
RAW_CLIENT = "mcp_tray.raw_client"  # the transport's peer and server, before any layer rewrote them
RELAYED = "mcp_tray.relayed"  # in the scope of a request another worker passed on over the private socket
_WORKER_PATH = re.compile(r"(?:/messages)?/w(\d+)/?")
_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"upgrade", b"te",
               b"proxy-connection", RELAY_HEADER}
MAX_RELAYED_BODY = 4 * 1024 * 1024


class RelayEntry:
    """Outermost layer: restore the addresses of relayed requests; strip the relay header from others."""

    def __init__(self, app: ASGIApp, socket_path: Path | None) -> None:
        self.app = app
        self.socket_path = str(socket_path)  # uvicorn names a Unix socket's server (path, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        relayed = next((v for k, v in scope["headers"] if k == RELAY_HEADER), None)
        headers = [(k, v) for k, v in scope["headers"] if k != RELAY_HEADER]
        server = scope.get("server")
        on_unix_socket = scope.get("client") is None and server is not None and tuple(server) == (
            self.socket_path, None)
        scope = {**scope, "headers": headers}
        if relayed is not None and on_unix_socket:
            try:
                origin = json.loads(relayed)
                scope["client"] = (str(origin["client"][0]), int(origin["client"][1]))
                scope["server"] = (str(origin["server"][0]), int(origin["server"][1]))
            except (ValueError, KeyError, TypeError, IndexError):
                await Response("bad relay header", status_code=400)(scope, receive, send)
                return
            scope[RELAYED] = True
        scope[RAW_CLIENT] = {"client": scope.get("client"), "server": scope.get("server")}
        await self.app(scope, receive, send)


class MessagesRelay:
    """The /messages endpoint with several workers: serve this worker's posts, relay the others'."""

    def __init__(self, app: ASGIApp, hosting: Hosting) -> None:
        self.app = app
        self.hosting = hosting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _WORKER_PATH.fullmatch(scope.get("path", ""))
        owner = int(match.group(1)) if match else self.hosting.index
        target = self.hosting.relay_socket(owner) if 0 <= owner < self.hosting.workers else None
        if scope["type"] != "http" or owner == self.hosting.index or target is None:
            await self.app(scope, receive, send)
            return
        import httpx  # only servers with several workers relay; the others start without it (~20 ms, 1.6 MiB)

        body = await _body(receive)
        if body is None:
            await Response("request too large", status_code=413)(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP_BY_HOP]
        headers.append((RELAY_HEADER, json.dumps(scope.get(RAW_CLIENT, {})).encode()))
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"http://relay{scope.get('path', '')}" + (f"?{query}" if query else "")
        try:
            async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(target)), timeout=30) as client:
                answer = await client.request(scope["method"], url, headers=headers, content=body)
        except httpx.TransportError as exc:
            log.info("worker %d does not answer on its relay socket (%s): its streams are gone", owner, exc)
            await Response("Could not find session", status_code=404)(scope, receive, send)
            return
        kept = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
                if k.encode("latin-1") not in _HOP_BY_HOP]
        await _answer(send, answer.status_code, kept, answer.content)


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_RELAYED_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    start: dict[str, Any] = {"type": "http.response.start", "status": status,
                             "headers": [*headers, (b"content-length", str(len(body)).encode())]}
    await send(start)
    await send({"type": "http.response.body", "body": body})
