"""RFC 8414 authorization-server and RFC 9728 protected-resource metadata, for the name the client used.

A client that was given `http://localhost:8787/sse` must see `localhost` in the metadata, and one
given `http://127.0.0.1:8787/mcp` must see `127.0.0.1`, so both documents are built per request
from the (already validated) loopback origin.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.auth.origins import current_origin
from app.auth.scopes import DEFAULT_SCOPE, SUPPORTED_SCOPES

RESOURCE_METADATA = "/.well-known/oauth-protected-resource"
SERVER_METADATA = "/.well-known/oauth-authorization-server"


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    """RFC 8414 document for `issuer` (an origin with no trailing slash)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "registration_endpoint": f"{issuer}/register",
        "revocation_endpoint": f"{issuer}/revoke",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
    }


def resource_metadata(origin: str, path: str) -> dict[str, Any]:
    """RFC 9728 document for the resource at `origin + path`.

    `scopes_supported` names only the minimal set (MCP 2025-11-25: SHOULD NOT list every scope):
    Gemini CLI and Claude Code ask for every scope listed here, and a client asking for
    `offline_access` and every tool group by default makes the owner's choice meaningless.
    The authorization server's metadata still lists them all.
    """
    return {
        "resource": origin + path,
        "authorization_servers": [origin],
        "scopes_supported": [DEFAULT_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": "MCP Tray",
    }


def resource_metadata_url(path: str) -> str:
    """Where the protected-resource metadata of `path` lives, for the WWW-Authenticate header."""
    return f"{current_origin.get()}{RESOURCE_METADATA}{path}"


_HEADERS = {"Cache-Control": "no-store"}  # it depends on the Host the client used


async def server_metadata_endpoint(request: Request) -> Response:
    """GET /.well-known/oauth-authorization-server."""
    return JSONResponse(authorization_server_metadata(current_origin.get()), headers=_HEADERS)


async def resource_metadata_endpoint(request: Request) -> Response:
    """GET /.well-known/oauth-protected-resource[/mcp|/sse]."""
    suffix = request.url.path.removeprefix(RESOURCE_METADATA)
    return JSONResponse(resource_metadata(current_origin.get(), suffix), headers=_HEADERS)
