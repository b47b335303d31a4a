"""`mcp-tray approvals list`, `mcp-tray approve ID`, `mcp-tray deny ID`: the owner answers sign-ins headless.

They work on the data dir's store, also while `serve` (or the tray app) runs in another process:
the waiting page learns of the answer on its next check. Only the account that owns the data dir
may answer; the data dir itself is private to it (0700), so nobody else can even read it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.auth.approval import (
    DEFAULT_LIFETIME,
    LIFETIMES,
    ApprovalDesk,
    answer_target,
    came_in_remotely,
    client_identity,
    requested_tool_scopes,
)
from app.auth.scopes import OPTIONAL_TOOL_SCOPES
from app.store.db import DB_NAME, database_url
from app.store.rows import PendingApproval
from app.store.store import Store


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`approvals list`, `approve`, `deny`."""
    approvals = sub.add_parser("approvals", parents=[common], help="sign-in requests waiting for you")
    asub = approvals.add_subparsers(dest="approvals_action", required=True)
    alist = asub.add_parser("list", parents=[common], help="list the sign-in requests waiting for an answer")
    alist.add_argument("--json", action="store_true", help="print JSON")
    approvals.set_defaults(run=list_command)

    approve = sub.add_parser("approve", parents=[common], help="allow a waiting sign-in request")
    approve.add_argument("id", metavar="ID", help="the request's ID, or the code its browser page shows")
    approve.add_argument("--scope", action="append", default=[], metavar="SCOPE", choices=OPTIONAL_TOOL_SCOPES,
                         help="also allow this tool group (repeatable; every group is off unless given): "
                         + ", ".join(OPTIONAL_TOOL_SCOPES))
    approve.add_argument("--for", dest="lifetime", default=DEFAULT_LIFETIME, choices=tuple(LIFETIMES),
                         help=f"how long the sign-in lasts (default: {DEFAULT_LIFETIME})")
    approve.set_defaults(run=approve_command)

    deny = sub.add_parser("deny", parents=[common], help="refuse a waiting sign-in request")
    deny.add_argument("id", metavar="ID", help="the request's ID, or the code its browser page shows")
    deny.set_defaults(run=deny_command)


def owner_problem(data_dir: Path) -> str | None:
    """Why this account may not answer for `data_dir` (it is not the owner), or None."""
    if not hasattr(os, "getuid"):
        return None  # Windows: the data dir's ACL (the user's profile) is the boundary
    try:
        owner = data_dir.stat().st_uid
    except OSError as exc:
        return f"cannot read the data dir {data_dir}: {exc.strerror}"
    if owner != os.getuid():
        return (f"the data dir {data_dir} belongs to another account (uid {owner}); only its owner can "
                "answer sign-in requests")
    return None


def _open(data_dir: Path, database: str | None) -> Store | None:
    problem = owner_problem(data_dir)
    if problem is None and database_url(database) is None and not (data_dir / DB_NAME).exists():
        problem = f"no MCP Tray database in {data_dir} (is the server using another --data-dir?)"
    if problem is not None:
        print(f"mcp-tray: {problem}", file=sys.stderr)
        return None
    return Store(data_dir, database)


def _age(created_at: float) -> str:
    seconds = max(0, int(time.time() - created_at))
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60:02d}s"


def as_json(a: PendingApproval) -> dict[str, Any]:
    """One request as `approvals list --json` prints it."""
    identity = client_identity(a)
    return {
        "id": a.approval_id, "code": a.match_code, "client": a.client_name, "client_id": a.client_id,
        "verified": identity.verified, "identity": identity.label, "remote": came_in_remotely(a),
        "redirect": a.redirect_uri,
        "answer_goes_to": answer_target(a.redirect_uri), "listener": a.listener,
        "requested_scopes": list(a.scopes), "requested_tool_groups": list(requested_tool_scopes(a)),
        "created_at": a.created_at, "expires_at": a.expires_at, "age_seconds": round(time.time() - a.created_at, 1),
    }


def list_command(args: argparse.Namespace, data_dir: Path) -> int:
    """approvals list."""
    store = _open(data_dir, getattr(args, "database", None))
    if store is None:
        return 2
    try:
        waiting = store.approvals.waiting()
    finally:
        store.close()
    if args.json:
        print(json.dumps([as_json(a) for a in waiting], indent=2))
        return 0
    if not waiting:
        print("No sign-in requests are waiting.")
        return 0
    for a in waiting:
        identity = client_identity(a)
        way = "  [remote, through the public URL]" if came_in_remotely(a) else ""
        print(f"{a.approval_id}  code {a.match_code}  {a.client_name} ({identity.label}){way}")
        print(f"    client_id {a.client_id}; answer goes to {answer_target(a.redirect_uri)}"
              + (f" ({a.listener})" if a.listener else ""))
        print(f"    asks for: {' '.join(a.scopes)}; waiting {_age(a.created_at)}")
    print("Answer with: mcp-tray approve ID [--scope GROUP]... [--for 1h|1d|30d|forever]   or   mcp-tray deny ID")
    return 0


def _find(store: Store, key: str) -> PendingApproval | None:
    found = store.approvals.get(key)
    if found is None:
        print(f"mcp-tray: no sign-in request {key}", file=sys.stderr)
        return None
    if found.status != "pending" or found.expires_at <= time.time():
        state = "expired" if found.status == "pending" else found.status
        print(f"mcp-tray: request {found.approval_id} is no longer waiting ({state})", file=sys.stderr)
        return None
    return found


def _answer(data_dir: Path, database: str | None, key: str,
            answer: Callable[[ApprovalDesk, PendingApproval], str | None]) -> int:
    """Find the waiting request `key` and answer it; `answer` returns what to print, or None if too late."""
    store = _open(data_dir, database)
    if store is None:
        return 2
    try:
        found = _find(store, key)
        if found is None:
            return 1
        said = answer(ApprovalDesk(store), found)
        if said is None:
            print(f"mcp-tray: request {found.approval_id} was answered or expired meanwhile", file=sys.stderr)
            return 1
        print(said)
        return 0
    finally:
        store.close()


def approve_command(args: argparse.Namespace, data_dir: Path) -> int:
    """approve ID [--scope S]... [--for L]."""

    def allow(desk: ApprovalDesk, found: PendingApproval) -> str | None:
        done = desk.allow(found.approval_id, args.scope, args.lifetime, approver="cli")
        if done is None:
            return None
        how_long = LIFETIMES[args.lifetime][0].lower()
        return (f"Allowed {found.client_name} ({' '.join(done.granted_scopes)}) for {how_long}; "
                "its browser page goes on by itself.")

    return _answer(data_dir, getattr(args, "database", None), args.id, allow)


def deny_command(args: argparse.Namespace, data_dir: Path) -> int:
    """deny ID."""

    def deny(desk: ApprovalDesk, found: PendingApproval) -> str | None:
        return None if desk.deny(found.approval_id, approver="cli") is None else f"Denied {found.client_name}."

    return _answer(data_dir, getattr(args, "database", None), args.id, deny)
