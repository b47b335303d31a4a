"""The MCP clients MCP Tray can set up, in one typed table for the tray's Settings and `mcp-tray configure`.

Each entry names the client, its writer (a module of this package that fits `ClientWriter`), and
what the user does next, including the name under which its sign-in request reaches the owner.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.clients import claude_code, claude_desktop, cursor, vscode
from app.clients.entries import DEFAULT_NAME, EntryStatus, WriteResult

BRIDGE_CLIENT_NAME = "MCP Tray bridge"  # what app/bridge/oauth.py registers as
MCP_REMOTE_CLIENT_NAME = "MCP CLI Client"  # what mcp-remote registers as
APPROVE_HOW = "approve it in the MCP Tray window (or with `mcp-tray approve CODE`)"


class ClientKey(enum.Enum):
    """A client we can configure; the value is its name on the command line."""

    CLAUDE_DESKTOP = "claude"
    CURSOR = "cursor"
    VSCODE = "vscode"
    CLAUDE_CODE = "claude-code"


class ClientWriter(Protocol):
    """What every writer module offers: the entry's state, write it, take it out (all raise ConfigError)."""

    def entry_status(self, server_url: str, path: Path | None = None, name: str = DEFAULT_NAME) -> EntryStatus:
        """Is our entry present and current?"""
        ...

    def write_entry(self, server_url: str, path: Path | None = None, name: str = DEFAULT_NAME,
                    dry_run: bool = False) -> WriteResult:
        """Add or update our entry."""
        ...

    def remove_entry(self, path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False) -> WriteResult:
        """Take out our entry only."""
        ...


@dataclass(frozen=True)
class ClientInfo:
    """One client: its key, display name, writer and what comes after a write."""

    key: ClientKey
    title: str
    writer: ClientWriter
    next_step: str  # what the user does once the entry is written

    def after_write(self, entry: dict[str, Any]) -> str:
        """The next step for this written entry (Claude Desktop's depends on bridge or mcp-remote)."""
        if self.key is not ClientKey.CLAUDE_DESKTOP:
            return self.next_step
        return self.next_step.format(name=signs_in_as(entry))


def signs_in_as(entry: dict[str, Any]) -> str:
    """The client name a Claude Desktop entry's sign-in request shows: our bridge's or mcp-remote's."""
    args = entry.get("args")
    uses_mcp_remote = isinstance(args, list) and "mcp-remote" in args
    return MCP_REMOTE_CLIENT_NAME if uses_mcp_remote else BRIDGE_CLIENT_NAME


CLIENTS: tuple[ClientInfo, ...] = (
    ClientInfo(ClientKey.CLAUDE_DESKTOP, "Claude Desktop", claude_desktop,
               "Restart Claude Desktop (quit it fully, not just its window). It then opens a browser page "
               "that waits while a sign-in request from “{name}” reaches you: " + APPROVE_HOW + "."),
    ClientInfo(ClientKey.CURSOR, "Cursor", cursor,
               "Cursor loads the change by itself (restart it if the server does not show up); when it "
               "signs in, " + APPROVE_HOW + "."),
    ClientInfo(ClientKey.VSCODE, "VS Code", vscode,
               "In VS Code, start the server from “MCP: List Servers”; when it signs in, " + APPROVE_HOW + "."),
    ClientInfo(ClientKey.CLAUDE_CODE, "Claude Code", claude_code,
               "Start a new Claude Code session and run /mcp there to sign in; then " + APPROVE_HOW + "."),
)
BY_KEY: dict[ClientKey, ClientInfo] = {c.key: c for c in CLIENTS}


def client(key: ClientKey | str) -> ClientInfo:
    """The catalogue entry for a key (or its command-line name)."""
    return BY_KEY[ClientKey(key)]
