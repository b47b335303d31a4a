"""Who is calling: the bearer check's result, carried to the tool layer through the SDK's auth context.

BearerGuard puts a `CallerToken` (the SDK's AccessToken plus the grant it belongs to) into the
SDK's `auth_context_var`; the SDK copies that context into the task that runs each request, for
both transports and every protocol era, so middleware and tools can ask `current_caller()`.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken


class CallerToken(AccessToken):
    """An access token as the server knows it after the check: with its grant and public token id."""

    grant_id: str
    token_id: str


def current_caller() -> CallerToken | None:
    """The checked token behind the current request, or None (no token: callers must fail closed)."""
    token = get_access_token()
    return token if isinstance(token, CallerToken) else None
