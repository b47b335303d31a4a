"""A small OAuth 2.1 + MCP client over plain httpx, so security tests can take each step by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support.consent import answer_consent, query_of
from tests.support.oauth import INITIALIZE, MCP_HEADERS, pkce_pair

REDIRECT = "http://127.0.0.1:33418/callback"
pkce = pkce_pair  # a fresh (verifier, S256 challenge) pair


@dataclass
class Tokens:
    """One token response."""

    access: str
    refresh: str
    raw: dict[str, Any]


def rpc_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a /mcp answer, whether sent as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message: dict[str, Any] = json.loads(line[5:])
                return message
        raise AssertionError(f"no data event in {response.text[:200]!r}")
    result: dict[str, Any] = response.json()
    return result


class OAuthClient:
    """Register, authorize, exchange, refresh, revoke and call /mcp against one server."""

    def __init__(self, base_url: str, name: str = "Security test client", redirect: str = REDIRECT) -> None:
        self.base = base_url
        self.redirect = redirect
        self.http = httpx.Client(base_url=base_url, timeout=20, follow_redirects=False)
        answer = self.http.post(
            "/register",
            json={
                "client_name": name,
                "redirect_uris": [redirect],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            },
        )
        if answer.status_code != 201:
            raise AssertionError(f"/register answered {answer.status_code}: {answer.text}")
        self.client_id: str = answer.json()["client_id"]

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def authorize_url(self, challenge: str, state: str = "st4te", **extra: str) -> str:
        """The /authorize URL a client would open in the browser."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "resource": f"{self.base}/mcp",
            **extra,
        }
        return f"{self.base}/authorize?{urlencode(params)}"

    def code(self, action: str = "approve") -> tuple[str, str, dict[str, str]]:
        """Approve (or deny) a fresh request; (code, verifier, redirect query)."""
        verifier, challenge = pkce()
        query = query_of(answer_consent(self.authorize_url(challenge), action))
        return query.get("code", ""), verifier, query

    def exchange(self, code: str, verifier: str, **extra: str) -> httpx.Response:
        """POST /token with an authorization code."""
        return self.http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "client_id": self.client_id,
                "redirect_uri": self.redirect,
                "resource": f"{self.base}/mcp",
                **extra,
            },
        )

    def login(self) -> Tokens:
        """The whole flow: consent approved, code exchanged."""
        code, verifier, _ = self.code()
        answer = self.exchange(code, verifier)
        if answer.status_code != 200:
            raise AssertionError(f"/token answered {answer.status_code}: {answer.text}")
        body = answer.json()
        return Tokens(body["access_token"], body["refresh_token"], body)

    def refresh(self, refresh_token: str) -> httpx.Response:
        """POST /token with a refresh token."""
        return self.http.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
            },
        )

    def revoke(self, token: str) -> httpx.Response:
        """POST /revoke (RFC 7009)."""
        return self.http.post("/revoke", data={"token": token, "client_id": self.client_id})

    def mcp(self, token: str | None, body: Any = INITIALIZE, **headers: str) -> httpx.Response:
        """POST /mcp with a bearer token (None: no Authorization header)."""
        sent = dict(MCP_HEADERS)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.http.post("/mcp", content=content, headers=sent)

    def session(self, token: str) -> str:
        """Initialize an MCP session and return its id ("" from a stateless server: `serve --workers`)."""
        answer = self.mcp(token)
        if answer.status_code != 200:
            raise AssertionError(f"initialize answered {answer.status_code}: {answer.text}")
        session_id = answer.headers.get("mcp-session-id", "")
        self.mcp(token, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                 **({"Mcp-Session-Id": session_id} if session_id else {}))
        return session_id

    def call_add(self, token: str, session_id: str, a: int = 2, b: int = 3) -> httpx.Response:
        """tools/call add(a, b) in a session."""
        return self.mcp(
            token,
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": a, "b": b}},
            },
            **({"Mcp-Session-Id": session_id} if session_id else {}), **{"MCP-Protocol-Version": "2025-06-18"},
        )
