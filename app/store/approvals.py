"""Pending sign-in requests: made by /authorize, answered by the owner, delivered once to the browser.

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

from app.store.rows import PendingApproval
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


def create(
    conn: Conn,
    *,
    client_id: str,
    request: dict[str, object],
    scopes: Sequence[str],
    redirect_uri: str,
    listener: str,
    ttl: float = APPROVAL_TTL,
) -> str:
    """Add a waiting request inside the caller's transaction; returns its id.

    A client's oldest waiting requests are superseded so it never has more than PER_CLIENT_PENDING,
    and TooManyPendingError is raised when TOTAL_PENDING requests of all clients already wait.
    """
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
    return approval_id


def get(conn: Conn, key: str) -> PendingApproval | None:
    """One request by its id, or by the match code of a request still waiting."""
    r = conn.execute(f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.approval_id = ?", (key,)).fetchone()  # noqa: S608
    if r is None:
        r = conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.match_code = ? AND a.status = 'pending'",  # noqa: S608
            (key.strip().upper(),),
        ).fetchone()
    return None if r is None else _row(r)


def waiting(conn: Conn, now: float) -> list[PendingApproval]:
    """Requests still waiting for an answer, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.status = 'pending' AND a.expires_at > ?"  # noqa: S608
        " ORDER BY a.created_at",
        (now,),
    ).fetchall()
    return [_row(r) for r in rows]


def answer(
    conn: Conn,
    approval_id: str,
    *,
    approve: bool,
    scopes: Sequence[str],
    lifetime: float | None,
    approver: str,
    now: float,
) -> bool:
    """Record the owner's answer; False when the request no longer waits (answered, expired, gone)."""
    return conn.execute(
        "UPDATE approvals SET status = ?, answered_at = ?, approver = ?, granted_scopes = ?, grant_lifetime = ?"
        " WHERE approval_id = ? AND status = 'pending' AND expires_at > ?",
        ("approved" if approve else "denied", now, approver[:200], " ".join(scopes) if approve else None,
         lifetime if approve else None, approval_id, now),
    ).rowcount == 1


def mark_delivered(conn: Conn, approval_id: str, grant_id: str) -> bool:
    """Approved -> delivered, once; False when another request got there first."""
    return conn.execute(
        "UPDATE approvals SET status = 'delivered', grant_id = ? WHERE approval_id = ? AND status = 'approved'",
        (grant_id, approval_id),
    ).rowcount == 1
