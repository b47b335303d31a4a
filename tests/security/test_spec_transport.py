"""SPEC-CHECKLIST T1-T6 (transports): Origin, CORS, binding, Host, protocol version, sessions, legacy SSE."""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from app.config import DEFAULT_HOST
from app.main import build_parser
from app.server.runner import ServerRunner
from tests.support.oauth import MCP_HEADERS, OAuthClient, rpc_result

LOOPBACK_PAGE = "http://localhost:6274"


def test_T1_foreign_origin_gets_403(client: OAuthClient) -> None:
    tokens = client.login()
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example", "null"):
        answer = client.mcp(tokens.access_token, Origin=origin)
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden_origin"
    # the OAuth endpoints are guarded the same way
    assert client.http.post("/token", data={}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.mcp(tokens.access_token, Origin="http://127.0.0.1:9").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/mcp",
        "/sse",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/register",
        "/token",
        "/revoke",
    ],
)
def test_T1b_loopback_origin_gets_cors_preflight(server: ServerRunner, path: str) -> None:
    answer = httpx.options(
        f"{server.base_url}{path}",
        headers={
            "Origin": LOOPBACK_PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version, mcp-session-id",
        },
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == LOOPBACK_PAGE
    allowed = answer.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "mcp-protocol-version", "mcp-session-id"):
        assert header in allowed
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "mcp-session-id" in exposed and "www-authenticate" in exposed


def test_T1b_loopback_origin_sees_exposed_headers_on_401(server: ServerRunner) -> None:
    answer = httpx.post(f"{server.base_url}/mcp", json={}, headers={"Origin": LOOPBACK_PAGE})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == LOOPBACK_PAGE
    assert "www-authenticate" in answer.headers["access-control-expose-headers"].lower()


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for UDP connect
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_T2_binds_loopback_by_default(server: ServerRunner) -> None:
    assert DEFAULT_HOST == "127.0.0.1"
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert server.base_url.startswith("http://127.0.0.1:")
    outside = _outside_address()
    if outside is not None:  # the listening socket is not reachable on another interface
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((outside, server.port)) != 0


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1:1",
        "localhost.evil.example",
        "127.0.0.1:{port}@evil.example",
        "",
    ],
)
def test_T3_rebinding_host_refused(server: ServerRunner, host: str) -> None:
    with httpx.Client() as http:
        request = http.build_request("GET", f"{server.base_url}/.well-known/oauth-authorization-server")
        request.headers["Host"] = host.format(port=server.port)
        answer = http.send(request)
    assert 400 <= answer.status_code < 500 and answer.json()["error"] == "invalid_host"


def test_T4_unsupported_protocol_version_400_missing_means_default(client: OAuthClient) -> None:
    tokens = client.login()
    session = client.session(tokens.access_token)
    bad = client.mcp(
        tokens.access_token,
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
        **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "1999-01-01"},
    )
    assert bad.status_code == 400
    missing = client.mcp(
        tokens.access_token, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, **{"Mcp-Session-Id": session}
    )
    assert missing.status_code == 200 and "add" in json.dumps(rpc_result(missing))


def test_T5_session_ids_random_visible_ascii_404_after_end_400_when_missing(client: OAuthClient) -> None:
    tokens = client.login()
    ids = {client.session(tokens.access_token) for _ in range(3)}
    assert len(ids) == 3
    for session_id in ids:
        assert re.fullmatch(r"[\x21-\x7e]{32,}", session_id)
    session_id = ids.pop()
    listing = {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}
    assert client.mcp(tokens.access_token, listing).status_code == 400  # required and missing
    ended = client.http.delete(
        "/mcp",
        headers={**MCP_HEADERS, "Authorization": f"Bearer {tokens.access_token}", "Mcp-Session-Id": session_id},
    )
    assert ended.status_code == 200
    assert client.mcp(tokens.access_token, listing, **{"Mcp-Session-Id": session_id}).status_code == 404
    assert client.mcp(tokens.access_token, listing, **{"Mcp-Session-Id": "0" * 32}).status_code == 404


def test_T6_legacy_sse_transport(client: OAuthClient) -> None:
    tokens = client.login()
    auth = {"Authorization": f"Bearer {tokens.access_token}"}
    with (
        httpx.Client(base_url=client.base, timeout=10) as http,
        http.stream("GET", "/sse", headers={**auth, "Accept": "text/event-stream"}) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()
        endpoint = next(line[5:].strip() for line in lines if line.startswith("data:"))
        assert endpoint.startswith("/messages/?session_id=")
        posted = client.http.post(
            endpoint,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2024-11-05",
                    "capabilities": {},
                    "clientInfo": {"name": "sse-test", "version": "1"},
                },
            },
            headers=auth,
        )
        assert posted.status_code == 202
        message = json.loads(next(line[5:] for line in lines if line.startswith("data:")))
        assert message["id"] == 1 and message["result"]["serverInfo"]
        # the message endpoint needs the token too: the session id is not authentication
        assert client.http.post(endpoint, json={"jsonrpc": "2.0", "method": "ping", "id": 2}).status_code == 401
