"""`mcp-tray bridge URL`: the built-in stdio bridge; `mcp-tray reset-sign-in`: forget clients' stored sign-ins."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.bridge.invocation import valid_url
from app.config import DEFAULT_HOST, Settings


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray bridge URL | --reset URL [--mcp-remote]` and `mcp-tray reset-sign-in [URL] [--mcp-remote]`."""
    bridge = sub.add_parser(
        "bridge", parents=[common], help="stdio MCP server that forwards to an HTTP MCP server, signing in with OAuth",
        description="Run a stdio MCP server (for clients such as Claude Desktop) that forwards every message to "
                    "URL over streamable HTTP or SSE. It signs in with OAuth in your browser once and keeps "
                    "the sign-in in the OS keyring. Logs go to stderr; stdout is the MCP channel.")
    bridge.add_argument("url", metavar="URL", help="the server's MCP endpoint, e.g. http://127.0.0.1:8787/mcp")
    bridge.add_argument("--reset", action="store_true", help="forget the bridge's stored sign-in for URL and exit")
    bridge.add_argument("--mcp-remote", action="store_true",
                        help="with --reset: also delete mcp-remote's cached files for URL")
    bridge.set_defaults(run=bridge_command)

    reset = sub.add_parser("reset-sign-in", parents=[common],
                           help="forget the bridge's (and optionally mcp-remote's) stored sign-in for our server")
    reset.add_argument("url", metavar="URL", nargs="?",
                       help="server URL (default: this computer's server, http://127.0.0.1:PORT/mcp)")
    reset.add_argument("--mcp-remote", action="store_true", help="also delete mcp-remote's cached files")
    reset.set_defaults(run=reset_command)


def bridge_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Run the bridge (or reset it with --reset)."""
    problem = valid_url(args.url)
    if problem:
        print(f"mcp-tray bridge: {problem}", file=sys.stderr)
        return 2
    if args.reset:
        return _reset(args.url, args.mcp_remote)
    if args.mcp_remote:
        print("mcp-tray bridge: --mcp-remote only goes with --reset", file=sys.stderr)
        return 2
    from app.bridge.fast import main as run_bridge

    return run_bridge(args.url)


def reset_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Reset client sign-in for our server (or URL)."""
    url = args.url or f"http://{DEFAULT_HOST}:{Settings.load(data_dir).port}/mcp"
    problem = valid_url(url)
    if problem:
        print(f"mcp-tray reset-sign-in: {problem}", file=sys.stderr)
        return 2
    return _reset(url, args.mcp_remote)


def _reset(url: str, include_mcp_remote: bool) -> int:
    from app.bridge.reset import reset_client_sign_in

    result = reset_client_sign_in(url, include_mcp_remote)
    print(result.summary())
    for entry in result.keyring_entries:
        print(f"  keyring: {entry}")
    for path in result.mcp_remote_files:
        print(f"  deleted: {path}")
    return 1 if result.problems and not (result.keyring_entries or result.mcp_remote_files) else 0
