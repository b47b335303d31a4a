"""A hosted stack for the tests: `serve --workers N` on a fresh PostgreSQL database, real Caddy in front.

Caddy runs packaging/remote/Caddyfile (`tls internal`, `skip_install_trust`) with the supervisor's
one port as its only upstream: the workers share that socket, so Caddy needs no load-balancing
policy and no affinity (app/server/hosting.py says why none is needed). The server logs JSON
(`--log-format json`): each request line names the worker's pid, which is how the tests see that
requests were spread over the workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl

from app.store.db import URL_ENV
from bench.support.hosted import HostedServe, hosted_env
from bench.support.mcp_session import text_of
from tests.remote.proxies import Caddy
from tests.support import owner
from tests.support.consent import answer_consent, query_of
from tests.support.memory_storage import MemoryStorage
from tests.support.postgres import Cluster
from tests.support.serve import free_port


@dataclass
class Stack:
    """Caddy in front of the workers, the database they share, and the data dir of their settings."""

    caddy: Caddy
    serve: HostedServe
    data_dir: Path
    database: str
    env: dict[str, str]

    @property
    def public_url(self) -> str:
        """https://mcp.example.test:PORT (resolved to loopback for the test's clients only)."""
        return self.caddy.public_url


def start_stack(cluster: Cluster, tmp: Path, workers: int, **extra_env: str) -> Stack:
    """A fresh database, `serve --workers N` on it, Caddy in front; the owner's CLI answers for it."""
    database = cluster.new_database()
    data_dir = tmp / "data"
    data_dir.mkdir(mode=0o700)
    port = free_port()
    caddy = Caddy(tmp / "caddy", port)
    env = hosted_env(database, **extra_env)
    try:
        serve = HostedServe(data_dir, env, caddy.public_url, workers, port)
    except BaseException:
        caddy.stop()
        raise
    owner.remember(int(urlsplit(caddy.public_url).port or 443), data_dir)
    owner.remember(port, data_dir)
    return Stack(caddy, serve, data_dir, database, env)


def owner_on(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> None:
    """The in-process owner CLI (approvals) and Store() in this test use the stack's database."""
    monkeypatch.setenv(URL_ENV, stack.database)


async def sdk_sign_in_and_add(url: str, name: str) -> str:
    """The MCP SDK's own OAuth client against `url` (the owner approves), then add(2, 3)."""
    final: dict[str, str] = {}

    async def redirect_handler(authorization_url: str) -> None:
        final.update(query_of(await anyio.to_thread.run_sync(answer_consent, authorization_url)))

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=final["code"], state=final.get("state"), iss=final.get("iss"))

    metadata = OAuthClientMetadata(client_name=name, token_endpoint_auth_method="none",
                                   redirect_uris=[AnyUrl("http://127.0.0.1:33418/callback")],
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"])
    auth = OAuthClientProvider(url, metadata, MemoryStorage(), redirect_handler, callback_handler)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("add", {"a": 2, "b": 3})
        return text_of(result)


def call_add(base: str, access_token: str, client: httpx.Client | None = None) -> httpx.Response:
    """One stateless tools/call add(2, 3) on base/mcp (no initialize: the server keeps no session)."""
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "Authorization": f"Bearer {access_token}", "MCP-Protocol-Version": "2025-06-18"}
    http = client or httpx.Client(timeout=15)
    try:
        return http.post(f"{base}/mcp", json=body, headers=headers)
    finally:
        if client is None:
            http.close()


@dataclass
class SseStream:
    """An open GET /sse: its client, response, line iterator (kept, or the stream closes) and endpoint."""

    http: httpx.Client
    response: httpx.Response
    lines: Iterator[str]
    endpoint: str

    @property
    def worker(self) -> str:
        """`w0`, `w1`...: the worker holding the stream, as its endpoint says."""
        return self.endpoint.split("/")[2]

    def ended(self) -> bool:
        """Read until the stream ends (True), or False if it sends a message event instead."""
        try:
            for line in self.lines:
                if line.startswith("event: message"):
                    return False
        except (httpx.ReadError, httpx.RemoteProtocolError):
            return True
        return True

    def close(self) -> None:
        """Close the response and the client."""
        self.response.close()
        self.http.close()


def sse_stream(base: str, access_token: str, timeout: float = 15) -> SseStream:
    """Open GET /sse and read up to its endpoint event."""
    http = httpx.Client(timeout=httpx.Timeout(timeout, read=60))
    request = http.build_request("GET", f"{base}/sse", headers={"Authorization": f"Bearer {access_token}",
                                                                "Accept": "text/event-stream"})
    response = http.send(request, stream=True)
    assert response.status_code == 200, response.read()
    lines = response.iter_lines()
    for line in lines:
        if line.startswith("data: "):
            return SseStream(http, response, lines, line[len("data: "):])
    raise AssertionError("the SSE stream ended before its endpoint event")


def streams_on_every_worker(base: str, access_token: str, workers: int, most: int = 40) -> list[SseStream]:
    """Open SSE streams until every worker holds at least one (the kernel picks who accepts each)."""
    opened: list[SseStream] = []
    while len({s.worker for s in opened}) < workers and len(opened) < most:
        opened.append(sse_stream(base, access_token))
    if len({s.worker for s in opened}) < workers:
        for stream in opened:
            stream.close()
        raise AssertionError(f"{most} streams, all on {sorted({s.worker for s in opened})}")
    return opened
