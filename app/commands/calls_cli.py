"""`mcp-tray calls ...`: answer tool calls that wait for the owner (tool policy Ask) without a GUI.

The running server (`mcp-tray serve`, or the tray app) holds each such call in the store; answering
here changes it there, and the server goes on within a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

FOR_CHOICES = {"1h": "hour", "hour": "hour", "always": "always"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray calls pending|allow|deny`."""
    calls = sub.add_parser("calls", parents=[common], help="answer tool calls that wait for your approval")
    csub = calls.add_subparsers(dest="calls_action", required=True)
    pending = csub.add_parser("pending", parents=[common], help="list calls waiting for an answer, oldest first")
    pending.add_argument("--json", action="store_true", help="print JSON (with the full arguments)")
    allow = csub.add_parser("allow", parents=[common], help="let a waiting call run")
    allow.add_argument("call_id", metavar="ID")
    allow.add_argument("--for", dest="for_", choices=sorted(FOR_CHOICES), metavar="1h|always",
                       help="also let this client call this tool without asking: for an hour, or always")
    deny = csub.add_parser("deny", parents=[common], help="refuse a waiting call")
    deny.add_argument("call_id", metavar="ID")
    calls.set_defaults(run=calls_command)


def calls_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Run one `calls` action; 1 when the call is not waiting (answered already, or over)."""
    from app.store.held import ONCE
    from app.store.store import Store

    store = Store(data_dir, getattr(args, "database", None))
    try:
        if args.calls_action == "pending":
            calls = store.held.pending()
            if args.json:
                print(json.dumps([{**asdict(c), "arguments": json.loads(c.arguments or "{}")} for c in calls],
                                 indent=2, ensure_ascii=False))
                return 0
            if not calls:
                print("No calls are waiting for you.")
                return 0
            for c in calls:
                waited = time.time() - c.at
                print(f"{c.call_id}  {c.tool}  from {c.client_name or '(unnamed)'} ({(c.client_id or '-')[:8]}),"
                      f" waiting {waited:.0f} s")
                for line in (c.arguments or "{}").splitlines():
                    print(f"    {line}")
            print("Answer with: mcp-tray calls allow ID [--for 1h|always]   or   mcp-tray calls deny ID")
            return 0
        allow = args.calls_action == "allow"
        answer_for = FOR_CHOICES[args.for_] if allow and args.for_ else ONCE
        answered = store.held.answer(args.call_id, allow, answer_for, by="cli")
        if answered is None:
            print(f"mcp-tray: no call {args.call_id} is waiting (answered already, or it ended)", file=sys.stderr)
            return 1
        if not allow:
            print(f"Denied {answered.tool} for {answered.client_name or answered.client_id}.")
        elif answer_for == ONCE:
            print(f"Allowed {answered.tool} once for {answered.client_name or answered.client_id}.")
        else:
            span = "for an hour" if answer_for == "hour" else "from now on"
            print(f"Allowed {answered.tool} for {answered.client_name or answered.client_id}, {span}, without asking.")
        return 0
    finally:
        store.close()
