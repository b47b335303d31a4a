"""Clients, grants, codes and tokens over SQLite or PostgreSQL: the one source of truth, shared across processes.

Tokens, codes and client secrets are stored as SHA-256 hashes only. A grant (one approval of one
client) owns its code and tokens; revoking the grant revokes all of them. Every state change is one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.store import activity, approvals, later, token_rules
from app.store.approvals import ApprovalTable, TooManyPendingError
from app.store.audit import AuditTable
from app.store.db import Database, SqliteDatabase, open_database
from app.store.hashing import hash_secret as hash_secret  # re-exported: the store's hash
from app.store.held import HeldTable
from app.store.kinds import EventKind
from app.store.passkeys import PasskeyStore
from app.store.quick import QuickReads
from app.store.rows import (
    ClientGroup,
    ClientRow,
    CodeRow,
    EventRow,
    IssuedTokens,
    TokenCheck,
    TokenRow,
)
from app.store.sql import Conn, serialize
from app.store.token_rules import Audience, Refused, anywhere

PENDING_TTL = 24 * 3600.0  # seconds a registration that was never approved is kept
MAX_PENDING = 1000  # never-approved registrations kept at most (the newest)


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Store:
    """Typed operations over the database: the SQLite file in `data_dir`, or PostgreSQL at `database`.

    `database` None: $MCP_TRAY_DATABASE_URL if set, else SQLite (app/store/db.py).
    """

    def __init__(self, data_dir: Path, database: str | None = None) -> None:
        self.data_dir = data_dir
        self.db: Database = open_database(data_dir, database)
        self.passkeys = PasskeyStore(self.db)
        self.approvals = ApprovalTable(self.db)
        self.audit = AuditTable(self.db)
        self.held = HeldTable(self.db)
        self.later = later.LaterWrites(self.db)
        self.quick = QuickReads(self.db.path if isinstance(self.db, SqliteDatabase) else None)

    def close(self) -> None:
        """Write what waits to be written, then close the database connections."""
        self.later.close()
        self.quick.close()
        self.db.close()

    def schema_problem(self) -> str | None:
        """None when the database answers with the schema this version expects, else the reason (/ready)."""
        return self.db.schema_problem()

    # -- clients ---------------------------------------------------------------------------

    def add_client(self, client_id: str, name: str, redirect_uris: Sequence[str], info: dict[str, Any]) -> None:
        """Store a newly registered client; its `client_secret`, if any, is kept as a hash only."""
        secret = info.get("client_secret")
        secret_hash = hash_secret(secret) if isinstance(secret, str) and secret else None
        record = {**info, "client_secret": None}

        def run(conn: Conn) -> None:
            conn.execute(
                "INSERT INTO clients (client_id, client_name, redirect_uris, info_json, created_at, secret_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (client_id, name, json.dumps(list(redirect_uris)), json.dumps(record), time.time(), secret_hash),
            )
            self._event(conn, EventKind.REGISTERED, client_id, ", ".join(redirect_uris))

        self.db.tx(run)

    def upsert_document_client(
        self, client_id: str, name: str, redirect_uris: Sequence[str], info: dict[str, Any], fetched_at: float
    ) -> bool:
        """Store or refresh a client known from its metadata document; True when the row is new.

        A removed client that comes back is a client seen for the first time again: its row is
        restored (its old grants stay revoked). A registered client's row is never overwritten.
        """

        def run(conn: Conn) -> bool:
            serialize(conn, "client", client_id)  # read, then insert or update
            row = conn.execute(
                "SELECT document_fetched_at, removed_at, redirect_uris FROM clients WHERE client_id = ?",
                (client_id,),
            ).fetchone()
            uris = json.dumps(list(redirect_uris))
            if row is None:
                conn.execute(
                    "INSERT INTO clients (client_id, client_name, redirect_uris, info_json, created_at,"
                    " document_fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (client_id, name, uris, json.dumps(info), time.time(), fetched_at),
                )
                self._event(conn, EventKind.REGISTERED, client_id, "metadata document: " + ", ".join(redirect_uris))
                return True
            if row["document_fetched_at"] is None:
                raise ValueError(f"client {client_id} registered itself; it is not a metadata-document client")
            conn.execute(
                "UPDATE clients SET client_name = ?, redirect_uris = ?, info_json = ?, document_fetched_at = ?,"
                " removed_at = NULL WHERE client_id = ?",
                (name, uris, json.dumps(info), fetched_at, client_id),
            )
            if row["removed_at"] is not None:
                self._event(conn, EventKind.REGISTERED, client_id,
                            "metadata document (again): " + ", ".join(redirect_uris))
                return True
            if row["redirect_uris"] != uris:
                self._event(conn, EventKind.CLIENT_UPDATED, client_id, "metadata document: " + ", ".join(redirect_uris))
            return False

        return self.db.tx(run)

    def client_info(self, client_id: str) -> dict[str, Any] | None:
        """The RFC 7591 record of a client that was not removed."""
        row = self.db.conn.execute(
            "SELECT info_json FROM clients WHERE client_id = ? AND removed_at IS NULL", (client_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row["info_json"]))

    def client_secret_hash(self, client_id: str) -> str | None:
        """The hash of a confidential client's secret (None: a public client, or no such client)."""
        row = self.db.conn.execute(
            "SELECT secret_hash FROM clients WHERE client_id = ? AND removed_at IS NULL", (client_id,)
        ).fetchone()
        return None if row is None else row["secret_hash"]

    def list_clients(self) -> list[ClientRow]:
        """Every client not removed, newest first, with its count of live tokens."""
        now = time.time()
        rows = self.db.conn.execute(
            """SELECT c.client_id, c.client_name, c.redirect_uris, c.created_at,
                      (SELECT COUNT(*) FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                        WHERE t.client_id = c.client_id AND t.revoked_at IS NULL
                          AND g.revoked_at IS NULL AND t.expires_at > ?) AS active,
                      c.document_fetched_at IS NOT NULL AS verified
               FROM clients c WHERE c.removed_at IS NULL ORDER BY c.created_at DESC""",
            (now,),
        ).fetchall()
        return [
            ClientRow(r["client_id"], r["client_name"] or "(unnamed)", tuple(json.loads(r["redirect_uris"])),
                      r["created_at"], r["active"], bool(r["verified"])) for r in rows
        ]

    def client_groups(self) -> list[ClientGroup]:
        """Clients grouped by name and redirect URIs, so re-registrations show as one app (ClientGroup.of)."""
        return ClientGroup.of(self.list_clients())

    def prune(self, now: float | None = None) -> int:
        """Forget registrations never approved within PENDING_TTL (or past the newest MAX_PENDING),
        removed clients that never held a grant, and activity past its bound. Returns the clients gone.

        Any local process can register, so without this the table would only grow.
        """
        cutoff = (time.time() if now is None else now) - PENDING_TTL
        # A client with a sign-in request still on record (waiting, or answered within the day) stays.
        never_granted = ("NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = clients.client_id)"
                         " AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.client_id = clients.client_id)")

        def run(conn: Conn) -> int:
            approvals.prune(conn, cutoff)
            gone = conn.execute(
                f"DELETE FROM clients WHERE {never_granted} AND (created_at < ? OR removed_at IS NOT NULL)",  # noqa: S608
                (cutoff,),
            ).rowcount
            gone += conn.execute(
                f"""DELETE FROM clients WHERE {never_granted} AND client_id NOT IN (
                        SELECT client_id FROM clients WHERE {never_granted}
                        ORDER BY created_at DESC LIMIT ?)""",  # noqa: S608 - fixed text
                (MAX_PENDING,),
            ).rowcount
            activity.prune(conn)
            return gone

        return self.db.tx(run)

    def remove_client(self, client_id: str) -> bool:
        """Forget a client and revoke everything it holds; False if there was no such client."""

        def run(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE clients SET removed_at = ? WHERE client_id = ? AND removed_at IS NULL",
                (time.time(), client_id),
            )
            if cur.rowcount == 0:
                return False
            self._revoke_grants(conn, "client_id = ?", (client_id,), "client removed")
            self._event(conn, EventKind.CLIENT_REMOVED, client_id, "")
            return True

        return self.db.tx(run)

    # -- codes and grants (sign-in requests: `self.approvals`) -----------------------------------

    def has_granted(self, client_id: str) -> bool:
        """Whether this client was ever approved (a grant exists, revoked or not)."""
        row = self.db.conn.execute("SELECT 1 FROM grants WHERE client_id = ? LIMIT 1", (client_id,)).fetchone()
        return row is not None

    def load_code(self, code: str) -> CodeRow | None:
        """The stored code with this value, used or not, judged by nobody (tests, the owner's tools)."""
        r = self.db.conn.execute(token_rules.CODE_QUERY, (hash_secret(code),)).fetchone()
        return None if r is None else token_rules.code_row(r)

    def find_code(self, code: str, client_id: str, audience: Audience = anywhere) -> CodeRow | Refused:
        """A code this client may spend here; a spent one is a replay and revokes its grant."""
        return self.db.tx(lambda conn: token_rules.find_code(conn, hash_secret(code), client_id, audience,
                                                             time.time()))

    def redeem_code(self, code_hash: str, access_ttl: int, refresh_ttl: int,
                    client_id: str | None = None) -> IssuedTokens | Refused:
        """Spend a code once and mint the grant's first tokens (a spent code revokes the grant)."""
        return self.db.tx(lambda conn: token_rules.redeem_code(conn, code_hash, client_id, access_ttl, refresh_ttl,
                                                               time.time()))

    # -- tokens ------------------------------------------------------------------------------------

    def check_token(self, token: str) -> TokenCheck | None:
        """Look a presented token of either kind up by its hash, judging nothing (one indexed read)."""
        return token_rules.look_up(self.db.conn, token, time.time())

    def check_access(self, token: str, audience: Audience = anywhere, wait: bool = True) -> TokenCheck | Refused:
        """An access token that may be used here now (one indexed read; no write).

        With `wait=False` (on an event loop) the read never waits for a lock: BusyError instead.
        """
        now = time.time()
        if wait:
            return token_rules.check_access(self.db.conn, token, audience, now)
        token_hash = hash_secret(token)
        # Remembered until anything is committed anywhere (PRAGMA data_version), or the token or its
        # grant runs out: a revocation by any process is seen on the very next request.
        row = self.quick.remembered(token_hash, lambda conn: token_rules.access_row(conn, token_hash, now),
                                    lambda r: r is not None and now < token_rules.row_settled_until(r))
        return token_rules.judge_access(row, audience, now)

    def check_refresh(self, token: str, client_id: str, audience: Audience = anywhere,
                      now: float | None = None) -> TokenCheck | Refused:
        """A refresh token this client may spend (or retry) here; a reused one revokes its grant."""
        at = time.time() if now is None else now
        return self.db.tx(lambda conn: token_rules.check_refresh(conn, token, client_id, audience, at))

    def rotate_refresh(self, token: str, client_id: str, scopes: Sequence[str], access_ttl: int, refresh_ttl: int,
                       audience: Audience = anywhere, now: float | None = None) -> IssuedTokens | Refused:
        """Spend a refresh token once for a new pair; a retry within the window gets that same pair."""
        at = time.time() if now is None else now
        return self.db.tx(lambda conn: token_rules.rotate_refresh(conn, token, client_id, audience, scopes,
                                                                  access_ttl, refresh_ttl, at))

    def touch(self, check: TokenCheck) -> None:
        """Note that a token was used (written off the caller's thread, at most once per later.RESOLUTION s)."""
        self.later.touch(check.token_hash, check.last_used_at)

    def list_tokens(self, include_inactive: bool = False) -> list[TokenRow]:
        """Tokens with their client's name, newest first; by default only live ones."""
        where = "" if include_inactive else (
            "WHERE t.revoked_at IS NULL AND g.revoked_at IS NULL AND t.expires_at > :now"
        )
        rows = self.db.conn.execute(
            f"""SELECT t.token_id, t.kind, t.grant_id, t.client_id, COALESCE(c.client_name, '') AS client_name,
                       t.scopes, t.resource, t.created_at, t.expires_at, t.last_used_at,
                       COALESCE(t.revoked_at, g.revoked_at) AS revoked_at, g.remote, g.approver
                FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                LEFT JOIN clients c ON c.client_id = t.client_id
                {where} ORDER BY t.created_at DESC, t.kind""",  # noqa: S608 - fixed text, no input
            {"now": time.time()},
        ).fetchall()
        return [
            TokenRow(r["token_id"], r["kind"], r["grant_id"], r["client_id"], r["client_name"] or "(unnamed)",
                     _scopes(r["scopes"]), r["resource"], r["created_at"], r["expires_at"], r["last_used_at"],
                     r["revoked_at"], bool(r["remote"]), r["approver"])
            for r in rows
        ]

    def revoke_grant(self, grant_id: str, reason: str = "revoked") -> int:
        """Revoke one grant and all its tokens; returns how many grants changed (0 or 1)."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "grant_id = ?", (grant_id,), reason))

    def revoke_tokens(self, token_ids: Iterable[str], reason: str = "revoked by the user") -> list[str]:
        """Revoke the grants that own these token ids; returns the ids that were found."""
        ids = list(token_ids)

        def run(conn: Conn) -> list[str]:
            found: list[str] = []
            for token_id in ids:
                row = conn.execute("SELECT grant_id FROM tokens WHERE token_id = ?", (token_id,)).fetchone()
                if row is not None:
                    found.append(token_id)
                    self._revoke_grants(conn, "grant_id = ?", (row["grant_id"],), reason)
            return found

        return self.db.tx(run)

    def revoke_client(self, client_id: str, reason: str = "revoked by the user") -> int:
        """Revoke every grant of one client; returns how many grants changed."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "client_id = ?", (client_id,), reason))

    def revoke_all(self, reason: str = "revoked by the user") -> int:
        """Revoke every grant; returns how many grants changed."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "1 = 1", (), reason))

    def revoke_remote(self, reason: str = "remote access stopped") -> int:
        """Revoke every grant made through the public URL (Stop remote access, expiry, panic)."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "remote = 1", (), reason))

    def remote_grant_count(self) -> int:
        """How many live grants were made through the public URL."""
        row = self.db.conn.execute(
            "SELECT COUNT(*) AS n FROM grants WHERE remote = 1 AND revoked_at IS NULL"
        ).fetchone()
        return int(row["n"])

    def extend_grant(self, grant_id: str, scopes: Sequence[str]) -> tuple[str, ...] | None:
        """Add scopes to a live grant and to its live tokens, so the client's next request has them.

        Returns the grant's scopes afterwards; None when there is no such live grant.
        """

        def run(conn: Conn) -> tuple[str, ...] | None:
            serialize(conn, "grant", grant_id)  # read the scopes, then write them
            row = conn.execute("SELECT client_id, scopes FROM grants WHERE grant_id = ? AND revoked_at IS NULL",
                               (grant_id,)).fetchone()
            if row is None:
                return None
            had = _scopes(row["scopes"])
            added = [s for s in dict.fromkeys(scopes) if s not in had]
            if not added:
                return had
            conn.execute("UPDATE grants SET scopes = ? WHERE grant_id = ?", (" ".join([*had, *added]), grant_id))
            for token_id, token_scopes in conn.execute(
                    "SELECT token_id, scopes FROM tokens WHERE grant_id = ? AND revoked_at IS NULL",
                    (grant_id,)).fetchall():
                current = _scopes(token_scopes)
                conn.execute("UPDATE tokens SET scopes = ? WHERE token_id = ?",
                             (" ".join([*current, *(s for s in added if s not in current)]), token_id))
            self._event(conn, EventKind.SCOPE_EXTENDED, row["client_id"], " ".join(added))
            return (*had, *added)

        return self.db.tx(run)

    def grant_of(self, grant_or_token_id: str) -> str | None:
        """A grant id from a grant id or a token id (as `tokens list` shows)."""
        conn = self.db.conn
        if conn.execute("SELECT 1 FROM grants WHERE grant_id = ?", (grant_or_token_id,)).fetchone():
            return grant_or_token_id
        row = conn.execute("SELECT grant_id FROM tokens WHERE token_id = ?", (grant_or_token_id,)).fetchone()
        return None if row is None else str(row["grant_id"])

    def revoked_among(self, token_hashes: Iterable[str], wait: bool = True) -> set[str]:
        """Which of these token hashes can no longer be used (for cutting live connections).

        With `wait=False` (on an event loop) the read never waits for a lock: BusyError instead.
        """
        hashes = list(token_hashes)
        if not hashes:
            return set()
        marks = ",".join("?" * len(hashes))

        def run(conn: Conn) -> set[str]:
            rows = conn.execute(
                f"""SELECT t.token_hash FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                    WHERE t.token_hash IN ({marks})
                      AND (t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL)""",  # noqa: S608 - placeholders
                hashes,
            ).fetchall()
            return {r["token_hash"] for r in rows}

        return run(self.db.conn) if wait else self.quick.run(run)

    def _revoke_grants(self, conn: Conn, where: str, args: tuple[Any, ...], reason: str) -> int:
        return token_rules.revoke_grants(conn, where, args, reason, time.time())

    # -- activity ----------------------------------------------------------------------------------

    def log_event(self, kind: EventKind, client_id: str | None = None, detail: str = "") -> None:
        """Add a line to the activity log (failed logins, errors, ...)."""
        self.db.tx(lambda conn: self._event(conn, kind, client_id, detail))

    _event = staticmethod(activity.record)

    def recent_events(self, limit: int = 100, after_id: int = 0) -> list[EventRow]:
        """The newest activity first."""
        return activity.recent(self.db.conn, limit, after_id)
__all__ = ["Store", "TooManyPendingError", "hash_secret"]
