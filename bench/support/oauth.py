"""The OAuth 2.1 driver over plain httpx: register, authorize, consent, token, refresh, revoke, then /mcp.

One set of steps for every caller: the functions take the server's base URL (and an optional
httpx.Client to reuse); `OAuthClient` binds them to one registered client for tests that take each
step by hand; `obtain_tokens` / `sign_in` run the whole flow, the owner approving through the
real CLI; `run_flow` starts from nothing but the MCP URL (discovery, RFC 9728 and RFC 8414) and
ends with the SDK client calling add(2, 3), for servers in another process such as the bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx

from bench.support.consent import answer_consent, query_of
from bench.support.mcp_session import mcp_session, text_of

REDIRECT = "http://127.0.0.1:33418/callback"  # never contacted: the driver reads the code from the redirect
INITIALIZE: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class Tokens:
    """What a client holds after the flow (`raw`: the whole token response)."""

    client_id: str
    access_token: str
    refresh_token: str
    scope: str
    raw: dict[str, Any] = field(default_factory=dict)


class FlowError(RuntimeError):
    """A step of `run_flow` got an answer it should not have."""


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _post(http: httpx.Client | None, url: str, **kwargs: Any) -> httpx.Response:
    if http is None:
        return httpx.post(url, timeout=10, **kwargs)
    return http.post(url, **kwargs)


def register(base: str, name: str = "test client", redirect: str = REDIRECT, *, http: httpx.Client | None = None,
             **extra: object) -> str:
    """Register a public client; returns its client_id (raises unless the server answers 201)."""
    body = {"client_name": name, "redirect_uris": [redirect], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], **extra}
    response = _post(http, f"{base}/register", json=body)
    if response.status_code != 201:
        raise AssertionError(f"/register answered {response.status_code}: {response.text[:300]}")
    return str(response.json()["client_id"])


def authorize_url(base: str, client_id: str, challenge: str, state: str = "st", redirect: str = REDIRECT,
                  **extra: str) -> str:
    """The /authorize URL a client would open in the browser."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
              "code_challenge": challenge, "code_challenge_method": "S256", "state": state, **extra}
    return f"{base}/authorize?{urlencode(params)}"


def exchange(base: str, client_id: str, code: str, verifier: str, redirect: str = REDIRECT, *,
             http: httpx.Client | None = None, **extra: str) -> httpx.Response:
    """POST /token for an authorization code (`extra`: more form fields, e.g. resource)."""
    return _post(http, f"{base}/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": client_id, "redirect_uri": redirect, **extra})


