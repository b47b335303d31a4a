"""Get tokens as a real client does: register (RFC 7591), authorize with PKCE, consent, exchange the code."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from tests.support.consent import answer_consent, query_of


@dataclass(frozen=True)
class Issued:
    """What a client holds after signing in."""

    client_id: str
    access_token: str
    refresh_token: str
    scope: str


def sign_in(
    base_url: str, client_name: str, scope: str = "mcp", redirect_uri: str = "http://127.0.0.1:33418/callback"
) -> Issued:
    """Register `client_name`, approve it on the consent page, and return its tokens."""
    with httpx.Client(base_url=base_url, timeout=15) as http:
        reg = http.post(
            "/register",
            json={
                "client_name": client_name,
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
        )
        reg.raise_for_status()
        client_id = reg.json()["client_id"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(8)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": state,
                "scope": scope,
                "resource": f"{base_url}/mcp",
            }
        )
        answer = query_of(answer_consent(f"{base_url}/authorize?{query}", "approve"))
        if answer.get("state") != state or "code" not in answer:
            raise AssertionError(f"unexpected authorization answer: {answer}")
        token = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": f"{base_url}/mcp",
            },
        )
        token.raise_for_status()
        body = token.json()
        return Issued(client_id, body["access_token"], body["refresh_token"], body.get("scope", scope))


def mcp_status(base_url: str, access_token: str) -> int:
    """HTTP status of an MCP initialize request made with this token (200 when it is accepted)."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"},
        },
    }
    headers = {
        "Authorization": f"Bearer {access_token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    with httpx.Client(timeout=15) as http:
        return http.post(f"{base_url}/mcp", json=body, headers=headers).status_code
