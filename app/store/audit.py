"""The audit log of tool use: one row per tools/call, resources/read and prompts/get, hash-chained.

Each row carries `prev_hash` (the hash of the row before it) and `hash`, a SHA-256 over
`prev_hash` and the row's own fields. Editing, inserting or deleting a row in the middle breaks the
chain at that row, which `verify` names. Retention deletes from the old end; the oldest kept row's
`prev_hash` is then the anchor (its predecessor is gone by design).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.store.db import Database
from app.store.sql import Conn, dialect, serialize

GENESIS = "0" * 64
YIELD_EVERY = 8  # rows the chain loop works through before it lets other threads have the GIL

# Outcomes, as stored and shown.
OK = "ok"
TOOL_ERROR = "tool error"
ERROR = "error"  # a protocol error: unknown method, malformed params, ...
DENIED = "denied"  # the owner declined
NO_ANSWER = "no answer"  # the owner did not answer in time
BLOCKED = "blocked"  # the tool's policy is Block
REFUSED = "refused"  # too many calls waiting for the owner
REFUSED_SCOPE = "refused scope"  # the grant lacks the tool's scope
CANCELLED = "cancelled"  # the client went away first
OUTCOMES = (OK, TOOL_ERROR, ERROR, DENIED, NO_ANSWER, BLOCKED, REFUSED, REFUSED_SCOPE, CANCELLED)


@dataclass(frozen=True)
class AuditEntry:
    """One call, as the server records it (the store adds id and hashes)."""

    at: float
    client_id: str | None
    client_name: str | None
    grant_id: str | None
    method: str
    name: str
    arguments: str
    outcome: str
    detail: str
    duration_ms: float


@dataclass(frozen=True)
class AuditRow:
    """A stored audit row."""

    id: int
    at: float
    client_id: str | None
    client_name: str | None
    grant_id: str | None
    method: str
    name: str
    arguments: str
    outcome: str
    detail: str
    duration_ms: float
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditFilter:
    """Which rows to list; None means any."""

    client_id: str | None = None
    name: str | None = None
    outcome: str | None = None
    since: float | None = None
    after_id: int = 0
    limit: int = 500


@dataclass(frozen=True)
class VerifyResult:
    """What `verify` found: ok, or the first row whose hash or link is wrong."""

    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


_COLUMNS = ("id, at, client_id, client_name, grant_id, method, name, arguments, outcome, detail,"
            " duration_ms, prev_hash, hash")


# SQLite: a whole batch in one statement. The writer's thread shares the GIL with the server's event
# loop, and each statement it steps lets go of the GIL and takes it back; one per row (executemany)
# made the loop wait for the writer at every turn, about a fifth of a call's time under load.
_INSERT_BATCH = (f"INSERT INTO audit ({_COLUMNS}) SELECT "  # noqa: S608 - fixed columns
                 + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(_COLUMNS.split(","))))
                 + " FROM json_each(?)")


_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # what json.dumps(..., those) builds per call


def row_hash(prev_hash: str, row_id: int, e: AuditEntry) -> str:
    """The SHA-256 that chains a row to the one before it."""
    return _fields_hash(prev_hash, [row_id, e.at, e.client_id, e.client_name, e.grant_id, e.method, e.name,
                                    e.arguments, e.outcome, e.detail, e.duration_ms])


def _fields_hash(prev_hash: str, fields: list[object]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{_CANONICAL.encode(fields)}".encode()).hexdigest()


def _row(r: Any) -> AuditRow:
    return AuditRow(*r)  # every column, in _COLUMNS' order


def _entry(r: AuditRow) -> AuditEntry:
    return AuditEntry(r.at, r.client_id, r.client_name, r.grant_id, r.method, r.name, r.arguments,
                      r.outcome, r.detail, r.duration_ms)


class AuditTable:
    """Reads and writes of the audit table (any thread: the Database gives each its connection)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, entries: Sequence[AuditEntry]) -> list[int]:
        """Add rows in one transaction, chained onto the newest row; returns their ids."""

        def run(conn: Conn) -> list[int]:
            serialize(conn, "audit")  # the chain is read, then extended: one writer at a time
            last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            prev = GENESIS if last is None else str(last["hash"])
            next_id = max(int(last["id"]) if last else 0, _highest_id_ever(conn)) + 1
            ids: list[int] = []
            rows: list[list[object]] = []
            for n, e in enumerate(entries, 1):  # the writer's thread holds the GIL through this loop: keep it lean
                if n % YIELD_EVERY == 0:
                    time.sleep(0)  # let the event loop have the GIL: it waits out every stretch of this loop
                fields: list[object] = [next_id, e.at, e.client_id, e.client_name, e.grant_id, e.method, e.name,
                                        e.arguments, e.outcome, e.detail, round(e.duration_ms, 3)]
                digest = _fields_hash(prev, fields)
                fields += (prev, digest)
                rows.append(fields)
                ids.append(next_id)
                prev, next_id = digest, next_id + 1
            if dialect(conn) == "sqlite":
                conn.execute(_INSERT_BATCH, (json.dumps(rows, ensure_ascii=False, allow_nan=False),))
            else:
                conn.executemany(
                    f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)  # noqa: S608
            _note_highest_id(conn, next_id - 1)
            return ids

        return self.db.tx(run)

    def rows(self, f: AuditFilter = AuditFilter()) -> list[AuditRow]:
        """Rows matching `f`, newest first."""
        where: list[str] = ["id > ?"]
        args: list[object] = [f.after_id]
        for column, value in (("client_id", f.client_id), ("name", f.name), ("outcome", f.outcome)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if f.since is not None:
            where.append("at >= ?")
            args.append(f.since)
        sql = (f"SELECT {_COLUMNS} FROM audit WHERE {' AND '.join(where)}"  # noqa: S608 - fixed columns
               " ORDER BY id DESC LIMIT ?")
        return [_row(r) for r in self.db.conn.execute(sql, [*args, max(1, f.limit)]).fetchall()]

    def all_rows(self) -> list[AuditRow]:
        """Every row, oldest first (for export)."""
        return [_row(r) for r in self.db.conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id")]  # noqa: S608

    def facets(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(client id, client name) pairs and names seen in the log, for the GUI's filters."""
        conn = self.db.conn
        clients = conn.execute(
            "SELECT client_id, MAX(COALESCE(client_name, '')) AS client_name FROM audit WHERE client_id IS NOT NULL"
            " GROUP BY client_id ORDER BY 2, 1").fetchall()
        names = conn.execute("SELECT DISTINCT name FROM audit ORDER BY name").fetchall()
        return [(str(c), str(n)) for c, n in clients], [str(n["name"]) for n in names]

    def verify(self) -> VerifyResult:
        """Walk the chain from the oldest kept row; the first row that does not match is broken."""
        prev: str | None = None
        checked = 0
        for r in self.db.conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id"):  # noqa: S608
            row = _row(r)
            if prev is not None and row.prev_hash != prev:
                return VerifyResult(False, checked, row.id, "its link to the row before does not match "
                                    "(a row was removed or inserted here)")
            if row_hash(row.prev_hash, row.id, _entry(row)) != row.hash:
                return VerifyResult(False, checked, row.id, "its contents do not match its hash (edited)")
            prev = row.hash
            checked += 1
        return VerifyResult(True, checked)

    def trim(self, max_days: float, max_rows: int, now: float | None = None) -> int:
        """Apply retention: drop rows older than `max_days` and all but the newest `max_rows`."""
        cutoff = (time.time() if now is None else now) - max_days * 86400

        def run(conn: Conn) -> int:
            gone = conn.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount
            newest = conn.execute("SELECT MAX(id) AS id FROM audit").fetchone()["id"]
            if newest is not None:
                gone += conn.execute("DELETE FROM audit WHERE id <= ?", (int(newest) - max_rows,)).rowcount
            return int(gone)

        return self.db.tx(run)

    def count(self) -> int:
        """How many rows are kept."""
        return int(self.db.conn.execute("SELECT COUNT(*) AS n FROM audit").fetchone()["n"])


def _highest_id_ever(conn: Conn) -> int:
    """The highest id the audit table ever handed out (rows trimmed since included): ids never come back."""
    if dialect(conn) == "sqlite":
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
        return int(seq["seq"]) if seq else 0
    seq = conn.execute("SELECT last_value, is_called FROM audit_id_seq").fetchone()
    return int(seq["last_value"]) if seq["is_called"] else 0


def _note_highest_id(conn: Conn, highest: int) -> None:
    """PostgreSQL: move the identity sequence past ids written explicitly (SQLite's AUTOINCREMENT does this itself)."""
    if dialect(conn) == "postgres":
        conn.execute("SELECT setval('audit_id_seq', GREATEST(?, (SELECT last_value FROM audit_id_seq)))", (highest,))
