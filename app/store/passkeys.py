"""Passkeys, their enrolment links, and the one-time secrets of each WebAuthn step.

Only the owner mints an enrolment link (the tray or the CLI, both on the owner's data dir): a random
token kept as a hash, for one public origin, for ENROL_TTL seconds, used once. A challenge is bound
to what it is for (an enrolment, or one sign-in request) and used once; so is the short session a
passkey step leaves behind for answering that one request. Every "use once" is one conditional
UPDATE, so two requests racing with the same secret cannot both win.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from app.store import activity
from app.store.db import Database
from app.store.hashing import hash_secret
from app.store.kinds import EventKind
from app.store.sql import INTEGRITY_ERRORS, Conn

ENROL_TTL = 300.0  # seconds an enrolment link can be used
CHALLENGE_TTL = 120.0  # seconds a passkey step may take on the waiting page
SESSION_TTL = 300.0  # seconds to choose the answer after the passkey step
MAX_NAME = 60
Purpose = Literal["register", "approve", "session"]


class PasskeyError(ValueError):
    """A passkey request that cannot be honoured; the message says why, in plain words."""


@dataclass(frozen=True)
class PasskeyRow:
    """A registered passkey (its public key only; the private key never leaves the authenticator)."""

    id: str
    name: str
    rp_id: str
    credential_id: bytes
    public_key: bytes
    sign_count: int
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class Enrolment:
    """A valid enrolment link: the passkey's name and the public origin it is for."""

    token_hash: str
    name: str
    origin: str
    expires_at: float


def clean_name(name: str) -> str:
    """A passkey's name, trimmed; PasskeyError when empty or too long."""
    text = " ".join(name.split())
    if not text:
        raise PasskeyError("a passkey needs a name (say, the phone or computer it lives on)")
    if len(text) > MAX_NAME:
        raise PasskeyError(f"a passkey's name must be at most {MAX_NAME} characters")
    return text


_COLUMNS = "id, name, rp_id, credential_id, public_key, sign_count, created_at, last_used_at"


def _row(r: Any) -> PasskeyRow:
    return PasskeyRow(str(r["id"]), str(r["name"]), str(r["rp_id"]), bytes(r["credential_id"]),
                      bytes(r["public_key"]), int(r["sign_count"]), float(r["created_at"]),
                      None if r["last_used_at"] is None else float(r["last_used_at"]))


