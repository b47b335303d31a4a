"""The SQLite file behind everything: WAL mode, one connection per thread, schema migrations."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from app.store.hashing import hash_secret

T = TypeVar("T")

DB_NAME = "mcp-tray.sqlite3"

Migration = str | Callable[[sqlite3.Connection], None]


def _hash_client_secrets(conn: sqlite3.Connection) -> None:
    """Keep the secrets of confidential clients as hashes only, like tokens.

    Until schema 1 the secret sat in plain text inside info_json, readable by whoever could read
    the file. Each one is hashed into the new column and blanked in the record.
    """
    conn.execute("ALTER TABLE clients ADD COLUMN secret_hash TEXT")
    for client_id, info_json in conn.execute("SELECT client_id, info_json FROM clients").fetchall():
        info = json.loads(info_json)
        secret = info.get("client_secret") if isinstance(info, dict) else None
        if isinstance(secret, str) and secret:
            conn.execute(
                "UPDATE clients SET secret_hash = ?, info_json = ? WHERE client_id = ?",
                (hash_secret(secret), json.dumps({**info, "client_secret": None}), client_id),
            )


# Each migration moves the schema from version i to i + 1: an SQL script, or a function for what
# SQL alone cannot do. Append, never edit a released one.
MIGRATIONS: list[Migration] = [
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
    # 1 -> 2: owner approval. A sign-in request waits in `approvals` until the owner answers it in
    # the tray, the CLI or (later) with a passkey; a grant may end on its own (`expires_at`).
    """
    CREATE TABLE approvals (
        approval_id    TEXT PRIMARY KEY,        -- short id for `mcp-tray approve ID`
        match_code     TEXT NOT NULL,           -- shown on the waiting page and in the tray, to match the two
        client_id      TEXT NOT NULL REFERENCES clients(client_id),
        request_json   TEXT NOT NULL,           -- the authorization request (redirect, state, challenge, ...)
        scopes         TEXT NOT NULL,           -- what the client asked for, space separated
        redirect_uri   TEXT NOT NULL,
        listener       TEXT NOT NULL DEFAULT '',-- the local program on a loopback redirect's port, if any
        created_at     REAL NOT NULL,
        expires_at     REAL NOT NULL,
        status         TEXT NOT NULL DEFAULT 'pending',  -- pending, approved, denied, delivered, expired, superseded
        answered_at    REAL,
        approver       TEXT,                    -- who answered: tray, cli, passkey:NAME
        granted_scopes TEXT,
        grant_lifetime REAL,                    -- seconds the grant lasts; NULL: until revoked
        grant_id       TEXT
    );
    CREATE INDEX approvals_status ON approvals(status, created_at);
    ALTER TABLE grants ADD COLUMN expires_at REAL;
    ALTER TABLE grants ADD COLUMN approver TEXT;
    """,
    # 2 -> 3: client secrets hashed (the secret_hash column; plaintext secrets migrated).
    _hash_client_secrets,
    # 3 -> 4: clients that identify with a Client ID Metadata Document (an https URL as client_id)
    # remember when their document was last fetched; NULL for clients that registered (RFC 7591).
    """
    ALTER TABLE clients ADD COLUMN document_fetched_at REAL;
    """,
    # 4 -> 5: grants made through the public URL (remote access) are marked, so they can be shown
    # apart and revoked together when remote access stops.
    """
    ALTER TABLE grants ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX grants_remote ON grants(remote) WHERE remote = 1 AND revoked_at IS NULL;
    """,
    # 5 -> 6: the audit log of tool use (issue 13); a SHA-256 chain makes edits visible.
    """
    CREATE TABLE audit (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        at             REAL NOT NULL,
        client_id      TEXT,
        client_name    TEXT,
        grant_id       TEXT,
        method         TEXT NOT NULL,           -- tools/call, resources/read, prompts/get
        name           TEXT NOT NULL,           -- the tool, resource URI or prompt
        arguments      TEXT NOT NULL,           -- a redacted, shortened JSON summary
        outcome        TEXT NOT NULL,
        detail         TEXT NOT NULL DEFAULT '',
        duration_ms    REAL NOT NULL,
        prev_hash      TEXT NOT NULL,
        hash           TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE INDEX audit_client ON audit(client_id, id);
    CREATE INDEX audit_name ON audit(name, id);
    """,
    # -> +1: calls held for the owner's answer (tool policy Ask), and the owner's standing answers.
    """
    CREATE TABLE held_calls (
        call_id        TEXT PRIMARY KEY,        -- short public id: `mcp-tray calls allow ID`
        at             REAL NOT NULL,
        client_id      TEXT,
        client_name    TEXT,
        grant_id       TEXT,
        tool           TEXT NOT NULL,
        arguments      TEXT NOT NULL,           -- the full JSON, shown to the owner; gone once answered
        state          TEXT NOT NULL CHECK (state IN ('waiting', 'allowed', 'denied')),
        answer_for     TEXT,                    -- once, hour, always
        answered_at    REAL,
        answered_by    TEXT
    );
    CREATE TABLE tool_allowances (
        client_id      TEXT NOT NULL,
        tool           TEXT NOT NULL,
        until          REAL,                    -- NULL: always
        created_at     REAL NOT NULL,
        PRIMARY KEY (client_id, tool)
    );
    """,
    # -> +1: passkeys, for approving on the waiting page through the public URL. Enrolment links
    # (minted by the owner in the tray or CLI) and WebAuthn challenges are single use and kept as
    # hashes; a passkey is bound to the RP ID (the public host) it was made for.
    """
    CREATE TABLE passkeys (
        id             TEXT PRIMARY KEY,        -- short id for `mcp-tray passkeys remove ID`
        name           TEXT NOT NULL,
        rp_id          TEXT NOT NULL,           -- the public host it was registered on
        credential_id  BLOB NOT NULL UNIQUE,
        public_key     BLOB NOT NULL,           -- COSE public key
        sign_count     INTEGER NOT NULL DEFAULT 0,
        created_at     REAL NOT NULL,
        last_used_at   REAL
    );
    CREATE TABLE passkey_enrolments (
        token_hash     TEXT PRIMARY KEY,        -- SHA-256 of the link's token
        name           TEXT NOT NULL,
        origin         TEXT NOT NULL,           -- the public origin the link is for
        created_at     REAL NOT NULL,
        expires_at     REAL NOT NULL,
        used_at        REAL
    );
    CREATE TABLE passkey_challenges (
        secret_hash    TEXT PRIMARY KEY,        -- SHA-256 of a challenge or of a session token
        purpose        TEXT NOT NULL CHECK (purpose IN ('register', 'approve', 'session')),
        subject        TEXT NOT NULL,           -- enrolment token hash, or approval id
        passkey_id     TEXT,                    -- sessions: the passkey that was just used
        created_at     REAL NOT NULL,
        expires_at     REAL NOT NULL,
        used_at        REAL
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
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
            else:
                for statement in _statements(step):
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
        # Created 0600 before SQLite opens it, whatever the umask: SQLite gives the -wal and -shm
        # files the mode of the database file, so all three are the owner's only. O_EXCL: an
        # existing file is never opened here, because closing any descriptor of it would drop
        # every POSIX lock this process's SQLite connections hold on it, and another process
        # closing its connection would then delete the WAL under them (their writes lost).
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
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

    def schema_problem(self) -> str | None:
        """None when the file answers and holds this version's schema, else why not (for /ready)."""
        found = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if found != SCHEMA_VERSION:
            return f"the store's schema is version {found}, this server needs {SCHEMA_VERSION}"
        return None

    def close(self) -> None:
        """Close every connection this pool opened."""
        with self._lock:
            for conn in self._by_thread.values():
                conn.close()
            self._by_thread.clear()