def refresh(base: str, client_id: str, refresh_token: str, *, http: httpx.Client | None = None,
            **extra: str) -> httpx.Response:
    """POST /token for a refresh."""
    return _post(http, f"{base}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra})


def tokens_of(client_id: str, response: httpx.Response) -> Tokens:
    """The tokens of a 200 token response (raises with the answer otherwise)."""
    if response.status_code != 200:
        raise AssertionError(f"/token answered {response.status_code}: {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return Tokens(client_id, body["access_token"], body.get("refresh_token", ""), body.get("scope", ""), body)


def obtain_tokens(base: str, name: str = "test client", *, data_dir: Path | None = None,
                  **authorize_extra: str) -> Tokens:
    """Run the whole flow (the owner approves with the CLI on `data_dir`, default: the server's); the tokens."""
    client_id = register(base, name)
    verifier, challenge = pkce_pair()
    redirect = answer_consent(authorize_url(base, client_id, challenge, **authorize_extra), data_dir=data_dir)
    return tokens_of(client_id, exchange(base, client_id, query_of(redirect)["code"], verifier))


def sign_in(base_url: str, client_name: str, scope: str = "mcp", data_dir: Path | None = None) -> Tokens:
    """Register `client_name` for base_url/mcp, approve it as the owner (CLI on `data_dir`); its tokens."""
    return obtain_tokens(base_url, client_name, data_dir=data_dir, scope=scope, resource=f"{base_url}/mcp")


def mcp_initialize(base: str, access_token: str | None) -> httpx.Response:
    """POST an MCP initialize to /mcp with this bearer token (or none)."""
    headers = dict(MCP_HEADERS)
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    return httpx.post(f"{base}/mcp", json=INITIALIZE, headers=headers, timeout=10)


def mcp_status(base_url: str, access_token: str) -> int:
    """HTTP status of an MCP initialize request made with this token (200 when it is accepted)."""
    return mcp_initialize(base_url, access_token).status_code


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
    """One registered client against one server, each step by hand (the security tests, the soak)."""

    def __init__(self, base_url: str, name: str = "Security test client", redirect: str = REDIRECT) -> None:
        self.base = base_url
        self.redirect = redirect
        self.http = httpx.Client(base_url=base_url, timeout=20, follow_redirects=False)
        self.client_id = register(base_url, name, redirect, http=self.http)

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def authorize_url(self, challenge: str, state: str = "st4te", **extra: str) -> str:
        """The /authorize URL for this client, with the resource indicator for base/mcp."""
        return authorize_url(self.base, self.client_id, challenge, state, self.redirect,
                             **{"resource": f"{self.base}/mcp", **extra})

    def code(self, action: str = "approve") -> tuple[str, str, dict[str, str]]:
        """Approve (or deny) a fresh request; (code, verifier, redirect query)."""
        verifier, challenge = pkce_pair()
        query = query_of(answer_consent(self.authorize_url(challenge), action))
        return query.get("code", ""), verifier, query

    def exchange(self, code: str, verifier: str, **extra: str) -> httpx.Response:
        """POST /token with an authorization code, for base/mcp."""
        return exchange(self.base, self.client_id, code, verifier, self.redirect, http=self.http,
                        **{"resource": f"{self.base}/mcp", **extra})

    def login(self) -> Tokens:
        """The whole flow: consent approved, code exchanged."""
        code, verifier, _ = self.code()
        return tokens_of(self.client_id, self.exchange(code, verifier))

    def refresh(self, refresh_token: str) -> httpx.Response:
        """POST /token with a refresh token."""
        return refresh(self.base, self.client_id, refresh_token, http=self.http)

    def revoke(self, token: str) -> httpx.Response:
        """POST /revoke (RFC 7009)."""
        return self.http.post("/revoke", data={"token": token, "client_id": self.client_id})

    def mcp(self, token: str | None, body: object = INITIALIZE, **headers: str) -> httpx.Response:
        """POST /mcp with a bearer token (None: no Authorization header); bytes are sent as they are."""
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
        return str(session_id)

    def call_add(self, token: str | None, session_id: str, a: object = 2, b: object = 3) -> httpx.Response:
        """tools/call add(a, b) in a session (any JSON values, to send bad ones too)."""
        return self.mcp(
            token,
            {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
             "params": {"name": "add", "arguments": {"a": a, "b": b}}},
            **({"Mcp-Session-Id": session_id} if session_id else {}), **{"MCP-Protocol-Version": "2025-06-18"},
        )


async def call_add(base_url: str, access_token: str, a: float = 2, b: float = 3) -> float:
    """tools/call add on base_url/mcp with a bearer token (the SDK client over streamable HTTP)."""
    async with mcp_session(base_url, access_token) as (session, _):
        result = await session.call_tool("add", {"a": a, "b": b})
        if result.is_error:
            raise FlowError(f"tools/call add failed: {result.content}")
        return float(text_of(result))


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise FlowError(f"{step}: expected HTTP {status}, got {response.status_code}: {response.text[:300]}")
    return response


def discover(base_url: str, http: httpx.Client) -> tuple[str, str]:
    """From a 401 on base/mcp to the issuer and the resource (RFC 9728, RFC 8414); checks the endpoints."""
    unauthorized = _expect(http.post(f"{base_url}/mcp", json={}), 401, "POST /mcp without a token")
    if "resource_metadata=" not in unauthorized.headers.get("www-authenticate", ""):
        raise FlowError("401 without a resource_metadata pointer in WWW-Authenticate")
    resource = _expect(http.get(f"{base_url}/.well-known/oauth-protected-resource/mcp"), 200,
                       "protected-resource metadata").json()
    issuer = str(resource["authorization_servers"][0])
    server = _expect(http.get(f"{issuer}/.well-known/oauth-authorization-server"), 200,
                     "authorization-server metadata").json()
    if "S256" not in server["code_challenge_methods_supported"]:
        raise FlowError("the server does not offer PKCE S256")
    for key, path in (("registration_endpoint", "/register"), ("authorization_endpoint", "/authorize"),
                      ("token_endpoint", "/token")):
        if server[key] != f"{issuer}{path}":
            raise FlowError(f"{key} is {server[key]}, not {issuer}{path}")
    return issuer, str(resource["resource"])


@dataclass(frozen=True)
class FlowResult:
    """What `run_flow` obtained."""

    client_id: str
    access_token: str
    refresh_token: str
    add_result: float


def run_flow(base_url: str, client_name: str = "bundle smoke test") -> FlowResult:
    """Discover, register, authorize with PKCE, approve as the owner, exchange with the resource, call add(2, 3).

    Each step raises FlowError saying which step answered what.
    """
    with httpx.Client(timeout=15) as http:
        issuer, resource = discover(base_url, http)
        try:
            client_id = register(issuer, client_name, http=http)
        except AssertionError as exc:
            raise FlowError(f"POST /register: {exc}") from exc
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        try:
            redirect = query_of(answer_consent(authorize_url(issuer, client_id, challenge, state, resource=resource)))
        except AssertionError as exc:  # answer_consent reports an unexpected page this way
            raise FlowError(f"authorization and consent: {exc}") from exc
        if redirect.get("state") != state or "code" not in redirect:
            raise FlowError(f"consent redirect without the code or with another state: {redirect}")
        token = _expect(exchange(issuer, client_id, redirect["code"], verifier, http=http, resource=resource),
                        200, "POST /token").json()
    result = anyio.run(call_add, base_url, token["access_token"])
    return FlowResult(client_id, token["access_token"], token.get("refresh_token", ""), result)
