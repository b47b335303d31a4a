"""Claude Desktop: one `mcpServers` entry that starts a stdio bridge to our HTTP server.

Claude Desktop only starts stdio servers, so the entry runs either our own bridge
(`<python> -m app bridge URL`, or the frozen executable `... bridge URL`) or Node's
`npx -y mcp-remote URL`. Commands are absolute paths because an app started from the desktop
does not get the shell's PATH. No Qt here; the GUI and `mcp-tray configure claude` both use this.
"""

from __future__ import annotations

import enum
import shutil
import sys
from pathlib import Path
from typing import Any

from app.clients import entries, jsonfile, paths
from app.clients.entries import DEFAULT_NAME, EntryState, EntryStatus, WriteResult, check_url
from app.clients.errors import ConfigError, InvalidConfigError

__all__ = [
    "ConfigError", "EntryState", "EntryStatus", "InvalidConfigError", "Via", "WriteResult",
    "backup_and_reset", "bridge_entry", "default_config_path", "default_via", "entry_status",
    "mcp_remote_entry", "remove_entry", "write_entry",
]

CONTAINER = "mcpServers"


class Via(enum.Enum):
    """How Claude Desktop reaches the server: our built-in bridge or Node's mcp-remote."""

    BRIDGE = "bridge"
    MCP_REMOTE = "mcp-remote"


def default_config_path() -> Path:
    """This machine's Claude Desktop config file (the MSIX package's on Windows when installed)."""
    return paths.claude_desktop_default()


def is_frozen() -> bool:
    """True inside a PyInstaller bundle, where sys.executable is our own program."""
    return bool(getattr(sys, "frozen", False))


def find_npx() -> str | None:
    """The absolute path of npx on this PATH, or None."""
    return shutil.which("npx")


def bridge_entry(server_url: str) -> dict[str, Any]:
    """The entry that runs our own stdio bridge with this interpreter or the frozen executable."""
    if not sys.executable:
        raise ConfigError("Cannot tell which Python runs MCP Tray (sys.executable is empty); "
                          "use --via mcp-remote.")
    prefix = [] if is_frozen() else ["-m", "app"]
    return {"command": sys.executable, "args": [*prefix, "bridge", server_url]}


def mcp_remote_entry(server_url: str, npx: str | None = None) -> dict[str, Any]:
    """The entry that runs `npx -y mcp-remote URL` (npx by absolute path when it is found)."""
    return {"command": npx or "npx", "args": ["-y", "mcp-remote", server_url]}


def default_via(npx: str | None = None) -> Via:
    """The bridge when frozen or when npx is missing, else mcp-remote."""
    return Via.BRIDGE if is_frozen() or not npx else Via.MCP_REMOTE


def _forms(server_url: str, via: Via | str | None) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """(entry to write, entries that already count as current, notes for the user)."""
    check_url(server_url)
    npx = find_npx()
    notes: list[str] = []
    chosen = Via(via) if via is not None else default_via(npx)
    if chosen is Via.MCP_REMOTE and not npx:
        notes.append("Node.js (npx) was not found on this PATH, so the entry says plain \"npx\"; Claude "
                     "Desktop cannot start it until Node.js is installed. The built-in bridge "
                     "(--via bridge) needs no Node.")
    elif via is None and chosen is Via.BRIDGE and not npx and not is_frozen():
        notes.append("Node.js (npx) was not found, so the entry uses MCP Tray's built-in bridge.")
    entry = bridge_entry(server_url) if chosen is Via.BRIDGE else mcp_remote_entry(server_url, npx)
    if via is not None:
        return entry, [entry], notes
    current = [bridge_entry(server_url)] + ([mcp_remote_entry(server_url, npx)] if npx else [])
    return entry, current, notes


def entry_status(server_url: str, path: Path | None = None, name: str = DEFAULT_NAME,
                 via: Via | str | None = None) -> EntryStatus:
    """Is our entry present and current? With `via` unset, either working form counts as current."""
    _, current, _ = _forms(server_url, via)
    return entries.status(path or default_config_path(), CONTAINER, name, current)


def write_entry(server_url: str, path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False,
                via: Via | str | None = None) -> WriteResult:
    """Add or update our entry; an entry that is already current is kept as is. Raises ConfigError."""
    entry, current, notes = _forms(server_url, via)
    return entries.write(path or default_config_path(), CONTAINER, name, entry, dry_run=dry_run,
                         keep_if=current, warnings=tuple(notes))


def remove_entry(path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False) -> WriteResult:
    """Take out our entry only. Raises ConfigError."""
    return entries.remove(path or default_config_path(), CONTAINER, name, dry_run=dry_run)


def backup_and_reset(path: Path | None = None) -> Path:
    """Move an unreadable config aside (`<file>.invalid-<time>`) so the next write starts fresh."""
    return jsonfile.move_aside(path or default_config_path())
