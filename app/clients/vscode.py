"""VS Code: the user-profile `mcp.json`, `servers.<name> = {"type": "http", "url": URL}`.

VS Code accepts comments in `mcp.json` (JSONC). We write strict JSON only, so a file with
comments is reported as invalid and left untouched rather than losing the user's comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.clients import entries, paths
from app.clients.entries import DEFAULT_NAME, EntryStatus, WriteResult, check_url

CONTAINER = "servers"


def default_config_path() -> Path:
    """This machine's VS Code user `mcp.json` (stable channel)."""
    return paths.here(paths.vscode_path)


def entry(server_url: str) -> dict[str, Any]:
    """The entry we write for VS Code."""
    check_url(server_url)
    return {"type": "http", "url": server_url}


def entry_status(server_url: str, path: Path | None = None, name: str = DEFAULT_NAME) -> EntryStatus:
    """Is our entry present and current?"""
    return entries.status(path or default_config_path(), CONTAINER, name, [entry(server_url)])


def write_entry(server_url: str, path: Path | None = None, name: str = DEFAULT_NAME,
                dry_run: bool = False) -> WriteResult:
    """Add or update our entry. Raises ConfigError."""
    return entries.write(path or default_config_path(), CONTAINER, name, entry(server_url), dry_run=dry_run)


def remove_entry(path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False) -> WriteResult:
    """Take out our entry only. Raises ConfigError."""
    return entries.remove(path or default_config_path(), CONTAINER, name, dry_run=dry_run)
