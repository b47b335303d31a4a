"""`mcp-tray audit ...`: the audit log of tool calls from the command line (safe while the server runs)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> float:
    """`90s`, `15m`, `1h`, `7d`, `2w` -> seconds; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 1h or 7d")
    return float(match.group(1)) * UNITS[match.group(2)]


def _since(text: str) -> float:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray audit list|export|verify`."""
    audit = sub.add_parser("audit", parents=[common], help="the audit log of tool calls")
    asub = audit.add_subparsers(dest="audit_action", required=True)
    alist = asub.add_parser("list", parents=[common], help="list recent tool calls, newest first")
    alist.add_argument("--json", action="store_true", help="print JSON")
    alist.add_argument("--client", metavar="CLIENT_ID", help="only this client")
    alist.add_argument("--tool", metavar="NAME", help="only this tool (or resource, or prompt)")
    alist.add_argument("--outcome", help="only this outcome (ok, tool error, denied, no answer, blocked, ...)")
    alist.add_argument("--since", type=_since, metavar="DURATION", help="only the last 30m, 1h, 7d, ...")
    alist.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    export = asub.add_parser("export", parents=[common], help="write the whole log to a file")
    export.add_argument("--jsonl", required=True, metavar="FILE", help="JSON Lines file to write ('-': stdout)")
    asub.add_parser("verify", parents=[common], help="check the log's hash chain; exit 1 at the first broken row")
    audit.set_defaults(run=audit_command)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def audit_command(args: argparse.Namespace, data_dir: Path) -> int:
    """Run one `audit` action."""
    from app.commands.store_cli import _table
    from app.store.audit import AuditFilter
    from app.store.store import Store

    store = Store(data_dir, getattr(args, "database", None))
    try:
        if args.audit_action == "list":
            since = time.time() - args.since if args.since is not None else None
            rows = store.audit.rows(AuditFilter(client_id=args.client, name=args.tool, outcome=args.outcome,
                                                since=since, limit=max(1, args.limit)))
            if args.json:
                print(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
                return 0
            if not rows:
                print("No tool calls recorded" + (" that match." if since or args.client or args.tool else "."))
                return 0
            table = [[str(r.id), _when(r.at), r.client_name or "-", (r.client_id or "-")[:8], r.name, r.outcome,
                      f"{r.duration_ms:.0f} ms", r.arguments if len(r.arguments) <= 60 else r.arguments[:59] + "…"]
                     for r in rows]
            print(_table(table, ["ID", "TIME", "CLIENT", "CLIENT ID", "TOOL", "OUTCOME", "TOOK", "ARGUMENTS"]))
            return 0
        if args.audit_action == "export":
            lines = [json.dumps(asdict(r), ensure_ascii=False) for r in store.audit.all_rows()]
            body = "".join(line + "\n" for line in lines)
            if args.jsonl == "-":
                sys.stdout.write(body)
            else:
                try:
                    Path(args.jsonl).expanduser().write_text(body, encoding="utf-8")
                except OSError as exc:
                    print(f"mcp-tray: cannot write {args.jsonl}: {exc}", file=sys.stderr)
                    return 1
                print(f"Wrote {len(lines)} row(s) to {args.jsonl}.", file=sys.stderr)
            return 0
        result = store.audit.verify()
        if result.ok:
            print(f"OK: {result.checked} row(s), the hash chain is intact.")
            return 0
        print(f"BROKEN at row {result.broken_id}: {result.reason} ({result.checked} row(s) before it are intact).")
        return 1
    finally:
        store.close()
