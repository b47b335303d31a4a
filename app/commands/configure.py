"""`mcp-tray configure claude|cursor|vscode|claude-code`: add, update or remove our entry in a config.

Exit codes: 0 done (or nothing to do), 1 the file could not be read or written, 2 bad usage,
3 the file is not valid JSON and was left untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.clients.catalogue import CLIENTS, ClientInfo, ClientKey
from app.config import DEFAULT_HOST, Settings


def client_choices() -> list[str]:
    """The client names `configure` accepts: the catalogue's keys."""
    return sorted(c.key.value for c in CLIENTS)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray configure CLIENT [--config PATH] [--name N] [--remove] [--dry-run] [--url URL] [--via V]`."""
    parser = sub.add_parser("configure", parents=[common], help="set up an MCP client to use this server",
                            description="Add (or with --remove, take out) one entry for this server in an "
                            "MCP client's config. Everything else in the file is kept; the previous file is "
                            "saved beside it as <file>.bak-<UTC time>.")
    parser.add_argument("client", choices=client_choices(), help="which client to set up")
    parser.add_argument("--config", type=Path, metavar="PATH", help="config file (default: the client's own)")
    parser.add_argument("--name", default="mcp-tray", help="name of the server entry (default: mcp-tray)")
    parser.add_argument("--remove", action="store_true", help="take out our entry instead of adding it")
    parser.add_argument("--dry-run", action="store_true", help="print the resulting file; write nothing")
    parser.add_argument("--url", help="server URL (default: http://127.0.0.1:<port from settings>/mcp)")
    parser.add_argument("--via", choices=["bridge", "mcp-remote"],
                        help="Claude Desktop only: start MCP Tray's own bridge or `npx mcp-remote` "
                        "(default: the bridge when frozen or without npx, else mcp-remote)")
    parser.set_defaults(run=run_configure)


def server_url(data_dir: Path) -> tuple[str, str]:
    """The URL to write (the port the server serves: a running one's, else the next start's) and a note."""
    from app.commands.panic_cli import answers_health
    from app.server import pidfile
    from app.server.port import for_clients

    record = pidfile.read(data_dir)
    running = record.port if record is not None and pidfile.is_ours(record, answers_health) else None
    port, note = for_clients(Settings.load(data_dir), running)
    return f"http://{DEFAULT_HOST}:{port}/mcp", note


def _write(client: ClientInfo, url: str, path: Path | None, name: str, dry_run: bool, via: str | None) -> Any:
    if client.key is ClientKey.CLAUDE_DESKTOP:
        from app.clients import claude_desktop

        return claude_desktop.write_entry(url, path, name=name, dry_run=dry_run, via=via)
    return client.writer.write_entry(url, path, name=name, dry_run=dry_run)


def run_configure(args: argparse.Namespace, data_dir: Path) -> int:
    """Do what the command line asks, print what was done; errors are one line on stderr."""
    from app.clients.catalogue import client as catalogue_entry
    from app.clients.entries import EntryState
    from app.clients.errors import ConfigError, InvalidConfigError

    client = catalogue_entry(args.client)
    if args.via and client.key is not ClientKey.CLAUDE_DESKTOP:
        print("mcp-tray configure: --via applies to Claude Desktop only (the others speak HTTP themselves).",
              file=sys.stderr)
        return 2
    url, port_note = (args.url, "") if args.url else server_url(data_dir)
    path = args.config.expanduser() if args.config else None
    try:
        if args.remove:
            result = client.writer.remove_entry(path, name=args.name, dry_run=args.dry_run)
        else:
            before = client.writer.entry_status(url, path, name=args.name)
            result = _write(client, url, path, args.name, args.dry_run, args.via)
    except InvalidConfigError as exc:
        print(f"mcp-tray: {exc} Fix it by hand, or move it aside and run this again.", file=sys.stderr)
        return 3
    except ConfigError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 1
    for warning in (*result.warnings, *([port_note] if port_note and not args.remove else [])):
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
        verb = "Updated" if before.state is EntryState.OUTDATED else "Added"
        print(f'{verb} "{args.name}" in {result.path}:\n  "{args.name}": {entry}')
    if result.backup is not None:
        print(f"The previous file is saved as {result.backup}")
    if result.changed and not args.remove:
        print(client.after_write(result.entry))
    return 0
