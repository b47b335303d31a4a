"""POST /revoke (RFC 7009, OAuth 2.0 Token Revocation) for public and confidential clients.

The SDK's handler requires a `client_secret` form field even from a public client (`none` auth,
which every MCP client registers as), so such a client got 400 and its token lived on. This
endpoint uses the SDK's client authentication and our provider, and asks only for what RFC 7009
asks: `token`, an optional `token_type_hint`, and the client's credentials.
"""

from __future__ import annotations

from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from starlette.requests import Request
from starlette.responses import Response

from app.auth.errors import oauth_error
from app.auth.provider import StoredAccessToken, StoredRefreshToken, StoreProvider, one_lookup_per_request

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(status: int, error: str, description: str) -> Response:
    return oauth_error(error, description, status, _NO_STORE)


class RevokeEndpoint:
    """Revoke an access or refresh token of the calling client (and with it, its whole grant)."""

    def __init__(self, provider: StoreProvider, authenticator: ClientAuthenticator) -> None:
        self.provider = provider
        self.authenticator = authenticator

    async def handle(self, request: Request) -> Response:
        """Handle one revocation request."""
        with one_lookup_per_request():
            return await self._handle(request)

    async def _handle(self, request: Request) -> Response:
        problem = await self.provider.document_problem((await request.form()).get("client_id"))
        if problem is not None:
            return _error(401, "invalid_client", problem.message)
        try:
            client = await self.authenticator.authenticate_request(request)
        except AuthenticationError as exc:
            return _error(401, "invalid_client", exc.message)
        form = await request.form()
        token, hint = form.get("token"), form.get("token_type_hint")
        if not isinstance(token, str) or not token:
            return _error(400, "invalid_request", "the token parameter is required")
        if hint is not None and hint not in ("access_token", "refresh_token"):
            return _error(
                400, "unsupported_token_type", "token_type_hint must be access_token or refresh_token"
            )
        found: StoredAccessToken | StoredRefreshToken | None = await self.provider.load_access_token(token)
        if found is None:
            found = await self.provider.load_refresh_token(client, token)
        # RFC 7009 2.2: an unknown, expired or foreign token is answered 200 all the same, so the
        # endpoint tells a caller nothing about tokens that are not its own.
        if found is not None and found.client_id == client.client_id:
            await self.provider.revoke_token(found)
        return Response(status_code=200, headers=_NO_STORE)
