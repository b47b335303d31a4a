"""Clients, grants, codes and tokens over SQLite: the one source of truth, shared across processes.

Tokens are stored as SHA-256 hashes only. A grant (one approval of one client) owns its code and
tokens; revoking the grant revokes all of them. Every state change is one transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.store import activity
from app.store.audit import AuditTable
from app.store.db import DB_NAME, Database
from app.store.held import HeldTable
from app.store.rows import (
    ClientGroup,
    ClientRow,
    CodeRow,
    EventRow,
    IssuedTokens,
    TokenCheck,
    TokenRow,
)

ACCESS_PREFIX = "mcpat_"
REFRESH_PREFIX = "mcprt_"
LAST_USED_RESOLUTION = 30.0  # seconds; last_used_at is written at most this often per token


def hash_secret(value: str) -> str:
    """SHA-256 hex digest of a token or code: what the store keeps instead of the value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _new_id() -> str:
    return secrets.token_hex(4)


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class ConsentAlreadyAnsweredError(Exception):
    """The consent request was approved or denied before; a form can be used once."""


class Store:
    """Typed operations over the database file in `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.db = Database(data_dir / DB_NAME)
        self.audit = AuditTable(self.db)
        self.held = HeldTable(self.db)

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    # -- clients ---------------------------------------------------------------------------

    def add_client(self, client_id: str, name: str, redirect_uris: Sequence[str], info: dict[str, Any]) -> None:
        """Store a newly registered client."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO clients (client_id, client_name, redirect_uris, info_json, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (client_id, name, json.dumps(list(redirect_uris)), json.dumps(info), time.time()),
            )
            self._event(conn, "registered", client_id, ", ".join(redirect_uris))

        self.db.tx(run)

    def client_info(self, client_id: str) -> dict[str, Any] | None:
        """The RFC 7591 record of a client that was not removed."""
        row = self.db.conn.execute(
            "SELECT info_json FROM clients WHERE client_id = ? AND removed_at IS NULL", (client_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def list_clients(self) -> list[ClientRow]:
        """Every client not removed, newest first, with its count of live tokens."""
        now = time.time()
        rows = self.db.conn.execute(
            """SELECT c.client_id, c.client_name, c.redirect_uris, c.created_at,
                      (SELECT COUNT(*) FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                        WHERE t.client_id = c.client_id AND t.revoked_at IS NULL
                          AND g.revoked_at IS NULL AND t.expires_at > ?) AS active
               FROM clients c WHERE c.removed_at IS NULL ORDER BY c.created_at DESC""",
            (now,),
        ).fetchall()
        return [
            ClientRow(r[0], r[1] or "(unnamed)", tuple(json.loads(r[2])), r[3], r[4]) for r in rows
        ]

    def client_groups(self) -> list[ClientGroup]:
        """Clients grouped by name and redirect URIs, so re-registrations show as one app."""
        groups: dict[tuple[str, tuple[str, ...]], list[ClientRow]] = {}
        for row in self.list_clients():
            groups.setdefault((row.client_name, row.redirect_uris), []).append(row)
        return [
            ClientGroup(
                client_name=name,
                redirect_uris=uris,
                client_ids=tuple(r.client_id for r in members),
                latest_created_at=max(r.created_at for r in members),
                active_tokens=sum(r.active_tokens for r in members),
            )
            for (name, uris), members in groups.items()
        ]

    def remove_client(self, client_id: str) -> bool:
        """Forget a client and revoke everything it holds; False if there was no such client."""

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE clients SET removed_at = ? WHERE client_id = ? AND removed_at IS NULL",
                (time.time(), client_id),
            )
            if cur.rowcount == 0:
                return False
            self._revoke_grants(conn, "client_id = ?", (client_id,), "client removed")
            self._event(conn, "client removed", client_id, "")
            return True

        return self.db.tx(run)

    # -- consent, codes and grants --------------------------------------------------------------

    def approve(
        self,
        *,
        nonce: str,
        client_id: str,
        scopes: Sequence[str],
        resource: str | None,
        redirect_uri: str,
        redirect_explicit: bool,
        code_challenge: str,
        code_ttl: float,
    ) -> str:
        """Record an approval: a new grant and its authorization code. Returns the code."""
        code = secrets.token_urlsafe(32)

        def run(conn: sqlite3.Connection) -> None:
            self._answer_consent(conn, nonce)
            grant_id = _new_id() + _new_id()
            now = time.time()
            conn.execute(
                "INSERT INTO grants (grant_id, client_id, scopes, resource, redirect_uri, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (grant_id, client_id, " ".join(scopes), resource, redirect_uri, now),
            )
            conn.execute(
                "INSERT INTO codes (code_hash, grant_id, client_id, code_challenge, redirect_uri,"
                " redirect_explicit, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (hash_secret(code), grant_id, client_id, code_challenge, redirect_uri,
                 int(redirect_explicit), now + code_ttl),
            )
            self._event(conn, "authorized", client_id, " ".join(scopes))

        self.db.tx(run)
        return code

    def deny(self, *, nonce: str, client_id: str) -> None:
        """Record a denial, so the same consent form cannot later be approved."""

        def run(conn: sqlite3.Connection) -> None:
            self._answer_consent(conn, nonce)
            self._event(conn, "denied", client_id, "the user denied access")

        self.db.tx(run)

    @staticmethod
    def _answer_consent(conn: sqlite3.Connection, nonce: str) -> None:
        try:
            conn.execute("INSERT INTO consents (nonce, answered_at) VALUES (?, ?)", (nonce, time.time()))
        except sqlite3.IntegrityError as exc:
            raise ConsentAlreadyAnsweredError(nonce) from exc

    def load_code(self, code: str) -> CodeRow | None:
        """The stored code with this value, used or not."""
        r = self.db.conn.execute(
            """SELECT c.code_hash, c.grant_id, c.client_id, c.code_challenge, c.redirect_uri,
                      c.redirect_explicit, c.expires_at, c.used_at, g.scopes, g.resource, g.revoked_at
               FROM codes c JOIN grants g ON g.grant_id = c.grant_id WHERE c.code_hash = ?""",
            (hash_secret(code),),
        ).fetchone()
        if r is None:
            return None
        return CodeRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], _scopes(r[8]), r[9], r[10] is not None)

    def redeem_code(self, code_hash: str, access_ttl: int, refresh_ttl: int) -> IssuedTokens | None:
        """Spend a code once and mint the grant's first tokens.

        A code already spent is a replay (RFC 6749 10.5): the grant and all it issued are revoked,
        and None comes back.
        """

        def run(conn: sqlite3.Connection) -> IssuedTokens | None:
            now = time.time()
            cur = conn.execute(
                "UPDATE codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
                (now, code_hash, now),
            )
            row = conn.execute(
                "SELECT c.grant_id, g.scopes, g.resource, c.client_id, g.revoked_at FROM codes c"
                " JOIN grants g ON g.grant_id = c.grant_id WHERE c.code_hash = ?",
                (code_hash,),
            ).fetchone()
            if row is None:
                return None
            if cur.rowcount == 0:
                self._revoke_grants(conn, "grant_id = ?", (row[0],), "authorization code replayed")
                self._event(conn, "code replayed", row[3], "grant revoked")
                return None
            if row[4] is not None:
                return None
            return self._mint(conn, row[0], row[3], _scopes(row[1]), row[2], access_ttl, refresh_ttl, now)

        return self.db.tx(run)

    # -- tokens ------------------------------------------------------------------------------------

    def check_token(self, token: str) -> TokenCheck | None:
        """Look a presented token up by its hash (one indexed read; no write)."""
        r = self.db.conn.execute(
            """SELECT t.token_id, t.token_hash, t.kind, t.grant_id, t.client_id, t.scopes, t.resource,
                      t.expires_at, t.last_used_at, t.rotated_at,
                      (t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL) AS revoked
               FROM tokens t JOIN grants g ON g.grant_id = t.grant_id WHERE t.token_hash = ?""",
            (hash_secret(token),),
        ).fetchone()
        if r is None:
            return None
        return TokenCheck(r[0], r[1], r[2], r[3], r[4], _scopes(r[5]), r[6], r[7], r[8], r[9], bool(r[10]))

    def touch(self, check: TokenCheck) -> None:
        """Note that a token was used, at most once per LAST_USED_RESOLUTION seconds."""
        now = time.time()
        if check.last_used_at is not None and now - check.last_used_at < LAST_USED_RESOLUTION:
            return
        self.db.conn.execute(
            "UPDATE tokens SET last_used_at = ? WHERE token_hash = ?", (now, check.token_hash)
        )

    def rotate_refresh(
        self, refresh_hash: str, scopes: Sequence[str], access_ttl: int, refresh_ttl: int
    ) -> IssuedTokens | None:
        """Spend a refresh token once for a new pair (rotation).

        A refresh token presented after it was spent revokes its grant (OAuth 2.1 4.3.1), so a
        stolen copy dies with the original. None when the token cannot be used.
        """

        def run(conn: sqlite3.Connection) -> IssuedTokens | None:
            now = time.time()
            row = conn.execute(
                """SELECT t.grant_id, t.client_id, t.resource, t.rotated_at, t.revoked_at,
                          g.revoked_at, t.expires_at
                   FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                   WHERE t.token_hash = ? AND t.kind = 'refresh'""",
                (refresh_hash,),
            ).fetchone()
            if row is None:
                return None
            grant_id, client_id, resource, rotated_at, revoked_at, grant_revoked, expires_at = row
            if rotated_at is not None:
                self._revoke_grants(conn, "grant_id = ?", (grant_id,), "refresh token reused")
                self._event(conn, "refresh reused", client_id, "grant revoked")
                return None
            if revoked_at is not None or grant_revoked is not None or expires_at <= now:
                return None
            conn.execute(
                "UPDATE tokens SET rotated_at = ?, revoked_at = ? WHERE token_hash = ?",
                (now, now, refresh_hash),
            )
            issued = self._mint(conn, grant_id, client_id, tuple(scopes), resource, access_ttl, refresh_ttl, now)
            self._event(conn, "refreshed", client_id, "")
            return issued

        return self.db.tx(run)

    def _mint(
        self,
        conn: sqlite3.Connection,
        grant_id: str,
        client_id: str,
        scopes: Sequence[str],
        resource: str | None,
        access_ttl: int,
        refresh_ttl: int,
        now: float,
    ) -> IssuedTokens:
        access = ACCESS_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        for kind, value, ttl in (("access", access, access_ttl), ("refresh", refresh, refresh_ttl)):
            conn.execute(
                "INSERT INTO tokens (token_id, token_hash, kind, grant_id, client_id, scopes, resource,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_new_id(), hash_secret(value), kind, grant_id, client_id, " ".join(scopes), resource,
                 now, now + ttl),
            )
        return IssuedTokens(access, refresh, access_ttl, tuple(scopes))

    def list_tokens(self, include_inactive: bool = False) -> list[TokenRow]:
        """Tokens with their client's name, newest first; by default only live ones."""
        where = "" if include_inactive else (
            "WHERE t.revoked_at IS NULL AND g.revoked_at IS NULL AND t.expires_at > :now"
        )
        rows = self.db.conn.execute(
            f"""SELECT t.token_id, t.kind, t.grant_id, t.client_id, COALESCE(c.client_name, ''),
                       t.scopes, t.resource, t.created_at, t.expires_at, t.last_used_at,
                       COALESCE(t.revoked_at, g.revoked_at)
                FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                LEFT JOIN clients c ON c.client_id = t.client_id
                {where} ORDER BY t.created_at DESC, t.kind""",  # noqa: S608 - fixed text, no input
            {"now": time.time()},
        ).fetchall()
        return [
            TokenRow(r[0], r[1], r[2], r[3], r[4] or "(unnamed)", _scopes(r[5]), r[6], r[7], r[8], r[9], r[10])
            for r in rows
        ]

    def revoke_grant(self, grant_id: str, reason: str = "revoked") -> int:
        """Revoke one grant and all its tokens; returns how many grants changed (0 or 1)."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "grant_id = ?", (grant_id,), reason))

    def revoke_tokens(self, token_ids: Iterable[str], reason: str = "revoked by the user") -> list[str]:
        """Revoke the grants that own these token ids; returns the ids that were found."""
        ids = list(token_ids)

        def run(conn: sqlite3.Connection) -> list[str]:
            found: list[str] = []
            for token_id in ids:
                row = conn.execute("SELECT grant_id FROM tokens WHERE token_id = ?", (token_id,)).fetchone()
                if row is not None:
                    found.append(token_id)
                    self._revoke_grants(conn, "grant_id = ?", (row[0],), reason)
            return found

        return self.db.tx(run)

    def revoke_client(self, client_id: str, reason: str = "revoked by the user") -> int:
        """Revoke every grant of one client; returns how many grants changed."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "client_id = ?", (client_id,), reason))

    def revoke_all(self, reason: str = "revoked by the user") -> int:
        """Revoke every grant; returns how many grants changed."""
        return self.db.tx(lambda conn: self._revoke_grants(conn, "1 = 1", (), reason))

    def extend_grant(self, grant_id: str, scopes: Sequence[str]) -> tuple[str, ...] | None:
        """Add scopes to a live grant and to its live tokens, so the client's next request has them.

        Returns the grant's scopes afterwards; None when there is no such live grant.
        """

        def run(conn: sqlite3.Connection) -> tuple[str, ...] | None:
            row = conn.execute("SELECT client_id, scopes FROM grants WHERE grant_id = ? AND revoked_at IS NULL",
                               (grant_id,)).fetchone()
            if row is None:
                return None
            had = _scopes(row[1])
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
            self._event(conn, "scope extended", row[0], " ".join(added))
            return (*had, *added)

        return self.db.tx(run)

    def grant_of(self, grant_or_token_id: str) -> str | None:
        """A grant id from a grant id or a token id (as `tokens list` shows)."""
        conn = self.db.conn
        if conn.execute("SELECT 1 FROM grants WHERE grant_id = ?", (grant_or_token_id,)).fetchone():
            return grant_or_token_id
        row = conn.execute("SELECT grant_id FROM tokens WHERE token_id = ?", (grant_or_token_id,)).fetchone()
        return None if row is None else str(row[0])

    def revoked_among(self, token_hashes: Iterable[str]) -> set[str]:
        """Which of these token hashes can no longer be used (for cutting live connections)."""
        hashes = list(token_hashes)
        if not hashes:
            return set()
        marks = ",".join("?" * len(hashes))
        rows = self.db.conn.execute(
            f"""SELECT t.token_hash FROM tokens t JOIN grants g ON g.grant_id = t.grant_id
                WHERE t.token_hash IN ({marks})
                  AND (t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL)""",  # noqa: S608 - placeholders
            hashes,
        ).fetchall()
        return {r[0] for r in rows}

    def _revoke_grants(self, conn: sqlite3.Connection, where: str, args: tuple[Any, ...], reason: str) -> int:
        now = time.time()
        grants = conn.execute(
            f"SELECT grant_id, client_id FROM grants WHERE revoked_at IS NULL AND {where}", args  # noqa: S608
        ).fetchall()
        for grant_id, client_id in grants:
            conn.execute(
                "UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE grant_id = ?", (now, reason, grant_id)
            )
            conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL", (now, grant_id)
            )
            self._event(conn, "revoked", client_id, reason)
        return len(grants)

    # -- activity ----------------------------------------------------------------------------------

    def log_event(self, kind: str, client_id: str | None = None, detail: str = "") -> None:
        """Add a line to the activity log (failed logins, errors, ...)."""
        self.db.tx(lambda conn: self._event(conn, kind, client_id, detail))

    _event = staticmethod(activity.record)

    def recent_events(self, limit: int = 100, after_id: int = 0) -> list[EventRow]:
        """The newest activity first."""
        return activity.recent(self.db.conn, limit, after_id)
