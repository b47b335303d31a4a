"""The database behind everything: one small interface, two backends.

`Database` is what the store uses: `conn` (this thread's connection, for single statements),
`tx(fn)` (run `fn(conn)` in one write transaction: all of it lands or none), `close()`, `kind`
(`sqlite` or `postgres`) and `url` (PostgreSQL: the connection URL, for LISTEN/NOTIFY and workers).

SQLite (the default, the desk app's) is one file in the data dir, in WAL mode, one connection per
OS thread, writers serialised by BEGIN IMMEDIATE. PostgreSQL (app/store/pg.py) is chosen with a
`postgresql://` URL (`--database`, or $MCP_TRAY_DATABASE_URL); see docs/DATABASE.md.

Both run the same SQL text (`?` placeholders; app/store/sql.py) over the same migrations
(app/store/migrations.py), so a statement is reviewed once and holds on both.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from app.store.migrations import MIGRATIONS as MIGRATIONS  # re-exported
from app.store.migrations import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported
from app.store.migrations import statements
from app.store.sql import Conn, DatabaseError

T = TypeVar("T")

DB_NAME = "mcp-tray.sqlite3"
URL_ENV = "MCP_TRAY_DATABASE_URL"
Kind = Literal["sqlite", "postgres"]
_statements = statements  # the name older tests use



class SchemaTooNewError(DatabaseError):
    """The database was written by a newer MCP Tray; we refuse to touch it."""


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
                for statement in statements(step):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


class Database:
    """The store's way to its database (see the module docstring); `open_database` picks the backend."""

    kind: Kind = "sqlite"
    url: str | None = None  # PostgreSQL's connection URL; None for the SQLite file

    @property
    def conn(self) -> Conn:
        """This thread's connection: its open transaction's, inside `tx`."""
        raise NotImplementedError

    def tx(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` in one write transaction: all of it lands, or none of it."""
        raise NotImplementedError

    def schema_problem(self) -> str | None:
        """None when the database answers and holds this version's schema, else why not (for /ready)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close every connection."""
        raise NotImplementedError


def database_url(explicit: str | None = None) -> str | None:
    """The PostgreSQL URL to use: the one given, else $MCP_TRAY_DATABASE_URL; None means SQLite."""
    return explicit or os.environ.get(URL_ENV) or None


def open_database(data_dir: Path, url: str | None = None) -> Database:
    """PostgreSQL when `database_url(url)` names one, else the SQLite file in `data_dir`."""
    chosen = database_url(url)
    if chosen is None:
        return SqliteDatabase(data_dir / DB_NAME)
    from app.store.pg import PostgresDatabase

    return PostgresDatabase(chosen)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class SqliteDatabase(Database):
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

    def tx(self, fn: Callable[[Conn], T]) -> T:
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
