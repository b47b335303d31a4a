"""What the store's SQL runs on, whichever database is behind it: a connection, its results, its rows.

A SQLite connection (`sqlite3.Connection`, rows `sqlite3.Row`) and the PostgreSQL wrapper in
app/store/pg.py both fit `Conn`: `execute(sql, parameters)` with `?` placeholders (or `:name` with a
mapping), results with `fetchone`, `fetchall`, iteration and `rowcount`, and rows read by column
name (`r["client_id"]`) or by position. The store's SQL is written once, in the dialect both accept.
Where a statement cannot be shared, `dialect(conn)` says which one runs it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgres"]


class DatabaseError(RuntimeError):
    """The database cannot be used (bad URL, unreachable, refused, too new); the message says why in one line."""


class IntegrityError(Exception):
    """A constraint refused a write on PostgreSQL (raised in place of psycopg's own error)."""


# Catch these for "a UNIQUE or foreign key constraint refused the row", whichever database runs it.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, IntegrityError)


class Result(Protocol):
    """What `execute` returns: a cursor over the rows (if any) and how many rows changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """A connection the store's SQL runs on (inside `Database.tx`, or for a single read)."""

    def execute(self, sql: str, parameters: Any = (), /) -> Result: ...

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> Any: ...


def dialect(conn: Conn) -> Dialect:
    """Which database this connection talks to."""
    return "sqlite" if isinstance(conn, sqlite3.Connection) else "postgres"


def serialize(conn: Conn, *key: str) -> None:
    """Make transactions that name the same key run one after the other, for a read-then-write body.

    SQLite needs nothing: BEGIN IMMEDIATE already lets one writer in at a time. On PostgreSQL
    (READ COMMITTED) this takes a transaction-scoped advisory lock, released at COMMIT or ROLLBACK;
    every statement after it sees what the previous holder committed.
    """
    if not isinstance(conn, sqlite3.Connection):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", ("mcp-tray:" + ":".join(key),))
