"""The activity log: registrations, approvals, refreshes, revocations and failures, newest first."""

from __future__ import annotations

import time

from app.store.kinds import EventKind
from app.store.rows import EventRow
from app.store.sql import Conn

DETAIL_LIMIT = 500  # characters kept of a detail; client-chosen text must not bloat the file
KEEP = 10_000  # newest lines kept; older ones are pruned
PRUNE_EVERY = 500  # lines added between prunes, so the bound holds without any timer


def record(conn: Conn, kind: EventKind, client_id: str | None, detail: str) -> None:
    """Add one line, inside the caller's transaction (and every PRUNE_EVERY lines, drop the oldest)."""
    row_id = conn.execute(
        "INSERT INTO events (at, kind, client_id, detail) VALUES (?, ?, ?, ?) RETURNING id",
        (time.time(), kind, client_id, detail[:DETAIL_LIMIT]),
    ).fetchall()[0]["id"]
    if row_id % PRUNE_EVERY == 0:
        prune(conn)


def prune(conn: Conn, keep: int = KEEP) -> int:
    """Delete all but the newest `keep` lines; returns how many went."""
    cur = conn.execute(
        "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)", (keep,)
    )
    return cur.rowcount


def recent(conn: Conn, limit: int, after_id: int = 0) -> list[EventRow]:
    """Lines newer than `after_id`, newest first, with the client's name where it is known."""
    rows = conn.execute(
        """SELECT e.id, e.at, e.kind, e.client_id, c.client_name, e.detail FROM events e
           LEFT JOIN clients c ON c.client_id = e.client_id
           WHERE e.id > ? ORDER BY e.id DESC LIMIT ?""",
        (after_id, limit),
    ).fetchall()
    return [EventRow(r["id"], r["at"], r["kind"], r["client_id"], r["client_name"], r["detail"]) for r in rows]
