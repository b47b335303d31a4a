"""POST /token (OAuth 2.1 4.1.3, 4.3) through the SDK, refusing a `resource` that is not this server (RFC 8707).

The SDK's handler accepts the `resource` parameter but never hands it to the provider, so a
client asking for a token for another audience got one for us and never learned its mistake.
RFC 8707 2.2 says such a request gets `invalid_target`. A client_id that is a metadata-document
URL whose document cannot be used gets `invalid_client` saying why (the SDK would only say
"Invalid client_id").
"""

from __future__ import annotations

from mcp.server.auth.handlers.token import TokenHandler
from starlette.requests import Request
from starlette.responses import Response

from app.auth.errors import oauth_error
from app.auth.origins import ServerIdentity, way_for
from app.auth.provider import StoreProvider, one_lookup_per_request

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenEndpoint:
    """Check the resource indicator, then let the SDK's handler do the grant."""

    def __init__(self, sdk: TokenHandler, identity: ServerIdentity, provider: StoreProvider) -> None:
        self.sdk = sdk
        self.identity = identity
        self.provider = provider

    async def handle(self, request: Request) -> Response:
        """Handle one token request."""
        with one_lookup_per_request():
            return await self._handle(request)

    async def _handle(self, request: Request) -> Response:
        form = await request.form()  # cached on the request: the SDK reads the same form
        resources = form.getlist("resource")
        way = way_for(self.identity)
        if any(not isinstance(r, str) or not way.names_us(r) for r in resources):
            return oauth_error("invalid_target", "resource must name this server", 400, _NO_STORE)
        problem = await self.provider.document_problem(form.get("client_id"))
        if problem is not None:
            return oauth_error("invalid_client", problem.message, 401, _NO_STORE)
        answer: Response = await self.sdk.handle(request)
        return answer
