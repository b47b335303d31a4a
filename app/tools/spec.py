"""One tool as MCP Tray knows it: the SDK's compiled tool, where it came from, and its group."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.tools import Tool

from app.tools.decorator import ATTRIBUTE
from app.tools.policy import CHANGES_THINGS, annotations_for, default_policy


class BadToolError(Exception):
    """A function cannot be a tool (no type hints, *args, a name clash...); the message says why."""


@dataclass(frozen=True)
class ToolSpec:
    """A ready tool: what the server lists and calls."""

    tool: Tool
    group: str
    source: str  # what the user sees: "built-in", "package mcp-tray-sample-plugin", "tools folder: notes.py"
    default_enabled: bool = True

    @property
    def name(self) -> str:
        """The tool's name as clients see it."""
        return self.tool.name

    @property
    def default_policy(self) -> str:
        """Allow, Ask or Block before the owner chooses: from the tool's MCP annotations."""
        return default_policy(self.tool.annotations)

    @property
    def description(self) -> str:
        """First line of the description, for lists."""
        return (self.tool.description or "").strip().split("\n", 1)[0]


def _check_signature(fn: Callable[..., Any]) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise BadToolError(f"its signature cannot be read: {exc}") from exc
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # a hint naming something undefined; any error here is the plugin's
        raise BadToolError(f"a type hint cannot be resolved: {exc}") from exc
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise BadToolError(f"parameter {param.name!r}: *args and **kwargs cannot be described to a client")
        if param.name not in hints:
            raise BadToolError(f"parameter {param.name!r} has no type hint, so clients cannot know what to send")


def make_spec(fn: Callable[..., Any], *, group: str, source: str, default_enabled: bool = True,
              name: str | None = None, description: str | None = None, read_only: bool | None = None) -> ToolSpec:
    """Compile `fn` into a tool (schema from its type hints, description from its docstring).

    Annotations: what the `@tool` decorator declares; else, for a plugin module that sets
    MCP_TRAY_CHANGES_THINGS = True, destructive; else `read_only` as given here (built-ins).
    """
    marked = getattr(fn, ATTRIBUTE, None) or {}
    module = inspect.getmodule(fn)
    changes = module is not None and getattr(module, CHANGES_THINGS, False) is True
    declared_ro, declared_destructive = marked.get("read_only"), marked.get("destructive")
    if declared_ro is None and declared_destructive is None:
        declared_ro, declared_destructive = (False, True) if changes else (read_only, None)
    name = marked.get("name") or name or getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise BadToolError(f"{name!r} is not a usable tool name")
    _check_signature(fn)
    description = marked.get("description") or description or inspect.getdoc(fn) or ""
    try:
        compiled = Tool.from_function(fn, name=name, title=marked.get("title"), description=description,
                                      annotations=annotations_for(declared_ro, declared_destructive))
    except Exception as exc:  # the SDK refuses some signatures; report, never crash the server
        raise BadToolError(f"the MCP SDK cannot describe it: {exc}") from exc
    return ToolSpec(compiled, group, source, default_enabled)
