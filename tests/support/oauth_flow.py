"""The whole OAuth 2.1 flow step by step over plain HTTP, then tools/call add, against any running server.

Used where the server is another process (the frozen bundle): discovery (RFC 9728, RFC 8414),
registration (RFC 7591), authorization with PKCE S256, the consent form as a browser submits it,
the token exchange with the resource indicator (RFC 8707), then the MCP SDK client calling add(2, 3).
Each step raises FlowError saying which step answered what.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import anyio
import httpx
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.consent import answer_consent, query_of
from tests.support.oauth import pkce_pair

REDIRECT_URI = "http://127.0.0.1:33418/callback"


class FlowError(RuntimeError):
    """A step of the flow got an answer it should not have."""


@dataclass(frozen=True)
class FlowResult:
    """What the flow obtained."""

    client_id: str
    access_token: str
    refresh_token: str
    add_result: float


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise FlowError(f"{step}: expected HTTP {status}, got {response.status_code}: {response.text[:300]}")
    return response


async def call_add(mcp_url: str, access_token: str, a: float = 2, b: float = 3) -> float:
    """tools/call add over streamable HTTP with a bearer token (the SDK client)."""
    headers = {"Authorization": f"Bearer {access_token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(mcp_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("add", {"a": a, "b": b})
        if result.is_error:
            raise FlowError(f"tools/call add failed: {result.content}")
        return float(result.content[0].text)  # type: ignore[union-attr]


def run_flow(base_url: str, client_name: str = "bundle smoke test") -> FlowResult:
    """Register, authorize, approve consent, exchange the code, then call add(2, 3) on base_url/mcp."""
    mcp_url = f"{base_url}/mcp"
    with httpx.Client(timeout=15) as http:
        unauthorized = _expect(http.post(mcp_url, json={}), 401, "POST /mcp without a token")
        if "resource_metadata=" not in unauthorized.headers.get("www-authenticate", ""):
            raise FlowError("401 without a resource_metadata pointer in WWW-Authenticate")
        resource = _expect(
            http.get(f"{base_url}/.well-known/oauth-protected-resource/mcp"),
            200,
            "protected-resource metadata",
        ).json()
        issuer = resource["authorization_servers"][0]
        server = _expect(
            http.get(f"{issuer}/.well-known/oauth-authorization-server"), 200, "authorization-server metadata"
        ).json()
        if "S256" not in server["code_challenge_methods_supported"]:
            raise FlowError("the server does not offer PKCE S256")
        client = _expect(
            http.post(
                server["registration_endpoint"],
                json={
                    "client_name": client_name,
                    "redirect_uris": [REDIRECT_URI],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                },
            ),
            201,
            "POST /register",
        ).json()
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        authorize_url = (
            server["authorization_endpoint"]
            + "?"
            + urlencode(
                {
                    "response_type": "code",
                    "client_id": client["client_id"],
                    "redirect_uri": REDIRECT_URI,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    "state": state,
                    "resource": resource["resource"],
                }
            )
        )
        try:
            redirect = query_of(answer_consent(authorize_url, "approve"))
        except AssertionError as exc:  # answer_consent reports an unexpected page this way
            raise FlowError(f"authorization and consent: {exc}") from exc
        if redirect.get("state") != state or "code" not in redirect:
            raise FlowError(f"consent redirect without the code or with another state: {redirect}")
        tokens = _expect(
            http.post(
                server["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": redirect["code"],
                    "redirect_uri": REDIRECT_URI,
                    "client_id": client["client_id"],
                    "code_verifier": verifier,
                    "resource": resource["resource"],
                },
            ),
            200,
            "POST /token",
        ).json()
    result = anyio.run(call_add, mcp_url, tokens["access_token"])
    return FlowResult(client["client_id"], tokens["access_token"], tokens.get("refresh_token", ""), result)
