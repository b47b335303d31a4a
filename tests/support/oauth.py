"""The OAuth flow by hand with httpx: register, authorize, consent, token. For tests that need tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tests.support.consent import answer_consent, query_of

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the test reads the code from the redirect


@dataclass
class Tokens:
    """What a client holds after the flow."""

    client_id: str
    access_token: str
    refresh_token: str
    scope: str


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def register(base: str, name: str = "test client", redirect: str = REDIRECT, **extra: object) -> str:
    """Register a public client; returns its client_id."""
    body = {"client_name": name, "redirect_uris": [redirect], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], **extra}
    response = httpx.post(f"{base}/register", json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["client_id"])


def authorize_url(base: str, client_id: str, challenge: str, state: str = "st", redirect: str = REDIRECT,
                  **extra: str) -> str:
    """The /authorize URL a client would open in the browser."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
              "code_challenge": challenge, "code_challenge_method": "S256", "state": state, **extra}
    return f"{base}/authorize?{urlencode(params)}"


def exchange(base: str, client_id: str, code: str, verifier: str, redirect: str = REDIRECT) -> httpx.Response:
    """POST /token for an authorization code."""
    return httpx.post(f"{base}/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": client_id, "redirect_uri": redirect}, timeout=10)


def refresh(base: str, client_id: str, refresh_token: str) -> httpx.Response:
    """POST /token for a refresh."""
    return httpx.post(f"{base}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}, timeout=10)


def obtain_tokens(base: str, name: str = "test client", *, data_dir: Path | None = None,
                  **authorize_extra: str) -> Tokens:
    """Run the whole flow (the owner approves with the CLI on `data_dir`, default: the server's); the tokens."""
    client_id = register(base, name)
    verifier, challenge = pkce_pair()
    redirect = answer_consent(authorize_url(base, client_id, challenge, **authorize_extra), data_dir=data_dir)
    response = exchange(base, client_id, query_of(redirect)["code"], verifier)
    response.raise_for_status()
    body = response.json()
    return Tokens(client_id, body["access_token"], body["refresh_token"], body.get("scope", ""))


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def mcp_initialize(base: str, access_token: str | None) -> httpx.Response:
    """POST an MCP initialize to /mcp with this bearer token (or none)."""
    headers = dict(MCP_HEADERS)
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    return httpx.post(f"{base}/mcp", json=INITIALIZE, headers=headers, timeout=10)
