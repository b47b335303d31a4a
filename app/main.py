"""Composition root: parse the command line and hand over to the right part.

`mcp-tray` alone starts the tray app (or, with no display, the headless server);
`mcp-tray serve`, `tokens`, `clients` and `configure` work without any GUI.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from app import __version__
from app.config import DEFAULT_HOST, log_dir, resolve_data_dir
from app.logging_setup import configure


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="where the database and settings live (default: the platform "
                        "data dir, or $MCP_TRAY_DATA_DIR)")

    parser = argparse.ArgumentParser(
        prog="mcp-tray", parents=[common],
        description="A personal MCP server behind OAuth 2.1, run from your system tray.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-tray {__version__}")
    parser.add_argument("--port", type=int, help="port for the server (default: from settings, 8787)")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", parents=[common], help="run the server without a GUI")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: from settings, 8787)")

    tokens = sub.add_parser("tokens", parents=[common], help="list or revoke tokens")
    tsub = tokens.add_subparsers(dest="tokens_action", required=True)
    tlist = tsub.add_parser("list", parents=[common], help="list active tokens")
    tlist.add_argument("--json", action="store_true", help="print JSON")
    tlist.add_argument("--all", action="store_true", help="include revoked and expired tokens")
    trevoke = tsub.add_parser("revoke", parents=[common], help="revoke tokens (and the sign-in they belong to)")
    trevoke.add_argument("ids", nargs="*", metavar="ID", help="token IDs from `tokens list`")
    group = trevoke.add_mutually_exclusive_group()
    group.add_argument("--client", metavar="CLIENT_ID", help="revoke every token of this client")
    group.add_argument("--all", action="store_true", help="revoke every token")

    clients = sub.add_parser("clients", parents=[common], help="list or remove registered clients")
    csub = clients.add_subparsers(dest="clients_action", required=True)
    clist = csub.add_parser("list", parents=[common], help="list clients, grouped by name and redirect")
    clist.add_argument("--json", action="store_true", help="print JSON")
    cremove = csub.add_parser("remove", parents=[common], help="remove clients and revoke their tokens")
    cremove.add_argument("client_ids", nargs="+", metavar="CLIENT_ID")
    return parser


def has_display() -> bool:
    """False when Qt would have nowhere to draw (Linux with no X11/Wayland and no platform chosen)."""
    if sys.platform != "linux":
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `mcp-tray` and `python -m app`."""
    args = build_parser().parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    command = args.command
    if command in ("tokens", "clients"):
        configure(log_dir(data_dir), console_level=logging.WARNING)
        from app.commands.store_cli import clients_command, tokens_command

        return tokens_command(args, data_dir) if command == "tokens" else clients_command(args, data_dir)
    if command is None and not has_display():
        print("mcp-tray: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so there is no tray; "
              "running the server headless instead.", file=sys.stderr)
        command = "serve"
        args.host = DEFAULT_HOST
    if command == "serve":
        configure(log_dir(data_dir))
        from app.commands.serve import run_serve

        return run_serve(data_dir, args.host, args.port)
    configure(log_dir(data_dir), console_level=logging.WARNING)
    from app.ui.launch import run_gui

    return run_gui(data_dir, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
