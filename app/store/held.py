"""Calls held for the owner's answer, and the owner's standing answers ("allow this client for an hour").

The server writes a row when it holds a call and removes it when the call ends. Whoever answers
(the tray in the server's process, or `mcp-tray calls allow` in another) changes the row's state;
the server sees that within a fraction of a second. Full arguments live here only while the call
waits, since the owner must see them to decide; the audit log keeps only a redacted summary.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from app.store.db import Database
from app.store.sql import Conn, serialize

WAITING, ALLOWED, DENIED = "waiting", "allowed", "denied"
ONCE, HOUR, ALWAYS = "once", "hour", "always"
ANSWERS = (ONCE, HOUR, ALWAYS)
HOUR_SECONDS = 3600.0


@dataclass(frozen=True)
class HeldCall:
    """A call waiting for (or just given) the owner's answer."""

    call_id: str
    at: float
    client_id: str | None
    client_name: str | None
    grant_id: str | None
    tool: str
    arguments: str
    state: str
    answer_for: str | None


@dataclass(frozen=True)
class Allowance:
    """A standing answer: this client may call this tool without asking, until `until` (None: always)."""

    client_id: str
    tool: str
    until: float | None
    created_at: float


_COLUMNS = "call_id, at, client_id, client_name, grant_id, tool, arguments, state, answer_for"


class HeldTable:
    """Held calls and allowances over the shared database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def hold(self, client_id: str | None, client_name: str | None, grant_id: str | None, tool: str,
             arguments: str) -> HeldCall:
        """Record a call that waits for the owner."""
        call = HeldCall(secrets.token_hex(3), time.time(), client_id, client_name, grant_id, tool, arguments,
                        WAITING, None)
        self.db.tx(lambda conn: conn.execute(
            f"INSERT INTO held_calls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (call.call_id, call.at, client_id, client_name, grant_id, tool, arguments, WAITING, None)))
        return call

    def hold_capped(self, client_id: str | None, client_name: str | None, grant_id: str, tool: str, arguments: str,
                    cap: int, since: float) -> HeldCall | None:
        """Record a waiting call unless its grant already has `cap` held since `since`, in any process.

        The count and the insert run under the grant's lock (`serialize`), so workers answering the
        same grant at once cannot both take the last place. Rows older than `since` are left by a
        process that died while holding them (they cannot still be waiting) and do not count.
        """
        call = HeldCall(secrets.token_hex(3), time.time(), client_id, client_name, grant_id, tool, arguments,
                        WAITING, None)

        def run(conn: Conn) -> HeldCall | None:
            serialize(conn, "held", grant_id)
            row = conn.execute("SELECT COUNT(*) FROM held_calls WHERE grant_id = ? AND state = ? AND at > ?",
                               (grant_id, WAITING, since)).fetchone()
            if row is not None and int(row[0]) >= cap:
                return None
            conn.execute(f"INSERT INTO held_calls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                         (call.call_id, call.at, client_id, client_name, grant_id, tool, arguments, WAITING, None))
            return call

        return self.db.tx(run)

    def get(self, call_id: str) -> HeldCall | None:
        """One held call by id."""
        r = self.db.conn.execute(f"SELECT {_COLUMNS} FROM held_calls WHERE call_id = ?",  # noqa: S608
                                 (call_id,)).fetchone()
        return None if r is None else HeldCall(*r)

    def pending(self) -> list[HeldCall]:
        """Calls waiting now, oldest first (the newest last, as the prompt shows them)."""
        rows = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM held_calls WHERE state = ? ORDER BY at, call_id", (WAITING,)  # noqa: S608
        ).fetchall()
        return [HeldCall(*r) for r in rows]

    def answer(self, call_id: str, allow: bool, answer_for: str = ONCE, by: str = "owner") -> HeldCall | None:
        """Allow or deny a waiting call (and, for hour/always, remember it for this client and tool).

        None when no call with this id is waiting (answered before, or it ended).
        """
        if answer_for not in ANSWERS:
            raise ValueError(f"{answer_for!r} is not one of {', '.join(ANSWERS)}")

        def run(conn: Conn) -> HeldCall | None:
            now = time.time()
            cur = conn.execute(
                "UPDATE held_calls SET state = ?, answer_for = ?, answered_at = ?, answered_by = ?,"
                " arguments = '' WHERE call_id = ? AND state = ?",
                (ALLOWED if allow else DENIED, answer_for, now, by, call_id, WAITING))
            if cur.rowcount == 0:
                return None
            r = conn.execute(f"SELECT {_COLUMNS} FROM held_calls WHERE call_id = ?",  # noqa: S608
                             (call_id,)).fetchone()
            call = HeldCall(*r)
            if allow and answer_for != ONCE and call.client_id is not None:
                until = None if answer_for == ALWAYS else now + HOUR_SECONDS
                conn.execute("INSERT INTO tool_allowances (client_id, tool, until, created_at) VALUES (?, ?, ?, ?)"
                             " ON CONFLICT (client_id, tool) DO UPDATE SET until = excluded.until,"
                             " created_at = excluded.created_at", (call.client_id, call.tool, until, now))
            return call

        return self.db.tx(run)

    def state(self, call_id: str) -> str | None:
        """waiting, allowed or denied; None when the row is gone."""
        r = self.db.conn.execute("SELECT state FROM held_calls WHERE call_id = ?", (call_id,)).fetchone()
        return None if r is None else str(r["state"])

    def release(self, call_id: str) -> None:
        """The call ended (answered, timed out, or its client left): forget it."""
        self.db.tx(lambda conn: conn.execute("DELETE FROM held_calls WHERE call_id = ?", (call_id,)))

    def release_if_waiting(self, call_id: str) -> bool:
        """Forget the call only if nobody answered it yet; True when it was still waiting."""
        return bool(self.db.tx(lambda conn: conn.execute(
            "DELETE FROM held_calls WHERE call_id = ? AND state = ?", (call_id, WAITING)).rowcount))

    def clear(self) -> int:
        """Forget every held call (a server starting: nothing of a previous run still waits)."""
        return int(self.db.tx(lambda conn: conn.execute("DELETE FROM held_calls").rowcount))

    def allowed(self, client_id: str, tool: str, now: float | None = None) -> bool:
        """True when the owner said this client may call this tool without asking (and it still holds)."""
        r = self.db.conn.execute(
            "SELECT 1 FROM tool_allowances WHERE client_id = ? AND tool = ? AND (until IS NULL OR until > ?)",
            (client_id, tool, time.time() if now is None else now)).fetchone()
        return r is not None

    def allowances(self) -> list[Allowance]:
        """Standing answers still in force."""
        rows = self.db.conn.execute(
            "SELECT client_id, tool, until, created_at FROM tool_allowances WHERE until IS NULL OR until > ?"
            " ORDER BY created_at", (time.time(),)).fetchall()
        return [Allowance(*r) for r in rows]

    def forget_allowances(self, client_id: str | None = None) -> int:
        """Drop standing answers (of one client, or all)."""
        if client_id is None:
            return int(self.db.tx(lambda conn: conn.execute("DELETE FROM tool_allowances").rowcount))
        return int(self.db.tx(lambda conn: conn.execute(
            "DELETE FROM tool_allowances WHERE client_id = ?", (client_id,)).rowcount))
