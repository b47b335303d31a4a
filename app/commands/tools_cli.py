"""`mcp-tray tools ...`: see and change which tools are on, and which folders are shared, without a GUI.

It edits tools.json in the data dir; a running server notices the change within a second and tells
its connected clients, so this works next to `mcp-tray serve` on a machine with no desktop.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray tools list|enable|disable|policy|share|unshare`."""
    tools = sub.add_parser("tools", parents=[common], help="list tools, turn them on or off, share folders")
    tsub = tools.add_subparsers(dest="tools_action", required=True)
    tlist = tsub.add_parser("list", parents=[common], help="list every tool and plugin problem")
    tlist.add_argument("--json", action="store_true", help="print JSON")
    for action, text in (("enable", "turn tools on"), ("disable", "turn tools off")):
        p = tsub.add_parser(action, parents=[common], help=text)
        p.add_argument("names", nargs="+", metavar="NAME")
    policy = tsub.add_parser("policy", parents=[common],
                             help="allow a tool, ask you before each call, or block it")
    policy.add_argument("name", metavar="NAME")
    policy.add_argument("policy", choices=["allow", "ask", "block"])
    share = tsub.add_parser("share", parents=[common], help="share a folder (read-only) with the folder tools")
    share.add_argument("folder")
    unshare = tsub.add_parser("unshare", parents=[common], help="stop sharing a folder")
    unshare.add_argument("folder")
    tools.set_defaults(run=tools_command)


def tools_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Run one `tools` action; 0 on success, 1 with a message on bad input or when tools.json cannot be saved."""
    try:
        return _run(args, data_dir)
    except OSError as exc:
        print(f"mcp-tray: cannot save tools.json in {data_dir}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, data_dir: Path) -> int:
    from app.commands.gc_pause import StartWithoutGc

    with StartWithoutGc():  # loading the registry imports the MCP SDK: see StartWithoutGc
        from app.tools.registry import ToolRegistry

        registry = ToolRegistry(data_dir)
    action = args.tools_action
    if action == "list":
        rows = registry.rows()
        if args.json:
            print(json.dumps({"tools": [asdict(r) for r in rows],
                              "folders": [str(f) for f in registry.folders()],
                              "tools_folder": str(registry.tools_dir)}, indent=2))
            return 0
        for r in rows:
            state = "error" if r.error else ("on" if r.enabled else "off")
            print(f"{state:5}  {r.name:20}  {(r.scope or '-'):14}  {r.policy:5}  {r.source}")
            if r.error:
                print(f"       {r.error}")
        print(f"shared folders: {', '.join(str(f) for f in registry.folders()) or 'none'}")
        print(f"tools folder:   {registry.tools_dir}")
        return 0
    if action in ("enable", "disable"):
        known = {r.name for r in registry.rows() if r.error is None}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            print(f"mcp-tray: no such tool: {', '.join(unknown)} (see `mcp-tray tools list`)", file=sys.stderr)
            return 1
        for name in args.names:
            registry.set_enabled(name, action == "enable")
        return 0
    if action == "policy":
        try:
            registry.set_policy(args.name, args.policy)
        except KeyError:
            print(f"mcp-tray: no such tool: {args.name} (see `mcp-tray tools list`)", file=sys.stderr)
            return 1
        print(f"{args.name}: {args.policy}")
        return 0
    folder = Path(args.folder).expanduser().resolve()
    if action == "share":
        if not folder.is_dir():
            print(f"mcp-tray: {folder} is not a folder", file=sys.stderr)
            return 1
        registry.add_folder(folder)
    else:
        if folder not in registry.folders():
            print(f"mcp-tray: {folder} is not shared", file=sys.stderr)
            return 1
        registry.remove_folder(folder)
    return 0
