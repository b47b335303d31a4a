"""`mcp-tray configure claude|cursor|vscode|claude-code`: add, update or remove our entry in a config.

Exit codes: 0 done (or nothing to do), 1 the file could not be read or written, 2 bad usage,
3 the file is not valid JSON and was left untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from app.config import DEFAULT_HOST, Settings


@dataclass(frozen=True)
class Client:
    """A client we can configure: its module under app.clients, display name, and what to do next."""

    module: str
    title: str
    next_step: str


CLIENTS: dict[str, Client] = {
    "claude": Client("claude_desktop", "Claude Desktop", "Restart Claude Desktop to load the change."),
    "cursor": Client("cursor", "Cursor", "Cursor loads the change by itself; if the server does not show up, "
                     "restart Cursor."),
    "vscode": Client("vscode", "VS Code", "VS Code loads the change by itself; start the server from "
                     "'MCP: List Servers' and sign in when asked."),
    "claude-code": Client("claude_code", "Claude Code", "New Claude Code sessions load the change; run /mcp "
                          "there to sign in."),
}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray configure CLIENT [--config PATH] [--name N] [--remove] [--dry-run] [--url URL] [--via V]`."""
    parser = sub.add_parser("configure", parents=[common], help="set up an MCP client to use this server",
                            description="Add (or with --remove, take out) one entry for this server in an "
                            "MCP client's config. Everything else in the file is kept; the previous file is "
                            "saved beside it as <file>.bak-<UTC time>.")
    parser.add_argument("client", choices=sorted(CLIENTS), help="which client to set up")
    parser.add_argument("--config", type=Path, metavar="PATH", help="config file (default: the client's own)")
    parser.add_argument("--name", default="mcp-tray", help="name of the server entry (default: mcp-tray)")
    parser.add_argument("--remove", action="store_true", help="take out our entry instead of adding it")
    parser.add_argument("--dry-run", action="store_true", help="print the resulting file; write nothing")
    parser.add_argument("--url", help="server URL (default: http://127.0.0.1:<port from settings>/mcp)")
    parser.add_argument("--via", choices=["bridge", "mcp-remote"],
                        help="Claude Desktop only: start MCP Tray's own bridge or `npx mcp-remote` "
                        "(default: the bridge when frozen or without npx, else mcp-remote)")
    parser.set_defaults(run=run_configure)


def _module(client: Client) -> ModuleType:
    import importlib

    return importlib.import_module(f"app.clients.{client.module}")


def run_configure(args: argparse.Namespace, data_dir: Path) -> int:
    """Do what the command line asks, print what was done; errors are one line on stderr."""
    from app.clients.errors import ConfigError, InvalidConfigError

    client = CLIENTS[args.client]
    if args.via and args.client != "claude":
        print("mcp-tray configure: --via applies to Claude Desktop only (the others speak HTTP themselves).",
              file=sys.stderr)
        return 2
    module = _module(client)
    url = args.url or f"http://{DEFAULT_HOST}:{Settings.load(data_dir).port}/mcp"
    path = args.config.expanduser() if args.config else None
    try:
        if args.remove:
            result = module.remove_entry(path, name=args.name, dry_run=args.dry_run)
        else:
            extra = {"via": args.via} if args.via else {}
            before = module.entry_status(url, path, name=args.name)
            result = module.write_entry(url, path, name=args.name, dry_run=args.dry_run, **extra)
    except InvalidConfigError as exc:
        print(f"mcp-tray: {exc} Fix it by hand, or move it aside and run this again.", file=sys.stderr)
        return 3
    except ConfigError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"Note: {warning}", file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(result.text)
        verb = "would change" if result.changed else "would leave unchanged"
        print(f"Dry run: nothing written; this {verb} {result.path}.", file=sys.stderr)
        return 0
    entry = json.dumps(result.entry, ensure_ascii=False)
    if args.remove:
        print(f'Removed "{args.name}" from {result.path}.' if result.changed
              else f'No "{args.name}" entry in {result.path}; nothing changed.')
    elif not result.changed:
        print(f'"{args.name}" is already set up in {result.path}; nothing changed.\n  "{args.name}": {entry}')
    else:
        verb = "Updated" if before.state.value == "outdated" else "Added"
        print(f'{verb} "{args.name}" in {result.path}:\n  "{args.name}": {entry}')
    if result.backup is not None:
        print(f"The previous file is saved as {result.backup}")
    if result.changed:
        print(client.next_step)
    return 0
