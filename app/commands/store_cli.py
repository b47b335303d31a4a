"""`mcp-tray tokens ...` and `mcp-tray clients ...`: the store from the command line, safe while the server runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.auth.cimd import host_of
from app.auth.user_grants import tokens_of
from app.store.rows import ClientGroup
from app.store.store import Store


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray tokens list|revoke` and `mcp-tray clients list|remove`."""
    tokens = sub.add_parser("tokens", parents=[common], help="list or revoke tokens")
    tsub = tokens.add_subparsers(dest="tokens_action", required=True)
    tlist = tsub.add_parser("list", parents=[common], help="list active tokens")
    tlist.add_argument("--json", action="store_true", help="print JSON")
    tlist.add_argument("--all", action="store_true", help="include revoked and expired tokens")
    tlist.add_argument("--user", metavar="EMAIL",
                       help="only the sign-ins this person approved after signing in at the identity provider")
    trevoke = tsub.add_parser("revoke", parents=[common], help="revoke tokens (and the sign-in they belong to)")
    trevoke.add_argument("ids", nargs="*", metavar="ID", help="token IDs from `tokens list`")
    group = trevoke.add_mutually_exclusive_group()
    group.add_argument("--client", metavar="CLIENT_ID", help="revoke every token of this client")
    group.add_argument("--all", action="store_true", help="revoke every token")
    group.add_argument("--remote", action="store_true",
                       help="revoke every sign-in made through the public URL (remote access)")
    textend = tsub.add_parser("extend", parents=[common],
                              help="give a sign-in more permissions (takes effect on its next request)")
    textend.add_argument("grant", metavar="GRANT", help="a grant id (see `tokens list --json`) or a token id")
    textend.add_argument("--scope", action="append", required=True, metavar="SCOPE",
                         help="a permission to add, like tools:files (repeat for several)")
    tokens.set_defaults(run=tokens_command)

    clients = sub.add_parser("clients", parents=[common], help="list or remove registered clients")
    csub = clients.add_subparsers(dest="clients_action", required=True)
    clist = csub.add_parser("list", parents=[common], help="list clients, grouped by name and redirect")
    clist.add_argument("--json", action="store_true", help="print JSON")
    cremove = csub.add_parser("remove", parents=[common], help="remove clients and revoke their tokens")
    cremove.add_argument("client_ids", nargs="+", metavar="CLIENT_ID")
    clients.set_defaults(run=clients_command)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _identity(group: ClientGroup) -> str:
    """`verified: claude.ai` for a metadata-document client; `unverified` for one that registered itself."""
    return f"verified: {host_of(group.client_ids[0])}" if group.verified and group.client_ids else "unverified"


def tokens_command(args: argparse.Namespace, data_dir: Path) -> int:
    """tokens list | tokens revoke."""
    store = Store(data_dir, getattr(args, "database", None))
    try:
        if args.tokens_action == "list":
            tokens = tokens_of(store, args.user, include_inactive=args.all)
            if args.json:
                print(json.dumps([asdict(t) for t in tokens], indent=2))
                return 0
            if not tokens:
                print(f"No active tokens approved by {args.user}." if args.user else "No active tokens.")
                return 0
            rows = [[t.token_id, t.kind, t.client_name, t.client_id[:8], " ".join(t.scopes), _when(t.created_at),
                     _when(t.expires_at), _when(t.last_used_at), "remote" if t.remote else "local"] for t in tokens]
            print(_table(rows, ["ID", "KIND", "CLIENT", "CLIENT ID", "SCOPES", "ISSUED", "EXPIRES", "LAST USED",
                                "VIA"]))
            return 0
        if args.tokens_action == "extend":
            return _extend(store, args.grant, args.scope)
        # revoke
        if args.remote:
            count = store.revoke_remote("revoked from the command line")
            print(f"Revoked {count} remote grant(s); tokens minted through the public URL are now invalid.")
            return 0
        if args.all:
            count = store.revoke_all()
            print(f"Revoked {count} grant(s); every token is now invalid.")
            return 0
        if args.client:
            count = store.revoke_client(args.client)
            print(f"Revoked {count} grant(s) of client {args.client}.")
            return 0 if count or store.client_info(args.client) else 1
        if not args.ids:
            print("mcp-tray tokens revoke: give token IDs, --client CLIENT_ID or --all", file=sys.stderr)
            return 2
        found = store.revoke_tokens(args.ids)
        missing = [i for i in args.ids if i not in found]
        for token_id in found:
            print(f"Revoked {token_id} (and the other tokens of the same sign-in).")
        for token_id in missing:
            print(f"mcp-tray: no token with ID {token_id}", file=sys.stderr)
        return 1 if missing else 0
    finally:
        store.close()


def _client_ids(group: ClientGroup) -> str:
    # A metadata-document client's id is its URL, which is worth showing whole.
    shown = group.client_ids[:3] if group.verified else tuple(c[:8] for c in group.client_ids[:3])
    return " ".join(shown) + (" ..." if len(group.client_ids) > 3 else "")
def _extend(store: Store, grant_or_token: str, scopes: list[str]) -> int:
    from app.auth.scopes import SUPPORTED_SCOPES

    unknown = [s for s in scopes if s not in SUPPORTED_SCOPES]
    if unknown:
        print(f"mcp-tray: unknown scope {', '.join(unknown)} (known: {', '.join(SUPPORTED_SCOPES)})", file=sys.stderr)
        return 2
    grant = store.grant_of(grant_or_token)
    now = store.extend_grant(grant, scopes) if grant is not None else None
    if now is None:
        print(f"mcp-tray: no live sign-in {grant_or_token}", file=sys.stderr)
        return 1
    print(f"Sign-in {grant} now has: {' '.join(now)}")
    return 0


def clients_command(args: argparse.Namespace, data_dir: Path) -> int:
    """clients list | clients remove."""
    store = Store(data_dir, getattr(args, "database", None))
    try:
        if args.clients_action == "list":
            groups = store.client_groups()
            if args.json:
                print(json.dumps([asdict(g) for g in groups], indent=2))
                return 0
            if not groups:
                print("No registered clients.")
                return 0
            rows = [[g.client_name, _identity(g), ", ".join(g.redirect_uris), str(len(g.client_ids)),
                     str(g.active_tokens), _when(g.latest_created_at), _client_ids(g)] for g in groups]
            print(_table(rows, ["NAME", "IDENTITY", "REDIRECT", "REGISTRATIONS", "TOKENS", "LATEST", "CLIENT IDS"]))
            return 0
        ok = True
        for client_id in args.client_ids:
            if store.remove_client(client_id):
                print(f"Removed client {client_id}; its tokens are revoked.")
            else:
                print(f"mcp-tray: no client {client_id}", file=sys.stderr)
                ok = False
        return 0 if ok else 1
    finally:
        store.close()
