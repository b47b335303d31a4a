"""Bad input gets a clear 4xx with the right error code: never a 5xx, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app.server.guard import MAX_BODY
from app.server.runner import ServerRunner
from tests.conftest import parts_of
from tests.support.oauth import OAuthClient, pkce_pair, rpc_result


def assert_clean(answer_text: str) -> None:
    """No Python internals leak into what a client sees."""
    assert "Traceback" not in answer_text and 'File "' not in answer_text


def test_authorize_unknown_client_error_page_no_redirect(client: OAuthClient) -> None:
    _, challenge = pkce_pair()
    url = client.authorize_url(challenge).replace(client.client_id, "no-such-client")
    answer = client.http.get(url)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "Unknown app" in answer.text
    assert_clean(answer.text)
    missing = client.http.get("/authorize")
    assert missing.status_code == 400 and "location" not in missing.headers


def test_authorize_post_form_with_unregistered_redirect(client: OAuthClient) -> None:
    _, challenge = pkce_pair()
    answer = client.http.post(
        "/authorize",
        data={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": "https://evil.example/",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code == 400 and "location" not in answer.headers


def test_authorize_bad_response_type_and_scope_go_back_to_the_client(client: OAuthClient) -> None:
    _, challenge = pkce_pair()
    for extra, error in (
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "admin"}, "invalid_scope"),
    ):
        answer = client.http.get(client.authorize_url(challenge, **extra))
        assert answer.status_code == 302
        assert f"error={error}" in answer.headers["location"]
        assert answer.headers["location"].startswith(client.redirect)


def test_token_errors(client: OAuthClient) -> None:
    code, verifier, _ = client.code()
    cases = [
        (
            {"grant_type": "authorization_code", "code": "nope", "code_verifier": verifier},
            400,
            "invalid_grant",
        ),
        ({"grant_type": "password", "username": "a", "password": "b"}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "garbage"}, 400, "invalid_grant"),
        (
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": "http://127.0.0.1:33418/elsewhere",
            },
            400,
            "invalid_request",
        ),
    ]
    for data, status, error in cases:
        answer = client.http.post("/token", data={"client_id": client.client_id, **data})
        assert (answer.status_code, answer.json()["error"]) == (status, error), data
    unknown = client.http.post(
        "/token", data={"client_id": "nobody", "grant_type": "refresh_token", "refresh_token": "x"}
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    no_client = client.http.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert no_client.status_code == 401
    # the code survived the bad attempts that did not spend it
    assert client.exchange(code, verifier).status_code == 200


def test_refresh_token_of_another_client_refused(server: ServerRunner, client: OAuthClient) -> None:
    tokens = client.login()
    other = OAuthClient(server.base_url, name="Other")
    try:
        answer = other.refresh(tokens.refresh_token)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
        other.revoke(tokens.access_token)  # RFC 7009: another client's token is not revoked
    finally:
        other.close()
    assert client.mcp(tokens.access_token).status_code == 200


def test_revoke_errors(client: OAuthClient) -> None:
    assert client.http.post("/revoke", data={"client_id": client.client_id}).json()["error"] == "invalid_request"
    hint = client.http.post("/revoke", data={"client_id": client.client_id, "token": "x", "token_type_hint": "id"})
    assert hint.status_code == 400 and hint.json()["error"] == "unsupported_token_type"
    assert client.http.post("/revoke", data={"token": "x"}).status_code == 401


def test_oversized_body_413(client: OAuthClient) -> None:
    tokens = client.login()
    big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * MAX_BODY + b'"}}'
    declared = client.mcp(tokens.access_token, big)
    assert declared.status_code == 413 and declared.json()["error"] == "request_too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"a" * 65536

    streamed = client.http.post(
        "/register",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    port = int(client.base.rsplit(":", 1)[1])
    for length in (b"-1", b"abc", str(MAX_BODY + 1).encode()):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"POST /token HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %s\r\n\r\nx" % (port, length))
            status_line = raw.recv(4096).split(b"\r\n", 1)[0]
        assert status_line.split()[1] in (b"400", b"413"), status_line


@pytest.mark.parametrize(
    "body",
    [
        b"{bad json",
        b"",
        b"[]",
        b"42",
        b'{"jsonrpc":"2.0"}',
        b'{"jsonrpc":"1.0","id":1,"method":"x"}',
        b'{"jsonrpc":"2.0","id":{},"method":"tools/list"}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_json_and_json_rpc_400(client: OAuthClient, body: bytes) -> None:
    tokens = client.login()
    answer = client.mcp(tokens.access_token, body)
    assert answer.status_code == 400, answer.text
    assert_clean(answer.text)
    assert rpc_result(answer)["error"]["code"] in (-32700, -32600, -32602)


def test_unknown_method_in_session_is_json_rpc_error(client: OAuthClient) -> None:
    tokens = client.login()
    session = client.session(tokens.access_token)
    answer = client.mcp(tokens.access_token, {"jsonrpc": "2.0", "id": 9, "method": "no/such"},
                        **{"Mcp-Session-Id": session})
    assert answer.status_code == 200 and rpc_result(answer)["error"]["code"] == -32601
    bad_args = client.call_add(tokens.access_token, session, a="x", b=None)
    assert bad_args.status_code == 200 and (
        rpc_result(bad_args).get("error") or rpc_result(bad_args)["result"]["isError"]
    )


def test_unknown_session_404(client: OAuthClient) -> None:
    tokens = client.login()
    answer = client.call_add(tokens.access_token, "f" * 32)
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "metadata, error",
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://ok.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "http://127.0.0.1/cb"}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://127.0.0.1/cb"], "scope": "admin"}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["password"]}, "invalid_client_metadata"),
        ({"client_name": "no redirect"}, "invalid_client_metadata"),
    ],
)
def test_registration_bad_metadata_400(server: ServerRunner, metadata: dict[str, object], error: str) -> None:
    import httpx

    answer = httpx.post(f"{server.base_url}/register", json=metadata)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] in (error, "invalid_redirect_uri", "invalid_client_metadata")
    assert parts_of(server).store.list_clients() == []


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b"null", b"\xff\xfe", b""])
def test_registration_broken_json_400(server: ServerRunner, body: bytes) -> None:
    import httpx

    answer = httpx.post(f"{server.base_url}/register", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client_metadata"


def test_consent_bad_requests(client: OAuthClient) -> None:
    for url in (
        "/consent",
        "/consent?wait=",
        "/consent?wait=abc",
        "/consent?wait=a.b.c",
        "/consent?wait=" + "%ff" * 20,
        "/consent?wait=.",
        "/consent/status?wait=a.b",
        "/consent/status",
    ):
        answer = client.http.get(url)
        assert answer.status_code == 400 and "location" not in answer.headers, url
        assert_clean(answer.text)
    posted = client.http.post("/consent", data={"request": "x.y", "csrf_token": "z", "action": "approve"})
    assert posted.status_code == 405 and "location" not in posted.headers  # nothing on the page approves


def test_no_server_errors_recorded(server: ServerRunner, client: OAuthClient) -> None:
    test_token_errors(client)
    test_consent_bad_requests(client)
    assert parts_of(server).stats.snapshot().last_error is None
    assert parts_of(server).stats.snapshot().requests > 10


def test_token_for_another_resource_at_token_endpoint_invalid_target(client: OAuthClient) -> None:
    code, verifier, _ = client.code()
    for other in ("https://other.example/mcp", "http://127.0.0.1:1/mcp", "not a url"):
        answer = client.exchange(code, verifier, resource=other)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_target", other
    assert client.exchange(code, verifier).status_code == 200  # the code was not spent by the refusals
    tokens = client.login()
    refreshed = client.http.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": client.client_id,
            "resource": "https://other.example",
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_target"
    assert client.refresh(tokens.refresh_token).status_code == 200  # nor the refresh token
