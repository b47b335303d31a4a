"""The bridge's record per server URL: account naming, the URL spellings a reset covers, robustness, no keyring."""

from __future__ import annotations

import io
from collections.abc import Iterator

import anyio
import keyring
import pytest
from keyring.backends import fail
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from app.bridge.cached_sign_in import canonical_url
from app.bridge.storage import BridgeStorage, Record, url_spellings


def test_canonical_url_ignores_case_fragment_and_trailing_slash() -> None:
    assert canonical_url("HTTP://LocalHost:8787/mcp/#x") == "http://localhost:8787/mcp"


def test_url_spellings_cover_both_loopback_names_and_both_endpoints() -> None:
    assert url_spellings("http://localhost:8787/sse") == [
        "http://127.0.0.1:8787/mcp", "http://127.0.0.1:8787/sse", "http://localhost:8787/mcp",
        "http://localhost:8787/sse"]


def test_url_spellings_leave_other_servers_alone() -> None:
    assert url_spellings("https://example.com/api/mcp") == ["https://example.com/api/mcp"]


@pytest.mark.parametrize("raw", [None, "", "not json", "[1, 2]", '{"client_info": 5, "tokens": "x"}'])
def test_unreadable_record_counts_as_empty(raw: str | None) -> None:
    assert Record.parse(raw) == Record()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def _client(client_id: str) -> OAuthClientInformationFull:
    return OAuthClientInformationFull(client_id=client_id, redirect_uris=[AnyUrl("http://127.0.0.1:5/callback")])


def test_without_keyring_keeps_everything_in_memory_and_says_so(no_keyring: None) -> None:
    err = io.StringIO()
    storage = BridgeStorage("http://127.0.0.1:1/mcp", stderr=err)
    storage.load()

    async def exercise() -> tuple[OAuthToken | None, OAuthClientInformationFull | None]:
        await storage.set_client_info(_client("abc"))
        await storage.set_tokens(OAuthToken(access_token="at", refresh_token="rt", expires_in=60))
        return await storage.get_tokens(), await storage.get_client_info()

    tokens, client = anyio.run(exercise)
    assert not storage.persistent
    assert "kept in memory only" in err.getvalue() and "nothing is written to disk" in err.getvalue()
    assert tokens is not None and tokens.refresh_token == "rt"
    assert client is not None and client.client_id == "abc"
    assert storage.redirect_uri() == "http://127.0.0.1:5/callback"
    assert storage.expires_at is not None


def test_a_new_client_id_drops_the_old_clients_tokens(no_keyring: None) -> None:
    storage = BridgeStorage("http://127.0.0.1:1/mcp", stderr=io.StringIO())
    storage.load()

    async def exercise() -> OAuthToken | None:
        await storage.set_client_info(_client("old"))
        await storage.set_tokens(OAuthToken(access_token="at", refresh_token="rt", expires_in=60))
        await storage.set_client_info(_client("old"))  # same client again: tokens stay
        assert await storage.get_tokens() is not None
        await storage.set_client_info(_client("new"))
        return await storage.get_tokens()

    assert anyio.run(exercise) is None
