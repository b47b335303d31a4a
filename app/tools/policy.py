"""Per-tool policy: Allow (run it), Ask (the owner answers first) or Block (refuse at once).

A tool's default follows its MCP annotations: one that declares `destructiveHint` is Ask; one that
declares `readOnlyHint`, or declares nothing, is Allow. The owner's choice (tools.json) wins.
"""

from __future__ import annotations

from mcp_types import ToolAnnotations

ALLOW = "allow"
ASK = "ask"
BLOCK = "block"
POLICIES = (ALLOW, ASK, BLOCK)

# A plugin module that sets this to True says its tools change things: they default to Ask.
CHANGES_THINGS = "MCP_TRAY_CHANGES_THINGS"


def default_policy(annotations: ToolAnnotations | None) -> str:
    """Ask for a tool that says it is destructive (and not read-only); Allow otherwise."""
    if annotations is None or annotations.read_only_hint:
        return ALLOW
    return ASK if annotations.destructive_hint else ALLOW


def annotations_for(read_only: bool | None, destructive: bool | None) -> ToolAnnotations | None:
    """The MCP annotations for what a tool declares (None when it declares nothing)."""
    if read_only is None and destructive is None:
        return None
    return ToolAnnotations(read_only_hint=read_only, destructive_hint=destructive)