class PasskeyStore:
    """The passkey tables of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- enrolment links ---------------------------------------------------------------------------

    def mint_enrolment(self, name: str, origin: str, ttl: float = ENROL_TTL) -> str:
        """A new single-use enrolment token for `origin` (only its hash is kept)."""
        name = clean_name(name)
        token = secrets.token_urlsafe(32)
        now = time.time()

        def run(conn: Conn) -> None:
            conn.execute("DELETE FROM passkey_enrolments WHERE expires_at < ?", (now - 86400,))
            conn.execute("INSERT INTO passkey_enrolments (token_hash, name, origin, created_at, expires_at)"
                         " VALUES (?, ?, ?, ?, ?)", (hash_secret(token), name, origin, now, now + ttl))
            _event(conn, EventKind.PASSKEY_ENROLMENT, f"{name}, for {origin}")

        self.db.tx(run)
        return token

    def enrolment(self, token: str, origin: str) -> Enrolment:
        """The enrolment behind a link's token on `origin`; PasskeyError saying why it cannot be used."""
        r = self.db.conn.execute(
            "SELECT token_hash, name, origin, expires_at, used_at FROM passkey_enrolments WHERE token_hash = ?",
            (hash_secret(token),)).fetchone()
        if r is None:
            raise PasskeyError("this enrolment link is not valid; start again with “Add a passkey…”")
        if r["used_at"] is not None:
            raise PasskeyError("this enrolment link was already used; start again with “Add a passkey…”")
        if float(r["expires_at"]) <= time.time():
            raise PasskeyError("this enrolment link has expired (links last 5 minutes); start again")
        if str(r["origin"]) != origin:
            raise PasskeyError(f"this enrolment link is for {r['origin']}, not for {origin}")
        return Enrolment(str(r["token_hash"]), str(r["name"]), str(r["origin"]), float(r["expires_at"]))

    # -- passkeys ------------------------------------------------------------------------------------

    def add(self, enrolment: Enrolment, rp_id: str, credential_id: bytes, public_key: bytes,
            sign_count: int) -> PasskeyRow:
        """Store a verified credential, using up its enrolment link; PasskeyError if the link was used meanwhile."""
        now = time.time()
        passkey_id = secrets.token_hex(4)

        def run(conn: Conn) -> None:
            used = conn.execute("UPDATE passkey_enrolments SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                                " AND expires_at > ?", (now, enrolment.token_hash, now)).rowcount
            if used != 1:
                raise PasskeyError("this enrolment link was already used or has expired; start again")
            try:
                conn.execute(f"INSERT INTO passkeys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",  # noqa: S608
                             (passkey_id, enrolment.name, rp_id, credential_id, public_key, sign_count, now))
            except INTEGRITY_ERRORS:
                raise PasskeyError("this passkey is already registered") from None
            _event(conn, EventKind.PASSKEY_ADDED, f"{enrolment.name} for {rp_id}")

        self.db.tx(run)
        found = self.get(passkey_id)
        assert found is not None
        return found

    def get(self, passkey_id: str) -> PasskeyRow | None:
        """One passkey by id."""
        r = self.db.conn.execute(f"SELECT {_COLUMNS} FROM passkeys WHERE id = ?", (passkey_id,)).fetchone()  # noqa: S608
        return None if r is None else _row(r)

    def by_credential(self, credential_id: bytes, rp_id: str) -> PasskeyRow | None:
        """The passkey with this credential id, registered for `rp_id`."""
        r = self.db.conn.execute(f"SELECT {_COLUMNS} FROM passkeys WHERE credential_id = ? AND rp_id = ?",  # noqa: S608
                                 (credential_id, rp_id)).fetchone()
        return None if r is None else _row(r)

    def list(self, rp_id: str | None = None) -> list[PasskeyRow]:
        """Every passkey (or those for `rp_id`), oldest first."""
        if rp_id is None:
            rows = self.db.conn.execute(f"SELECT {_COLUMNS} FROM passkeys ORDER BY created_at").fetchall()  # noqa: S608
        else:
            rows = self.db.conn.execute(f"SELECT {_COLUMNS} FROM passkeys WHERE rp_id = ? ORDER BY created_at",  # noqa: S608
                                        (rp_id,)).fetchall()
        return [_row(r) for r in rows]

    def remove(self, passkey_id: str) -> PasskeyRow | None:
        """Forget a passkey (and the sessions it left); the removed row, or None if there was none."""
        found = self.get(passkey_id)
        if found is None:
            return None

        def run(conn: Conn) -> bool:
            gone = conn.execute("DELETE FROM passkeys WHERE id = ?", (passkey_id,)).rowcount == 1
            conn.execute("DELETE FROM passkey_challenges WHERE passkey_id = ?", (passkey_id,))
            if gone:
                _event(conn, EventKind.PASSKEY_REMOVED, found.name)
            return gone

        return found if self.db.tx(run) else None

    def used(self, passkey_id: str, sign_count: int) -> None:
        """Note a successful use: the authenticator's new signature counter and when."""
        self.db.tx(lambda conn: conn.execute("UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ?",
                                             (sign_count, time.time(), passkey_id)))

    # -- challenges and sessions -------------------------------------------------------------------

    def issue(self, purpose: Purpose, subject: str, ttl: float, secret: bytes | None = None,
              passkey_id: str | None = None) -> bytes:
        """A new one-time secret for (purpose, subject): a challenge, or a session token."""
        value = secret if secret is not None else secrets.token_bytes(32)
        now = time.time()

        def run(conn: Conn) -> None:
            conn.execute("DELETE FROM passkey_challenges WHERE expires_at < ?", (now - 3600,))
            conn.execute("INSERT INTO passkey_challenges (secret_hash, purpose, subject, passkey_id, created_at,"
                         " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (hash_secret(value.hex()), purpose, subject, passkey_id, now, now + ttl))

        self.db.tx(run)
        return value

    def redeem(self, purpose: Purpose, subject: str, secret: bytes) -> str | None:
        """Use up a one-time secret issued for exactly (purpose, subject), unexpired.

        Returns the passkey id it carries ("" when none), or None when it is unknown, for another
        subject or purpose, expired, or already used.
        """
        now = time.time()
        key = hash_secret(secret.hex())

        def run(conn: Conn) -> str | None:
            r = conn.execute("SELECT passkey_id FROM passkey_challenges WHERE secret_hash = ? AND purpose = ?"
                             " AND subject = ? AND used_at IS NULL AND expires_at > ?",
                             (key, purpose, subject, now)).fetchone()
            if r is None:
                return None
            # Conditional: of two requests racing with the same secret (two transactions on PostgreSQL), one wins.
            if conn.execute("UPDATE passkey_challenges SET used_at = ? WHERE secret_hash = ? AND used_at IS NULL",
                            (now, key)).rowcount != 1:
                return None
            return "" if r["passkey_id"] is None else str(r["passkey_id"])

        return self.db.tx(run)

    def peek(self, purpose: Purpose, subject: str, secret: bytes) -> str | None:
        """Like `redeem`, without using it up (the choices page shows while the session stays valid)."""
        r = self.db.conn.execute(
            "SELECT passkey_id FROM passkey_challenges WHERE secret_hash = ? AND purpose = ? AND subject = ?"
            " AND used_at IS NULL AND expires_at > ?", (hash_secret(secret.hex()), purpose, subject, time.time()),
        ).fetchone()
        return None if r is None else ("" if r["passkey_id"] is None else str(r["passkey_id"]))


def _event(conn: Conn, kind: EventKind, detail: str) -> None:
    activity.record(conn, kind, None, detail)
