"""Tool groups: which OAuth scope a client needs before it can see and call a group's tools.

`base` tools touch none of the user's data and need only a valid token, so clients that ask for
nothing special (the SDK client) or only for OpenID scopes (mcp-remote) keep working. Every other
group is opt-in: the client asks for its scope, or the person ticks it on the consent page.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToolGroup:
    """A set of tools granted together."""

    key: str
    scope: str | None  # None: any valid token may use the group
    title: str
    description: str  # plain words, shown on the consent page and in the Tools tab


BASE = "base"
TIME = "time"
FILES = "files"
PLUGINS = "plugins"

GROUPS: dict[str, ToolGroup] = {
    BASE: ToolGroup(BASE, None, "Basic tools", "Simple tools that read none of your data, like add"),
    TIME: ToolGroup(TIME, "tools:time", "Date and time",
                    "See the current date and time on this computer, and your time zone"),
    FILES: ToolGroup(FILES, "tools:files", "Your chosen folders (read-only)",
                     "List, search and read files in the folders you chose in MCP Tray (never change them)"),
    PLUGINS: ToolGroup(PLUGINS, "tools:plugins", "Your plugins",
                       "Use the tools you added yourself: files in your tools folder and installed plugin packages"),
}

TOOL_SCOPES: dict[str, ToolGroup] = {g.scope: g for g in GROUPS.values() if g.scope is not None}


ALL_SCOPES = frozenset(TOOL_SCOPES)


def allowed(group: str, scopes: frozenset[str]) -> bool:
    """True when a token granted `scopes` may use the tools of `group`."""
    needed = GROUPS[group].scope
    return needed is None or needed in scopes
