"""Pending sign-in requests (`store.approvals`): made by /authorize, answered by the owner, delivered once.

A request moves pending -> approved | denied | expired | superseded, and approved -> delivered when
the waiting page collects its authorization code. Every move is one conditional UPDATE, so two
answers (the tray and the CLI at once) cannot both win, and a code is minted exactly once. The
code is minted at delivery, not at approval, so no usable code ever sits in the database.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

from app.store import activity
from app.store.db import Database
from app.store.hashing import hash_secret
from app.store.kinds import EventKind
from app.store.rows import Delivery, PendingApproval
from app.store.sql import Conn, serialize

APPROVAL_TTL = 600.0  # seconds a request waits for the owner
PER_CLIENT_PENDING = 3  # a client's older waiting requests are superseded past this
TOTAL_PENDING = 20  # past this, new requests are refused until the owner answers some
# Letters and digits that cannot be mistaken for each other when read aloud or copied by eye.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class TooManyPendingError(Exception):
    """Too many sign-in requests are already waiting for the owner."""


def new_match_code() -> str:
    """A short code like `KXQF-7283` shown on the waiting page and in the tray."""
    letters = "".join(secrets.choice(CODE_ALPHABET[:23]) for _ in range(4))
    digits = "".join(secrets.choice(CODE_ALPHABET[23:]) for _ in range(4))
    return f"{letters}-{digits}"


_COLUMNS = """a.approval_id, a.match_code, a.client_id, COALESCE(c.client_name, '') AS client_name,
              COALESCE(c.info_json, '{}') AS info_json,
              a.request_json, a.scopes, a.redirect_uri, a.listener, a.created_at, a.expires_at, a.status,
              a.answered_at, a.approver, a.granted_scopes, a.grant_lifetime"""
_FROM = "approvals a LEFT JOIN clients c ON c.client_id = a.client_id"


def _row(r: Any) -> PendingApproval:
    return PendingApproval(
        approval_id=str(r["approval_id"]), match_code=str(r["match_code"]), client_id=str(r["client_id"]),
        client_name=str(r["client_name"]) or "(unnamed client)", client_info=dict(json.loads(str(r["info_json"]))),
        request=dict(json.loads(str(r["request_json"]))), scopes=tuple(str(r["scopes"]).split()),
        redirect_uri=str(r["redirect_uri"]), listener=str(r["listener"]), created_at=float(r["created_at"]),
        expires_at=float(r["expires_at"]), status=str(r["status"]),
        answered_at=None if r["answered_at"] is None else float(r["answered_at"]),
        approver=None if r["approver"] is None else str(r["approver"]),
        granted_scopes=tuple(str(r["granted_scopes"] or "").split()),
        grant_lifetime=None if r["grant_lifetime"] is None else float(r["grant_lifetime"]),
    )


def expire(conn: Conn, now: float) -> int:
    """Mark requests nobody answered in time as expired; returns how many."""
    return conn.execute(
        "UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?", (now,)
    ).rowcount


def prune(conn: Conn, cutoff: float) -> None:
    """Expire what nobody answered in time, and forget answered requests made before `cutoff`."""
    expire(conn, time.time())
    conn.execute("DELETE FROM approvals WHERE status != 'pending' AND created_at < ?", (cutoff,))


def _get(conn: Conn, key: str) -> PendingApproval | None:
    r = conn.execute(f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.approval_id = ?", (key,)).fetchone()  # noqa: S608
    if r is None:
        r = conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.match_code = ? AND a.status = 'pending'",  # noqa: S608
            (key.strip().upper(),),
        ).fetchone()
    return None if r is None else _row(r)


class ApprovalTable:
    """Reads and writes of the sign-in requests (any thread: the Database gives each its connection)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        *,
        client_id: str,
        request: dict[str, object],
        scopes: Sequence[str],
        redirect_uri: str,
        listener: str = "",
        ttl: float = APPROVAL_TTL,
    ) -> PendingApproval:
        """A new sign-in request that waits for the owner.

        A client's oldest waiting requests are superseded so it never has more than PER_CLIENT_PENDING,
        and TooManyPendingError is raised when TOTAL_PENDING requests of all clients already wait.
        """

        def run(conn: Conn) -> str:
            serialize(conn, "approvals")  # the bounds below count, then insert: one creator at a time
            now = time.time()
            expire(conn, now)
            mine = conn.execute(
                "SELECT approval_id FROM approvals WHERE status = 'pending' AND client_id = ? ORDER BY created_at",
                (client_id,),
            ).fetchall()
            for (old_id,) in mine[: max(0, len(mine) - PER_CLIENT_PENDING + 1)]:
                conn.execute("UPDATE approvals SET status = 'superseded' WHERE approval_id = ?", (old_id,))
            total = conn.execute("SELECT COUNT(*) AS n FROM approvals WHERE status = 'pending'").fetchone()["n"]
            if total >= TOTAL_PENDING:
                raise TooManyPendingError(f"{total} sign-in requests are already waiting")
            taken = {r["match_code"] for r in conn.execute("SELECT match_code FROM approvals WHERE status = 'pending'")}
            code = new_match_code()
            while code in taken:
                code = new_match_code()
            approval_id = secrets.token_hex(4)
            conn.execute(
                "INSERT INTO approvals (approval_id, match_code, client_id, request_json, scopes, redirect_uri,"
                " listener, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (approval_id, code, client_id, json.dumps(request), " ".join(scopes), redirect_uri, listener[:500],
                 now, now + ttl),
            )
            activity.record(conn, EventKind.SIGN_IN_REQUESTED, client_id, " ".join(scopes))
            return approval_id

        created = self.get(self.db.tx(run))
        assert created is not None
        return created

    def get(self, key: str) -> PendingApproval | None:
        """One request by its id, or by the match code of a request still waiting."""
        return _get(self.db.conn, key)

    def waiting(self) -> list[PendingApproval]:
        """Requests still waiting for the owner, oldest first."""
        rows = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.status = 'pending' AND a.expires_at > ?"  # noqa: S608
            " ORDER BY a.created_at",
            (time.time(),),
        ).fetchall()
        return [_row(r) for r in rows]

    def answer(
        self,
        approval_id: str,
        *,
        approve: bool,
        scopes: Sequence[str] | None = None,
        lifetime: float | None = None,
        approver: str = "owner",
    ) -> PendingApproval | None:
        """The owner's answer to a waiting request; None when it no longer waits (answered, expired, gone).

        `scopes` is what the owner granted (the caller applies the consent rules); `lifetime` is how
        many seconds the grant lasts (None: until revoked).
        """

        def run(conn: Conn) -> bool:
            found = _get(conn, approval_id)
            if found is None:
                return False
            now = time.time()
            done = conn.execute(
                "UPDATE approvals SET status = ?, answered_at = ?, approver = ?, granted_scopes = ?,"
                " grant_lifetime = ? WHERE approval_id = ? AND status = 'pending' AND expires_at > ?",
                ("approved" if approve else "denied", now, approver[:200],
                 " ".join(scopes or ()) if approve else None, lifetime if approve else None, found.approval_id, now),
            ).rowcount == 1
            if done:
                kind = EventKind.AUTHORIZED if approve else EventKind.DENIED
                detail = f"{' '.join(scopes or ())} (by {approver})" if approve else f"by {approver}"
                if found.request.get("remote"):
                    detail += "; remote, through the public URL"
                activity.record(conn, kind, found.client_id, detail)
            return done

        if not self.db.tx(run):
            return None
        return self.get(approval_id)

    def deliver(self, approval_id: str, code_ttl: float) -> Delivery | None:
        """What the waiting page sends the browser on with; mints the grant and its code exactly once."""

        def run(conn: Conn) -> Delivery | None:
            serialize(conn, "approval", approval_id)  # read the status, then deliver: once
            now = time.time()
            expire(conn, now)
            found = _get(conn, approval_id)
            if found is None:
                return None
            if found.status != "approved":
                status = "expired" if found.status == "superseded" else found.status
                return Delivery(status, found)
            req = found.request
            grant_id = secrets.token_hex(8)
            expires = None if found.grant_lifetime is None else now + found.grant_lifetime
            conn.execute(
                "INSERT INTO grants (grant_id, client_id, scopes, resource, redirect_uri, created_at,"
                " expires_at, approver, remote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (grant_id, found.client_id, " ".join(found.granted_scopes), req.get("resource"),
                 found.redirect_uri, now, expires, found.approver, int(bool(req.get("remote")))),
            )
            code = secrets.token_urlsafe(32)
            conn.execute(
                "INSERT INTO codes (code_hash, grant_id, client_id, code_challenge, redirect_uri,"
                " redirect_explicit, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (hash_secret(code), grant_id, found.client_id, str(req.get("code_challenge", "")),
                 found.redirect_uri, int(bool(req.get("redirect_explicit"))), now + code_ttl),
            )
            delivered = conn.execute(
                "UPDATE approvals SET status = 'delivered', grant_id = ? WHERE approval_id = ? AND status = 'approved'",
                (grant_id, found.approval_id),
            ).rowcount == 1
            if not delivered:
                raise RuntimeError("approval delivered twice")  # cannot happen: serialized above
            return Delivery("approved", found, code)

        return self.db.tx(run)
