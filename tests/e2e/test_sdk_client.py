"""The mcp SDK's own OAuth client completes the whole flow against the real server, over /mcp and /sse."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientMetadata,
)
from pydantic import AnyUrl

from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.conftest import parts_of
from tests.support.consent import answer_consent, query_of
from tests.support.memory_storage import MemoryStorage

pytestmark = pytest.mark.e2e




def oauth_for(url: str, storage: MemoryStorage,
              browser: Callable[[str], str] = answer_consent) -> OAuthClientProvider:
    """An SDK OAuth client whose 'browser' opens the waiting page; by default the owner approves with the CLI."""
    final: dict[str, str] = {}

    async def redirect_handler(authorization_url: str) -> None:
        final.update(query_of(await anyio.to_thread.run_sync(browser, authorization_url)))

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=final["code"], state=final.get("state"), iss=final.get("iss"))

    metadata = OAuthClientMetadata(
        client_name="SDK test client",
        redirect_uris=[AnyUrl("http://127.0.0.1:33418/callback")],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(url, metadata, storage, redirect_handler, callback_handler)


async def _call_add(session: ClientSession) -> float:
    await session.initialize()
    tools = await session.list_tools()
    assert "add" in [t.name for t in tools.tools]
    result = await session.call_tool("add", {"a": 2, "b": 3})
    assert not result.is_error
    return float(text_of(result))


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_sdk_client_streamable_http(server: ServerRunner, host: str) -> None:
    url = f"http://{host}:{server.port}/mcp"
    storage = MemoryStorage()
    async with httpx2.AsyncClient(auth=oauth_for(url, storage), timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            assert await _call_add(session) == 5
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert [t.client_name for t in parts_of(server).store.list_tokens()] == ["SDK test client"] * 2


@pytest.mark.anyio
async def test_sdk_client_sse(server: ServerRunner) -> None:
    url = f"http://localhost:{server.port}/sse"
    storage = MemoryStorage()
    async with sse_client(url, auth=oauth_for(url, storage)) as (read, write), ClientSession(read, write) as session:
        assert await _call_add(session) == 5
