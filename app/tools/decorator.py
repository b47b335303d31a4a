"""The optional `@tool` decorator for plugin authors: a different name or description than the function's,
and what the tool does to the user's things (the MCP annotations `readOnlyHint` and `destructiveHint`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__mcp_tray_tool__"


def tool(name: str | None = None, *, description: str | None = None, title: str | None = None,
         read_only: bool | None = None, destructive: bool | None = None) -> Callable[[F], F]:
    """Mark a function as a tool and override what MCP Tray would take from its name and docstring.

    `read_only=True` says the tool only reads (its default policy is Allow); `destructive=True` says
    it changes or deletes things (its default policy is Ask: the owner answers each call first).
    Without the decorator every public top-level function of a plugin is a tool anyway.
    """

    def mark(fn: F) -> F:
        """Record the overrides on the function; the loader reads them."""
        setattr(fn, ATTRIBUTE, {"name": name, "description": description, "title": title,
                                "read_only": read_only, "destructive": destructive})
        return fn

    return mark


def skip(fn: F) -> F:
    """Keep a public function of a plugin from becoming a tool (a helper, say)."""
    setattr(fn, ATTRIBUTE, None)
    return fn
