"""VS Code: the user-profile `mcp.json`, `servers.<name> = {"type": "http", "url": URL}`.

VS Code accepts comments in `mcp.json` (JSONC). We write strict JSON only, so a file with
comments is reported as invalid and left untouched rather than losing the user's comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.clients import entries, paths
from app.clients.entries import check_url

CONTAINER = "servers"


def default_config_path() -> Path:
    """This machine's VS Code user `mcp.json` (stable channel)."""
    return paths.here(paths.vscode_path)


def entry(server_url: str) -> dict[str, Any]:
    """The entry we write for VS Code."""
    check_url(server_url)
    return {"type": "http", "url": server_url}


_CLIENT = entries.UrlClient(CONTAINER, entry, default_config_path)
entry_status = _CLIENT.entry_status
write_entry = _CLIENT.write_entry
remove_entry = _CLIENT.remove_entry
