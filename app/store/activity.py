"""The activity log: registrations, approvals, refreshes, revocations and failures, newest first."""

from __future__ import annotations

import sqlite3
import time

from app.store.kinds import EventKind
from app.store.rows import EventRow

DETAIL_LIMIT = 500  # characters kept of a detail; client-chosen text must not bloat the file
KEEP = 10_000  # newest lines kept; older ones are pruned
PRUNE_EVERY = 500  # lines added between prunes, so the bound holds without any timer


def record(conn: sqlite3.Connection, kind: EventKind, client_id: str | None, detail: str) -> None:
    """Add one line, inside the caller's transaction (and every PRUNE_EVERY lines, drop the oldest)."""
    cur = conn.execute(
        "INSERT INTO events (at, kind, client_id, detail) VALUES (?, ?, ?, ?)",
        (time.time(), kind, client_id, detail[:DETAIL_LIMIT]),
    )
    if cur.lastrowid is not None and cur.lastrowid % PRUNE_EVERY == 0:
        prune(conn)


def prune(conn: sqlite3.Connection, keep: int = KEEP) -> int:
    """Delete all but the newest `keep` lines; returns how many went."""
    cur = conn.execute(
        "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)", (keep,)
    )
    return cur.rowcount


def recent(conn: sqlite3.Connection, limit: int, after_id: int = 0) -> list[EventRow]:
    """Lines newer than `after_id`, newest first, with the client's name where it is known."""
    rows = conn.execute(
        """SELECT e.id, e.at, e.kind, e.client_id, c.client_name, e.detail FROM events e
           LEFT JOIN clients c ON c.client_id = e.client_id
           WHERE e.id > ? ORDER BY e.id DESC LIMIT ?""",
        (after_id, limit),
    ).fetchall()
    return [EventRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
