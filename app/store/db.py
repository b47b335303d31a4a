"""The SQLite file behind everything: WAL mode, one connection per thread, schema migrations."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DB_NAME = "mcp-tray.sqlite3"

# Each migration moves the schema from version i to i + 1. Append, never edit a released one.
MIGRATIONS: list[str] = [
    # 0 -> 1: clients, grants, authorization codes, tokens (hashes only), activity log.
    """
    CREATE TABLE clients (
        client_id      TEXT PRIMARY KEY,
        client_name    TEXT,
        redirect_uris  TEXT NOT NULL,           -- JSON list
        info_json      TEXT NOT NULL,           -- the full RFC 7591 record
        created_at     REAL NOT NULL,
        removed_at     REAL
    );
    CREATE TABLE grants (
        grant_id       TEXT PRIMARY KEY,
        client_id      TEXT NOT NULL REFERENCES clients(client_id),
        scopes         TEXT NOT NULL,           -- space separated
        resource       TEXT,
        redirect_uri   TEXT NOT NULL,
        created_at     REAL NOT NULL,
        revoked_at     REAL,
        revoke_reason  TEXT
    );
    CREATE INDEX grants_client ON grants(client_id);
    CREATE TABLE codes (
        code_hash      TEXT PRIMARY KEY,
        grant_id       TEXT NOT NULL REFERENCES grants(grant_id),
        client_id      TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        redirect_uri   TEXT NOT NULL,
        redirect_explicit INTEGER NOT NULL,
        expires_at     REAL NOT NULL,
        used_at        REAL
    );
    CREATE TABLE tokens (
        token_id       TEXT PRIMARY KEY,        -- short public id, shown to the user
        token_hash     TEXT NOT NULL UNIQUE,    -- SHA-256 of the token, the token itself is never stored
        kind           TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
        grant_id       TEXT NOT NULL REFERENCES grants(grant_id),
        client_id      TEXT NOT NULL,
        scopes         TEXT NOT NULL,
        resource       TEXT,
        created_at     REAL NOT NULL,
        expires_at     REAL NOT NULL,
        last_used_at   REAL,
        revoked_at     REAL,
        rotated_at     REAL                     -- refresh tokens: when a refresh used it
    );
    CREATE INDEX tokens_grant ON tokens(grant_id);
    CREATE TABLE consents (
        nonce          TEXT PRIMARY KEY,        -- a consent request answered once, never twice
        answered_at    REAL NOT NULL
    );
    CREATE TABLE events (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        at             REAL NOT NULL,
        kind           TEXT NOT NULL,
        client_id      TEXT,
        detail         TEXT NOT NULL DEFAULT ''
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The file was written by a newer MCP Tray; we refuse to touch it."""


def connect(path: Path) -> sqlite3.Connection:
    """Open the database with the settings every connection needs."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION inside one transaction; returns the version found."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"database schema {found} is newer than this MCP Tray understands ({SCHEMA_VERSION})"
            )
        for version in range(found, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    without_comments = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]


class Database:
    """A per-thread connection pool over one file; `tx()` runs a function in a write transaction.

    Connections are keyed by the OS thread, not kept in a `threading.local`: a thread Python did not
    start (a Qt pool thread) gets a fresh Python thread state, and with it an empty thread-local, each
    time it calls into Python, which opened (and kept) a new connection on every call.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_thread: dict[int, sqlite3.Connection] = {}
        # Two parts of the app (the server and the GUI's reader) may open a new file at the same
        # moment; switching it to WAL can then report "locked" at once, without waiting.
        for attempt in range(50):
            try:
                migrate(self.conn)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                self.close()
                time.sleep(0.1)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        ident = threading.get_ident()
        conn = self._by_thread.get(ident)
        if conn is None:
            # A thread that ended leaves its connection to the next thread given the same id: connections
            # stay bounded by the threads alive at once, and one thread never uses two.
            conn = connect(self.path)
            with self._lock:
                self._by_thread[ident] = conn
        return conn

    def tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in a BEGIN IMMEDIATE transaction: all of it lands, or none of it."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def close(self) -> None:
        """Close every connection this pool opened."""
        with self._lock:
            for conn in self._by_thread.values():
                conn.close()
            self._by_thread.clear()
