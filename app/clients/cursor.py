"""Cursor: `~/.cursor/mcp.json`, `mcpServers.<name> = {"url": URL}`; Cursor speaks HTTP and OAuth itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.clients import entries, paths
from app.clients.entries import check_url

CONTAINER = "mcpServers"


def default_config_path() -> Path:
    """This machine's global Cursor MCP config."""
    return paths.here(paths.cursor_path)


def entry(server_url: str) -> dict[str, Any]:
    """The entry we write for Cursor."""
    check_url(server_url)
    return {"url": server_url}


_CLIENT = entries.UrlClient(CONTAINER, entry, default_config_path)
entry_status = _CLIENT.entry_status
write_entry = _CLIENT.write_entry
remove_entry = _CLIENT.remove_entry
