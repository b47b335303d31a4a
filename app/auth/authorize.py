"""GET/POST /authorize (OAuth 2.1 4.1.1): our checks first, then the MCP SDK's handler.

The SDK answers an unknown client or an unregistered redirect URI with JSON; a person in a
browser gets a readable page from us instead, and is never sent to an unregistered URI. A
client_id that is an https URL is fetched as a Client ID Metadata Document; when it cannot be
used, the page says what is wrong with it (nothing is redirected to its unverified redirect URIs).

Anyone may register a client with any https redirect, so an error the SDK would send back to
such a redirect (invalid_scope, say) would make this server an open redirector (RFC 9700
4.11.2): a link to our /authorize that lands on the attacker's site. For a client that was never
approved, an error bound for an https redirect off this machine shows our page instead. Loopback
redirects (native apps waiting on this machine) still get their error, as RFC 6749 4.1.2.1 asks.
The activity rows these refusals write are rate limited, so a flood cannot bury real ones.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.shared.auth import InvalidRedirectUriError
from pydantic import AnyUrl, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from app.auth.origins import LOOPBACK_HOSTS
from app.auth.pages import message_page
from app.auth.provider import StoreProvider, one_lookup_per_request
from app.server.ratelimit import RateLimiter
from app.store.kinds import EventKind
from app.store.store import Store


def external_error_redirect(response: Response) -> tuple[str, str, str] | None:
    """(host, error, description) when `response` sends the browser to an https site off this
    machine with an OAuth error, else None."""
    if response.status_code not in (302, 303):
        return None
    target = urlsplit(response.headers.get("location", ""))
    if target.scheme != "https" or (target.hostname or "") in LOOPBACK_HOSTS:
        return None
    query = parse_qs(target.query)
    if "error" not in query:
        return None
    return target.hostname or "", query["error"][0], query.get("error_description", [""])[0]


class AuthorizeEndpoint:
    """Show an error page for requests that cannot be redirected; hand the rest to the SDK."""

    def __init__(self, provider: StoreProvider, store: Store, limiter: RateLimiter | None = None) -> None:
        self.provider = provider
        self.store = store
        self.limiter = limiter or RateLimiter()
        self.sdk = AuthorizationHandler(provider)

    def _note(self, kind: EventKind, client_id: str | None, detail: str) -> None:
        """An activity row, unless this kind of refusal has been written too often lately."""
        limits = self.limiter.limits
        if not limits.enabled or not self.limiter.take("activity", kind, limits.authorize_activity):
            self.store.log_event(kind, client_id, detail)

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
            self._note(EventKind.BAD_CLIENT_DOCUMENT, None, f"{client_id[:200]}: {problem.message}")
            return message_page(
                "This app's identity cannot be checked",
                f"The app says it is described by the document at {client_id[:200]}, but MCP Tray cannot "
                f"use it: {problem.message} Nothing was sent to the app. Tell the app's makers, or "
                "connect it another way.",
                status=400,
            )
        client = await self.provider.get_client(client_id)
        if client is None:
            self._note(EventKind.UNKNOWN_CLIENT, None, f"/authorize for unknown client_id {client_id[:64]}")
            return message_page("Unknown app", "This app is not registered with this server (or was removed). "
                                "Start connecting from your app again so it can register.", status=400)
        raw_redirect = params.get("redirect_uri")
        try:
            redirect = AnyUrl(raw_redirect) if isinstance(raw_redirect, str) else None
            client.validate_redirect_uri(redirect)
        except (ValidationError, ValueError, InvalidRedirectUriError) as exc:
            self._note(EventKind.BAD_REDIRECT, client_id, str(raw_redirect)[:200])
            detail = getattr(exc, "message", None) or "The redirect URI is not one this app registered."
            return message_page("Redirect not allowed", str(detail), status=400)
        limits = self.limiter.limits
        wait = self.limiter.take("authorize", client_id, limits.authorize_per_client) if limits.enabled else 0.0
        if wait:
            self._note(EventKind.SIGN_INS_LIMITED, client_id, "too many sign-in requests from this app")
            page = message_page("Too many sign-in requests", "This app started too many sign-ins in a short time. "
                                f"Wait {max(1, math.ceil(wait))} s and try again.", status=429)
            page.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return page
        answer: Response = await self.sdk.handle(request)
        bounced = external_error_redirect(answer)
        if bounced is not None and not self.store.has_granted(client_id):
            host, error, description = bounced
            self._note(EventKind.REFUSED_REDIRECT, client_id, f"{error} not sent to {host[:100]}")
            return message_page(
                "This request cannot continue",
                f"The app's request was refused ({error}{': ' + description if description else ''}). "
                f"This app was never approved here, so MCP Tray does not send you on to {host}.",
                status=400,
            )
        return answer
