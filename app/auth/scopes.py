"""The scopes this server understands, each with the plain words the consent page shows."""

from __future__ import annotations

from app.tools.groups import TOOL_SCOPES

DEFAULT_SCOPE = "mcp"

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "mcp": "Use the basic tools of this server (like add)",
    "offline_access": "Stay connected without asking you again (refresh tokens)",
    # mcp-remote asks for these OpenID scopes. This server has no user accounts, so they reveal
    # nothing; accepting them lets such clients connect with no extra flags.
    "openid": "Know that you signed in (no account details are shared)",
    "profile": "Your profile (this server has none, so nothing is shared)",
    "email": "Your email address (this server has none, so nothing is shared)",
    # One scope per optional tool group; the consent page offers each as a checkbox.
    **{scope: group.description for scope, group in TOOL_SCOPES.items()},
}

OPTIONAL_TOOL_SCOPES: tuple[str, ...] = tuple(TOOL_SCOPES)

SUPPORTED_SCOPES: tuple[str, ...] = tuple(SCOPE_DESCRIPTIONS)


def describe(scope: str) -> str:
    """Plain words for a scope."""
    return SCOPE_DESCRIPTIONS.get(scope, scope)
