"""SPEC-CHECKLIST A1-A14 (authorization), each against the real server over real HTTP."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.server.runner import ServerRunner
from app.store.rows import IssuedTokens
from app.store.store import hash_secret
from app.store.token_rules import RETRY_WINDOW
from tests.conftest import parts_of
from tests.support.consent import answer_consent, query_of
from tests.support.oauth import REDIRECT, OAuthClient, pkce_pair

CHALLENGE_HEADER = "resource_metadata="


def expire_tokens(server: ServerRunner, token: str) -> None:
    """Move a token's expiry into the past (what an hour of waiting would do)."""
    store = parts_of(server).store
    store.db.tx(
        lambda c: c.execute(
            "UPDATE tokens SET expires_at = ? WHERE token_hash = ?", (time.time() - 1, hash_secret(token))
        )
    )


def assert_bearer_challenge(answer: httpx.Response, path: str = "/mcp") -> None:
    """401 with a WWW-Authenticate: Bearer challenge naming our resource metadata and scope."""
    assert answer.status_code == 401, answer.text
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="' in challenge and f"/.well-known/oauth-protected-resource{path}" in challenge
    assert 'scope="mcp"' in challenge


@pytest.mark.parametrize("suffix", ["", "/mcp", "/sse"])
def test_A1_protected_resource_metadata(server: ServerRunner, suffix: str) -> None:
    answer = httpx.get(f"{server.base_url}/.well-known/oauth-protected-resource{suffix}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["resource"] == f"{server.base_url}{suffix}"
    assert body["authorization_servers"] == [server.base_url]
    assert body["bearer_methods_supported"] == ["header"]
    # MCP 2025-11-25: the minimal set only; clients request whatever is listed here.
    assert body["scopes_supported"] == ["mcp"]


def test_A2_missing_garbage_expired_revoked_tokens_get_bearer_challenge(
    server: ServerRunner, client: OAuthClient
) -> None:
    assert_bearer_challenge(client.mcp(None))
    assert_bearer_challenge(client.mcp("garbage-token"))
    assert 'error="invalid_token"' in client.mcp("garbage-token").headers["www-authenticate"]
    expired = client.login()
    expire_tokens(server, expired.access_token)
    assert_bearer_challenge(client.mcp(expired.access_token))
    revoked = client.login()
    assert client.revoke(revoked.access_token).status_code == 200
    assert_bearer_challenge(client.mcp(revoked.access_token))
    live = client.login()
    assert client.mcp(live.access_token).status_code == 200  # the same request with a good token passes


def test_A3_authorization_server_metadata(server: ServerRunner) -> None:
    body = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == server.base_url
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert set(body["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert {"mcp", "offline_access", "tools:files"} <= set(body["scopes_supported"])  # every scope, here only
    for name in ("authorization", "token", "registration", "revocation"):
        assert body[f"{name}_endpoint"].startswith(server.base_url + "/")


def test_A4_pkce_s256_required_plain_and_missing_refused(client: OAuthClient) -> None:
    verifier, challenge = pkce_pair()
    for bad in ({"code_challenge_method": "plain", "code_challenge": verifier}, {"code_challenge": ""}):
        url = client.authorize_url(challenge, **bad)
        answer = client.http.get(url)
        # Client and redirect are valid, so the error goes back to the client (RFC 6749 4.1.2.1)
        assert answer.status_code == 302
        query = query_of(answer.headers["location"])
        assert query["error"] == "invalid_request" and "code" not in query
    missing = client.http.get(client.authorize_url(challenge).replace(f"&code_challenge={challenge}", ""))
    assert missing.status_code == 302 and query_of(missing.headers["location"])["error"] == "invalid_request"
    code, _right, _ = client.code()
    wrong = client.exchange(code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    none = client.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client.client_id,
            "redirect_uri": client.redirect,
        },
    )
    assert none.status_code == 400 and none.json()["error"] == "invalid_request"


def test_A5_unregistered_redirect_gets_error_page_and_no_redirect(client: OAuthClient) -> None:
    _, challenge = pkce_pair()
    for foreign in (
        "https://evil.example/cb",
        "http://127.0.0.1:33418/other",
        "http://localhost.evil.example/cb",
    ):
        answer = client.http.get(client.authorize_url(challenge, redirect_uri=foreign))
        assert answer.status_code == 400 and "location" not in answer.headers
        assert answer.headers["content-type"].startswith("text/html")
        assert "Redirect not allowed" in answer.text
    # RFC 8252 7.3: a loopback redirect may differ in port only
    other_port = client.http.get(client.authorize_url(challenge, redirect_uri="http://127.0.0.1:40001/callback"))
    assert other_port.status_code == 302 and "/consent?wait=" in other_port.headers["location"]


def test_A6_replayed_code_revokes_grant(client: OAuthClient) -> None:
    code, verifier, _ = client.code()
    first = client.exchange(code, verifier)
    assert first.status_code == 200
    pair = first.json()
    session = client.session(pair["access_token"])
    assert session
    replay = client.exchange(code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert client.mcp(pair["access_token"]).status_code == 401
    assert client.refresh(pair["refresh_token"]).json()["error"] == "invalid_grant"


def test_A6_code_lives_minutes_and_expired_code_fails(server: ServerRunner, client: OAuthClient) -> None:
    code, verifier, _ = client.code()
    store = parts_of(server).store
    row = store.load_code(code)
    assert row is not None and 0 < row.expires_at - time.time() <= 600
    store.db.tx(
        lambda c: c.execute("UPDATE codes SET expires_at = ? WHERE code_hash = ?", (time.time() - 1, hash_secret(code)))
    )
    answer = client.exchange(code, verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_A7_refresh_rotates_and_reuse_revokes_grant(server: ServerRunner, client: OAuthClient) -> None:
    first = client.login()
    rotated = client.refresh(first.refresh_token)
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != first.refresh_token and new["access_token"] != first.access_token
    assert client.mcp(new["access_token"]).status_code == 200
    # Past the retry window (the rotation moved back in time), a reuse is a replay.
    store = parts_of(server).store
    store.db.tx(lambda c: c.execute("UPDATE tokens SET rotated_at = rotated_at - ? WHERE token_hash = ?",
                                    (RETRY_WINDOW + 1, hash_secret(first.refresh_token))))
    reuse = client.refresh(first.refresh_token)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert client.mcp(new["access_token"]).status_code == 401
    assert client.refresh(new["refresh_token"]).json()["error"] == "invalid_grant"


def test_A8_token_for_another_resource_refused(server: ServerRunner, client: OAuthClient) -> None:
    store = parts_of(server).store
    # A grant bound to another audience, as if made for another server (the store allows any resource).
    pending = store.approvals.create(client_id=client.client_id, scopes=["mcp"], redirect_uri=REDIRECT,
                                   request={"resource": "https://other.example", "code_challenge": pkce_pair()[1],
                                            "redirect_explicit": True})
    store.approvals.answer(pending.approval_id, approve=True, scopes=["mcp"])
    delivery = store.approvals.deliver(pending.approval_id, 60)
    assert delivery is not None and delivery.code is not None
    issued = store.redeem_code(hash_secret(delivery.code), 60, 600)
    assert isinstance(issued, IssuedTokens)
    answer = client.mcp(issued.access_token)
    assert_bearer_challenge(answer)
    assert "another resource" in answer.json()["error_description"]
    # /authorize refuses to start a flow for another audience at all
    _, challenge = pkce_pair()
    refused = client.http.get(client.authorize_url(challenge, resource="https://other.example/mcp"))
    assert refused.status_code == 302 and query_of(refused.headers["location"])["error"] == "invalid_target"


@pytest.mark.parametrize("suffix", ["", "/", "/mcp", "/mcp/"])
def test_A8_resource_with_or_without_trailing_slash_names_us(client: OAuthClient, suffix: str) -> None:
    verifier, challenge = pkce_pair()
    final = query_of(answer_consent(client.authorize_url(challenge, resource=client.base + suffix)))
    answer = client.exchange(final["code"], verifier, resource=client.base + suffix)
    assert answer.status_code == 200
    assert client.mcp(answer.json()["access_token"]).status_code == 200


def test_A9_token_in_query_string_ignored_and_session_is_not_authentication(client: OAuthClient) -> None:
    tokens = client.login()
    in_query = client.http.post(
        f"/mcp?access_token={tokens.access_token}",
        content=b"{}",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    assert_bearer_challenge(in_query)
    session_id = client.session(tokens.access_token)
    assert_bearer_challenge(client.call_add(None, session_id))
    assert client.call_add(tokens.access_token, session_id).status_code == 200


@pytest.mark.parametrize("which", ["access", "refresh"])
def test_A10_revocation_endpoint_for_access_and_refresh_tokens(client: OAuthClient, which: str) -> None:
    tokens = client.login()
    assert client.revoke(tokens.access_token if which == "access" else tokens.refresh_token).status_code == 200
    assert_bearer_challenge(client.mcp(tokens.access_token))
    assert client.refresh(tokens.refresh_token).json()["error"] == "invalid_grant"
    # RFC 7009 2.2: an unknown token is not an error
    assert client.revoke("never-issued").status_code == 200


def test_A11_dynamic_registration_like_mcp_remote(server: ServerRunner) -> None:
    # The metadata mcp-remote 0.15 sends, scope included (its real run is in tests/e2e).
    answer = httpx.post(
        f"{server.base_url}/register",
        json={
            "redirect_uris": ["http://localhost:20761/oauth/callback"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "MCP CLI Proxy",
            "client_uri": "https://github.com/modelcontextprotocol/mcp-cli",
            "software_id": "2e6dc280-f3c3-4e01-99a7-8181dbd1d23d",
            "software_version": "0.15.1",
            "scope": "openid email profile",
        },
    )
    assert answer.status_code == 201
    info = answer.json()
    assert info["client_id"] and info["redirect_uris"] == ["http://localhost:20761/oauth/callback"]
    client = OAuthClient.__new__(OAuthClient)
    client.base, client.redirect, client.client_id = (
        server.base_url,
        "http://localhost:20761/oauth/callback",
        info["client_id"],
    )
    client.http = httpx.Client(base_url=server.base_url, timeout=20)
    try:
        verifier, challenge = pkce_pair()
        final = query_of(answer_consent(client.authorize_url(challenge, scope="openid email profile")))
        tokens = client.exchange(final["code"], verifier)
        assert tokens.status_code == 200 and tokens.json()["scope"] == "openid email profile"
        assert client.mcp(tokens.json()["access_token"]).status_code == 200
    finally:
        client.close()


def test_A12_authorization_response_carries_iss(server: ServerRunner, client: OAuthClient) -> None:
    issuer = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server").json()["issuer"]
    _, _, approved = client.code()
    _, _, denied = client.code("deny")
    assert approved["iss"] == issuer and denied["iss"] == issuer
    assert approved["state"] == "st4te" and denied["state"] == "st4te"


def test_A13_client_id_metadata_documents_supported_and_fetched_only_from_public_addresses(
    server: ServerRunner,
) -> None:
    """The full flow with a document served over https is in tests/e2e/test_cimd_flow.py."""
    meta = httpx.get(f"{server.base_url}/.well-known/oauth-authorization-server").json()
    assert meta["client_id_metadata_document_supported"] is True
    _, challenge = pkce_pair()
    for client_id, why in [
        (f"https://127.0.0.1:{server.port}/client.json", "loopback address"),  # our own port: SSRF
        ("https://169.254.169.254/latest/meta-data", "link-local address"),
        ("https://[::ffff:10.0.0.1]/client.json", "IPv4 address 10.0.0.1"),
        ("http://client.example/meta.json", "must use https"),
        ("https://client.example/meta.json#x", "fragment"),
    ]:
        answer = httpx.get(
            f"{server.base_url}/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": "https://client.example/cb",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        # Never redirected to a redirect URI nobody verified: a page saying what is wrong.
        assert answer.status_code == 400 and "location" not in answer.headers, client_id
        assert "identity cannot be checked" in answer.text and why in answer.text, answer.text[:500]
    assert parts_of(server).store.list_clients() == []


def test_A14_no_token_passthrough_tokens_bound_to_us(server: ServerRunner, client: OAuthClient) -> None:
    tokens = client.login()
    check = parts_of(server).store.check_token(tokens.access_token)
    assert check is not None and check.resource == f"{server.base_url}/mcp"
    # A token some other server issued (here: any bearer we did not mint) is never accepted.
    assert_bearer_challenge(client.mcp("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ1cHN0cmVhbSJ9.c2ln"))
    # Nothing we run sends requests upstream: no built-in tool or server module imports an HTTP client.
    repo = Path(__file__).resolve().parents[2]
    network = {"httpx", "httpx2", "requests", "aiohttp", "urllib3", "urllib.request", "http.client"}
    offenders = []
    # The one exception forwards a legacy-SSE post to the sibling worker that holds the stream, over
    # that worker's private Unix socket (serve --workers): the same server, the same audience.
    sibling_relay = repo / "app" / "server" / "sse_relay.py"
    for path in [*(repo / "app" / "tools").rglob("*.py"), *(repo / "app" / "server").rglob("*.py")]:
        if path == sibling_relay:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            offenders += [f"{path.name}: {n}" for n in names if n in network or n.split(".")[0] in network]
    assert offenders == []
    assert urlsplit(check.resource).hostname == "127.0.0.1"
