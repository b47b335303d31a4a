"""A client known by its Client ID Metadata Document signs in end to end, and broken documents are refused.

The document is served by a real https server (`tests/support/cimd_server.py`) whose certificate
comes from a CA made for this test. The server under test runs in its test-only mode that may
fetch from loopback and trusts that CA (`MCP_TRAY_CIMD_ALLOW_PRIVATE=1`,
`MCP_TRAY_CIMD_EXTRA_CA`); one test runs it without that mode and is refused.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl

from app.auth.cimd_fetch import ALLOW_PRIVATE_ENV, EXTRA_CA_ENV
from app.auth.client_identity import describe_client
from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.conftest import parts_of, start_runner
from tests.e2e.test_mcp_remote import _add_via_mcp_remote
from tests.support.cimd_server import DocumentServer, Route, TestCA, document_for
from tests.support.clients import mcp_remote_env
from tests.support.consent import answer_consent, query_of
from tests.support.memory_storage import MemoryStorage
from tests.support.oauth import authorize_url, call_add, exchange, pkce_pair, refresh
from tests.support.serve import REPO, app_command

pytestmark = pytest.mark.e2e

REDIRECT = "http://127.0.0.1:33418/callback"


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path)


@pytest.fixture
def docs(ca: TestCA) -> Iterator[DocumentServer]:
    with DocumentServer(*ca.issue("localhost", "127.0.0.1")) as server:
        yield server


@pytest.fixture
def test_mode_server(data_dir: Path, ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerRunner]:
    """The server under test in its test-only mode: loopback documents allowed, the test CA trusted."""
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    monkeypatch.setenv(EXTRA_CA_ENV, str(ca.pem))
    runner = start_runner(data_dir)
    yield runner
    runner.close()


def _serve_document(docs: DocumentServer, path: str = "/client.json", **doc: Any) -> str:
    url = docs.url(path)
    docs.routes[path] = Route.document(document_for(url, redirect=REDIRECT, **doc))
    return url


def _sdk_client(server_url: str, client_metadata_url: str, storage: MemoryStorage) -> OAuthClientProvider:
    """The MCP SDK's OAuth client, set up to use its metadata-document URL instead of registering."""
    final: dict[str, str] = {}

    async def redirect_handler(url: str) -> None:
        final.update(query_of(await anyio.to_thread.run_sync(answer_consent, url)))

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=final["code"], state=final.get("state"), iss=final.get("iss"))

    metadata = OAuthClientMetadata(client_name="CIMD Test Client", redirect_uris=[AnyUrl(REDIRECT)],
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                                   token_endpoint_auth_method="none")
    return OAuthClientProvider(server_url, metadata, storage, redirect_handler, callback_handler,
                               client_metadata_url=client_metadata_url)


