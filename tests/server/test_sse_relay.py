"""RelayEntry: only a request on the worker's private socket is taken as relayed (and marked so)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from starlette.types import Message, Receive, Scope, Send

from app.server.sse_relay import RAW_CLIENT, RELAY_HEADER, RELAYED, RelayEntry

ORIGIN = json.dumps({"client": ["203.0.113.7", 4242], "server": ["127.0.0.1", 8000]}).encode()


def _through(entry_socket: Path, scope: dict[str, Any]) -> tuple[Scope | None, list[Message]]:
    seen: list[Scope] = []
    sent: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(RelayEntry(inner, entry_socket), scope, receive, send)
    return (seen[0] if seen else None), sent


def _scope(client: tuple[str, int] | None, server: tuple[str, int | None], header: bytes | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000")] + ([(RELAY_HEADER, header)] if header is not None else [])
    return {"type": "http", "method": "POST", "path": "/messages/w0/", "headers": headers,
            "client": client, "server": server, "query_string": b""}


def test_a_claim_to_be_relayed_over_tcp_is_dropped(tmp_path: Path) -> None:
    sock = tmp_path / "w0.sock"
    scope, _ = _through(sock, _scope(("127.0.0.1", 5555), ("127.0.0.1", 8000), ORIGIN))
    assert scope is not None
    assert RELAYED not in scope
    assert scope["client"] == ("127.0.0.1", 5555)
    assert all(k != RELAY_HEADER for k, _ in scope["headers"])


def test_a_post_on_the_private_socket_is_marked_relayed_with_its_first_addresses(tmp_path: Path) -> None:
    sock = tmp_path / "w0.sock"
    scope, _ = _through(sock, _scope(None, (str(sock), None), ORIGIN))
    assert scope is not None
    assert scope[RELAYED] is True
    assert scope["client"] == ("203.0.113.7", 4242) and scope["server"] == ("127.0.0.1", 8000)
    assert scope[RAW_CLIENT] == {"client": ("203.0.113.7", 4242), "server": ("127.0.0.1", 8000)}


def test_the_private_socket_without_the_header_is_not_relayed(tmp_path: Path) -> None:
    sock = tmp_path / "w0.sock"
    scope, _ = _through(sock, _scope(None, (str(sock), None), None))
    assert scope is not None and RELAYED not in scope


def test_a_malformed_relay_header_is_a_400(tmp_path: Path) -> None:
    sock = tmp_path / "w0.sock"
    scope, sent = _through(sock, _scope(None, (str(sock), None), b"{not json"))
    assert scope is None
    assert sent[0]["status"] == 400
