"""GET/POST /authorize (OAuth 2.1 4.1.1): our checks first, then the MCP SDK's handler.

The SDK answers an unknown client or an unregistered redirect URI with JSON; a person in a
browser gets a readable page from us instead, and is never sent to an unregistered URI. A
client_id that is an https URL is fetched as a Client ID Metadata Document; when it cannot be
used, the page says what is wrong with it (nothing is redirected to its unverified redirect URIs).
"""

from __future__ import annotations

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.shared.auth import InvalidRedirectUriError
from pydantic import AnyUrl, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from app.auth.pages import message_page
from app.auth.provider import StoreProvider, one_lookup_per_request
from app.store.store import Store


class AuthorizeEndpoint:
    """Show an error page for requests that cannot be redirected; hand the rest to the SDK."""

    def __init__(self, provider: StoreProvider, store: Store) -> None:
        self.provider = provider
        self.store = store
        self.sdk = AuthorizationHandler(provider)

    async def handle(self, request: Request) -> Response:
        """Handle one authorization request."""
        with one_lookup_per_request():
            return await self._handle(request)

    async def _handle(self, request: Request) -> Response:
        params = request.query_params if request.method == "GET" else await request.form()
        client_id = params.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            return message_page("Missing client", "The link has no client_id; start again from your app.",
                                status=400)
        problem = await self.provider.document_problem(client_id)
        if problem is not None:
            self.store.log_event("bad client document", None, f"{client_id[:200]}: {problem.message}")
            return message_page(
                "This app's identity cannot be checked",
                f"The app says it is described by the document at {client_id[:200]}, but MCP Tray cannot "
                f"use it: {problem.message} Nothing was sent to the app. Tell the app's makers, or "
                "connect it another way.",
                status=400,
            )
        client = await self.provider.get_client(client_id)
        if client is None:
            self.store.log_event("unknown client", None, f"/authorize for unknown client_id {client_id[:64]}")
            return message_page("Unknown app", "This app is not registered with this server (or was removed). "
                                "Start connecting from your app again so it can register.", status=400)
        raw_redirect = params.get("redirect_uri")
        try:
            redirect = AnyUrl(raw_redirect) if isinstance(raw_redirect, str) else None
            client.validate_redirect_uri(redirect)
        except (ValidationError, ValueError, InvalidRedirectUriError) as exc:
            self.store.log_event("bad redirect", client_id, str(raw_redirect)[:200])
            detail = getattr(exc, "message", None) or "The redirect URI is not one this app registered."
            return message_page("Redirect not allowed", str(detail), status=400)
        return await self.sdk.handle(request)
