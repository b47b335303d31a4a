"""`mcp-tray autostart enable|disable|status`: the "Start at login" setting from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray autostart enable|disable|status`."""
    parser = sub.add_parser(
        "autostart", parents=[common], help="start MCP Tray when you log in, or stop doing so"
    )
    parser.add_argument("action", choices=("enable", "disable", "status"))
    parser.set_defaults(run=autostart_command)


def autostart_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Register, unregister or report the login item; the setting in settings.json follows."""
    from app.autostart import AutostartError, entry_path, is_enabled, launch_command, set_start_at_login

    if args.action == "status":
        where = entry_path() or "the Run key of HKEY_CURRENT_USER"
        if is_enabled():
            print(f"Starts at login ({where}).")
        else:
            print("Does not start at login.")
        return 0
    try:
        set_start_at_login(data_dir, args.action == "enable")
    except AutostartError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 1
    if args.action == "enable":
        print(f"MCP Tray will start at login: {' '.join(launch_command(data_dir))}")
    else:
        print("MCP Tray will no longer start at login.")
    return 0
