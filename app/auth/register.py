"""POST /register (RFC 7591, Dynamic Client Registration) through the SDK, with a clear 400 for bad JSON."""

from __future__ import annotations

import json

from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.settings import ClientRegistrationOptions
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.auth.provider import StoreProvider
from app.auth.scopes import DEFAULT_SCOPE, SUPPORTED_SCOPES


class RegisterEndpoint:
    """Registration: refuse what is not a JSON object before the SDK validates the metadata."""

    def __init__(self, provider: StoreProvider) -> None:
        options = ClientRegistrationOptions(
            enabled=True, valid_scopes=list(SUPPORTED_SCOPES), default_scopes=[DEFAULT_SCOPE]
        )
        self.sdk = RegistrationHandler(provider, options=options)

    async def handle(self, request: Request) -> Response:
        """Handle one registration."""
        body = await request.body()
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if not isinstance(parsed, dict):
            return JSONResponse(
                {"error": "invalid_client_metadata", "error_description": "the body must be a JSON object"},
                status_code=400,
            )
        return await self.sdk.handle(request)
