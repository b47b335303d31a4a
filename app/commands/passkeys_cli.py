"""`mcp-tray passkeys add / list / remove`: the owner's passkeys for approving away from the desk.

`add` mints a single-use enrolment link (5 minutes) for the public URL and prints it; open it in
the browser of the phone or computer that should hold the passkey. Like `approve`, these work on
the data dir's store and only for the account that owns the data dir.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.commands.approvals_cli import owner_problem


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`passkeys add|list|remove`."""
    passkeys = sub.add_parser("passkeys", parents=[common], help="passkeys for approving sign-ins remotely")
    psub = passkeys.add_subparsers(dest="passkeys_action", required=True)
    add = psub.add_parser("add", parents=[common], help="print a one-time link that creates a passkey")
    add.add_argument("--name", required=True, help="what to call it (say, the phone it lives on)")
    add.add_argument("--public-url", default=None, metavar="URL",
                     help="the public https://HOST[:PORT] (default: the one in Settings > Remote access)")
    add.set_defaults(run=add_command)
    plist = psub.add_parser("list", parents=[common], help="list the passkeys")
    plist.add_argument("--json", action="store_true", help="print JSON")
    plist.set_defaults(run=list_command)
    remove = psub.add_parser("remove", parents=[common], help="remove a passkey")
    remove.add_argument("id", metavar="ID", help="the passkey's ID (from `passkeys list`)")
    remove.set_defaults(run=remove_command)


def _store(data_dir: Path, database: str | None) -> Any:
    problem = owner_problem(data_dir)
    if problem is not None:
        print(f"mcp-tray: {problem}", file=sys.stderr)
        return None
    from app.store.store import Store

    return Store(data_dir, database)


def add_command(args: argparse.Namespace, data_dir: Path) -> int:
    """passkeys add --name NAME [--public-url URL]."""
    from app.auth.passkey_enrol import enrolment_link
    from app.config import Settings
    from app.store.passkeys import ENROL_TTL, PasskeyError

    store = _store(data_dir, getattr(args, "database", None))
    if store is None:
        return 2
    try:
        url = args.public_url if args.public_url is not None else Settings.load(data_dir).public_url
        link = enrolment_link(store, args.name, url)
    except PasskeyError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Open this link within {int(ENROL_TTL // 60)} minutes, once, on the device that should hold the passkey:")
    print(link)
    return 0


def _as_json(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "rp_id": p.rp_id, "created_at": p.created_at,
            "last_used_at": p.last_used_at, "sign_count": p.sign_count}


def list_command(args: argparse.Namespace, data_dir: Path) -> int:
    """passkeys list [--json]."""
    store = _store(data_dir, getattr(args, "database", None))
    if store is None:
        return 2
    try:
        keys = store.passkeys.list()
    finally:
        store.close()
    if args.json:
        print(json.dumps([_as_json(p) for p in keys], indent=2))
        return 0
    if not keys:
        print("No passkeys. Add one with: mcp-tray passkeys add --name NAME")
        return 0
    for p in keys:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.last_used_at)) if p.last_used_at else "never"
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.created_at))
        print(f"{p.id}  {p.name}  for {p.rp_id}; added {made}, last used {used}")
    return 0


def remove_command(args: argparse.Namespace, data_dir: Path) -> int:
    """passkeys remove ID."""
    store = _store(data_dir, getattr(args, "database", None))
    if store is None:
        return 2
    try:
        removed = store.passkeys.remove(args.id.strip())
    finally:
        store.close()
    if removed is None:
        print(f"mcp-tray: no passkey {args.id}", file=sys.stderr)
        return 1
    print(f"Removed the passkey {removed.name}; it can no longer approve sign-ins.")
    return 0