@pytest.mark.anyio
async def test_sdk_client_signs_in_with_its_document_url_and_shows_as_verified(
    test_mode_server: ServerRunner, docs: DocumentServer, data_dir: Path
) -> None:
    server = test_mode_server
    url = _serve_document(docs)
    meta = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server").json()
    assert meta["client_id_metadata_document_supported"] is True

    storage = MemoryStorage()
    async with httpx2.AsyncClient(auth=_sdk_client(server.mcp_url, url, storage), timeout=30) as http, \
            streamable_http_client(server.mcp_url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("add", {"a": 2, "b": 3})
        assert float(text_of(result)) == 5

    store = parts_of(server).store
    # No registration happened: the only client is the document URL, and it is verified.
    (client,) = store.list_clients()
    assert client.client_id == url and client.verified and client.client_name == "CIMD Test Client"
    assert not [e for e in store.recent_events() if e.kind == "registered" and "metadata document" not in e.detail]
    assert storage.client is not None and storage.client.client_id == url
    assert docs.requests["/client.json"] >= 1
    who = describe_client(url, store.client_info(url) or {})
    assert who.verified and who.label == f"verified: localhost:{docs.port}"
    assert who.warning is not None  # its only redirect is on this computer

    listed = subprocess.run(app_command("clients", "list", "--data-dir", str(data_dir)), cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if "CIMD Test Client" in x)
    assert f"verified: localhost:{docs.port}" in line and url in line
    as_json = json.loads(subprocess.run(app_command("clients", "list", "--json", "--data-dir", str(data_dir)),
                                        cwd=REPO, capture_output=True, text=True, timeout=30).stdout)
    assert [(g["client_ids"], g["verified"]) for g in as_json] == [([url], True)]


@pytest.mark.anyio
async def test_mcp_remote_signs_in_with_client_metadata_url(
    test_mode_server: ServerRunner, docs: DocumentServer, tmp_path: Path
) -> None:
    """mcp-remote from npm, unmodified, with `--client-metadata-url`: no /register, a verified client."""
    url = docs.url("/mcp-remote.json")
    docs.routes["/mcp-remote.json"] = Route.document(
        document_for(url, name="mcp-remote via CIMD", redirect="http://localhost:3334/oauth/callback"))
    env = mcp_remote_env(tmp_path, tmp_path / "browser.log")
    tools, text = await _add_via_mcp_remote(test_mode_server.mcp_url, env, ["--client-metadata-url", url])
    assert "add" in tools and text == "5"
    store = parts_of(test_mode_server).store
    (client,) = store.list_clients()
    assert client.client_id == url and client.verified and client.client_name == "mcp-remote via CIMD"
    assert {t.client_id for t in store.list_tokens()} == {url}


def test_refresh_and_revoke_as_a_document_client(test_mode_server: ServerRunner, docs: DocumentServer) -> None:
    base = test_mode_server.base_url
    url = _serve_document(docs)
    verifier, challenge = pkce_pair()
    code = query_of(answer_consent(authorize_url(base, url, challenge, redirect=REDIRECT)))["code"]
    tokens = exchange(base, url, code, verifier, redirect=REDIRECT)
    assert tokens.status_code == 200, tokens.text
    rotated = refresh(base, url, tokens.json()["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    access = rotated.json()["access_token"]
    assert anyio.run(call_add, base, access) == 5
    revoked = httpx.post(f"{base}/revoke", data={"token": access, "client_id": url})
    assert revoked.status_code == 200
    assert httpx.post(f"{base}/mcp", json={}, headers={"Authorization": f"Bearer {access}"}).status_code == 401


def test_a_changed_document_updates_the_stored_client(test_mode_server: ServerRunner, docs: DocumentServer) -> None:
    """`no-store`: every use fetches the document again, and the row follows it."""
    base = test_mode_server.base_url
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route.document(document_for(url, name="Before", redirect=REDIRECT), "no-store")
    _, challenge = pkce_pair()
    page = authorize_url(base, url, challenge, redirect=REDIRECT)
    assert httpx.get(page).status_code == 302
    assert docs.requests["/client.json"] == 1  # fetched once per request, though two parts asked for it
    store = parts_of(test_mode_server).store
    assert (store.client_info(url) or {}).get("client_name") == "Before"
    docs.routes["/client.json"] = Route.document(document_for(url, name="After", redirect=REDIRECT), "no-store")
    assert httpx.get(page).status_code == 302
    assert (store.client_info(url) or {}).get("client_name") == "After"
    assert [c.client_name for c in store.list_clients()] == ["After"]


def _refused_page(base: str, client_id: str) -> httpx.Response:
    _, challenge = pkce_pair()
    answer = httpx.get(authorize_url(base, client_id, challenge, redirect=REDIRECT))
    assert answer.status_code == 400 and "location" not in answer.headers, answer.text[:300]
    assert "identity cannot be checked" in answer.text
    return answer


def test_document_with_another_client_id_is_refused(test_mode_server: ServerRunner, docs: DocumentServer) -> None:
    base = test_mode_server.base_url
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route.document(document_for("https://claude.ai/oauth/client.json",
                                                              redirect=REDIRECT))
    page = _refused_page(base, url)
    assert "client_id must be exactly" in page.text and "claude.ai" in page.text
    token = exchange(base, url, "any-code", "v" * 43, redirect=REDIRECT)
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert "client_id must be exactly" in token.json()["error_description"]
    revoke = httpx.post(f"{base}/revoke", data={"token": "x", "client_id": url})
    assert revoke.status_code == 401 and revoke.json()["error"] == "invalid_client"
    assert parts_of(test_mode_server).store.list_clients() == []


def test_redirect_uri_not_in_the_document_is_refused(test_mode_server: ServerRunner, docs: DocumentServer) -> None:
    url = _serve_document(docs)
    _, challenge = pkce_pair()
    answer = httpx.get(authorize_url(test_mode_server.base_url, url, challenge, redirect="https://evil.example/cb"))
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "Redirect not allowed" in answer.text


def test_http_client_id_is_refused(test_mode_server: ServerRunner, docs: DocumentServer) -> None:
    page = _refused_page(test_mode_server.base_url, f"http://localhost:{docs.port}/client.json")
    assert "must use https" in page.text
    assert sum(docs.requests.values()) == 0


def test_loopback_document_refused_without_the_test_mode(
    data_dir: Path, docs: DocumentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    url = _serve_document(docs)
    runner = start_runner(data_dir)
    try:
        for client_id in (url, docs.url("/client.json", host="127.0.0.1")):
            page = _refused_page(runner.base_url, client_id)
            assert "loopback address" in page.text and "only from public internet addresses" in page.text
        token = exchange(runner.base_url, url, "any-code", "v" * 43, redirect=REDIRECT)
        assert token.status_code == 401 and "loopback address" in token.json()["error_description"]
        assert sum(docs.requests.values()) == 0  # not one request reached the document server
        assert parts_of(runner).store.list_clients() == []
    finally:
        runner.close()
