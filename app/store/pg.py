"""The store on PostgreSQL, through psycopg 3 and its connection pool.

Why psycopg 3 with psycopg_pool rather than SQLAlchemy Core: the store's SQL is plain text with `?`
placeholders, reviewed as it stands and shared word for word with SQLite. Core would have it
rewritten as expression trees (every statement twice, during the switch), for nothing we need: no
ORM, no third dialect. What PostgreSQL needs beyond SQLite is small and lives here: placeholders
translated (`?` -> `%s`, `:name` -> `%(name)s`), rows readable by name and position, a pool, the
schema version in a table, migrations under an advisory lock, errors said in one line.

Transactions run at READ COMMITTED. Where the SQLite version relied on BEGIN IMMEDIATE letting
one writer in at a time, the store's body is safe on its own terms: a conditional UPDATE whose
row count decides who won (codes, refresh rotation, approvals, passkey secrets), or
`sql.serialize` (an advisory transaction lock) before a read-then-write. A serialization failure
or deadlock re-runs the whole body in a new transaction, a few times.

Reads outside `tx` borrow a pooled connection in autocommit mode for one statement: each sees
everything committed before it, so a revocation is seen by the very next request in any process.
Inside `tx`, the thread's reads go to the transaction's own connection (as on SQLite).
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from app.store.db import Database, SchemaTooNewError, redact
from app.store.migrations import MIGRATIONS, SCHEMA_VERSION, postgres_ddl, statements
from app.store.sql import DatabaseError, IntegrityError

T = TypeVar("T")

POOL_SIZE = 10  # connections per process at most (the server's event loop, the audit writer, CLI threads)
CONNECT_TIMEOUT = 10  # seconds
TX_ATTEMPTS = 8  # a serialization failure or deadlock re-runs a transaction this many times at most
VERSION_TABLE = "mcp_tray_schema"
MIGRATION_LOCK = 0x6D637074  # advisory lock key held while migrating ("mcpt")
SCHEMES = ("postgresql", "postgres")

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg_pool import ConnectionPool
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]  # the module or None: callers check before use


class Row(Sequence[Any]):
    """A row readable like sqlite3.Row: `r["client_id"]`, `r[0]`, unpacking, `keys()`."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Row | tuple) else other)

    def __hash__(self) -> int:
        return hash(self._values)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    index = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: Row(index, values)


class Result:
    """The rows of one statement, fetched whole (the connection goes back to the pool at once)."""

    __slots__ = ("_next", "_rows", "rowcount")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        """The next row, or None."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Row]:
        """The rows not fetched yet."""
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|(?<!:):([A-Za-z_]\w*)|%")


@lru_cache(maxsize=2048)
def to_psycopg(sql: str) -> str:
    """The statement with `?` and `:name` placeholders as psycopg's, a literal `%` doubled.

    Quoted strings and identifiers are left as they are.
    """

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if m.group(1):
            return f"%({m.group(1)})s"
        return token

    return _TOKEN.sub(sub, sql)


def _run(raw: Any, sql: str, parameters: Any) -> Result:
    try:
        cur = raw.execute(to_psycopg(sql), parameters if parameters != () else None)
    except pg_errors.IntegrityError as exc:
        raise IntegrityError(str(exc).splitlines()[0]) from exc
    rows = cur.fetchall() if cur.description is not None else []
    return Result(rows, cur.rowcount)


class PgConn:
    """One psycopg connection seen through the store's `Conn` (inside a transaction, or a migration)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Any = (), /) -> Result:
        """Run one statement with `?` (or `:name`) placeholders."""
        return _run(self.raw, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> None:
        """Run one statement once for each set of parameters (as sqlite3's executemany)."""
        with self.raw.cursor() as cur:
            cur.executemany(to_psycopg(sql), seq_of_parameters)


class PooledReads:
    """Single statements outside a transaction: each borrows a pooled connection (autocommit) and returns it."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def execute(self, sql: str, parameters: Any = (), /) -> Result:
        """Run one statement on its own, committed when it returns."""
        with self.pool.connection() as raw:
            return _run(raw, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> None:
        """Run one statement for each set of parameters, on one borrowed connection, committed when it returns."""
        with self.pool.connection() as raw, raw.cursor() as cur:
            cur.executemany(to_psycopg(sql), seq_of_parameters)


def check_url(url: str) -> str:
    """The URL if it is a PostgreSQL URL psycopg can read; DatabaseError saying what is wrong otherwise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise DatabaseError(f"--database must be a postgresql:// URL, not {redact(url)!r} "
                            "(leave it out to use the SQLite file in the data dir)")
    if psycopg is None:
        if getattr(sys, "frozen", False):  # the desktop bundle leaves the driver out (packaging/mcp-tray.spec)
            raise DatabaseError("this desktop build keeps its store in the data dir (SQLite) and cannot use "
                                "PostgreSQL; for --database run `mcp-tray serve` from a Python install: "
                                "pip install 'mcp-tray[server]' (docs/HOSTED.md)")
        raise DatabaseError("PostgreSQL support is not installed: pip install 'mcp-tray[postgres]'")
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DatabaseError(f"bad database URL {redact(url)}: {str(exc).splitlines()[0]}") from None
    return url


def migrate(conn: PgConn) -> int:
    """Bring the schema to SCHEMA_VERSION in one transaction under an advisory lock; the version found."""
    raw = conn.raw
    with raw.transaction():
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        raw.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
        row = raw.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()  # noqa: S608 - fixed name
        if row is None:
            raw.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (0)")  # noqa: S608
        found = 0 if row is None else int(row[0])
        if found > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"database schema {found} is newer than this MCP Tray understands ({SCHEMA_VERSION})")
        for version in range(found, SCHEMA_VERSION):
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
            else:
                for statement in statements(step):
                    raw.execute(postgres_ddl(statement))
            raw.execute(f"UPDATE {VERSION_TABLE} SET version = %s", (version + 1,))  # noqa: S608
    return found


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database; `tx()` is one READ COMMITTED transaction."""

    kind = "postgres"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = check_url(url)
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": _row_factory}
        try:
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, **kwargs) as raw:
                migrate(PgConn(raw))
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"cannot use the database {redact(url)}: {_first_line(exc)}") from None
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot set up the database {redact(url)}: {_first_line(exc)}") from None
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs=kwargs, open=True,
                                    name="mcp-tray", timeout=30.0)
        self._reads = PooledReads(self._pool)
        self._in_tx: dict[int, PgConn] = {}

    @property
    def conn(self) -> PgConn | PooledReads:
        """The thread's open transaction, or single pooled statements."""
        return self._in_tx.get(threading.get_ident()) or self._reads

    def tx(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(conn)` in one transaction; re-run it on a serialization failure or deadlock."""
        ident = threading.get_ident()
        if ident in self._in_tx:
            raise RuntimeError("a transaction is already open on this thread")
        for attempt in range(TX_ATTEMPTS):
            try:
                with self._pool.connection() as raw, raw.transaction():
                    self._in_tx[ident] = conn = PgConn(raw)
                    try:
                        return fn(conn)
                    finally:
                        del self._in_tx[ident]
            except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected):
                if attempt == TX_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def schema_problem(self) -> str | None:
        """None when the database answers with this version's schema, else why not (for /ready)."""
        row = self._reads.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()  # noqa: S608 - fixed name
        found = 0 if row is None else int(row[0])
        if found != SCHEMA_VERSION:
            return f"the store's schema is version {found}, this server needs {SCHEMA_VERSION}"
        return None

    def close(self) -> None:
        """Close the pool and its connections."""
        self._pool.close()


def _first_line(exc: BaseException) -> str:
    """psycopg's message on one line: "connection to server at ... failed: FATAL:  password ..." shortened."""
    lines = [line.strip() for line in (str(exc).strip() or type(exc).__name__).splitlines() if line.strip()]
    text = "; ".join(lines[:2]).removeprefix("connection failed: ")
    return re.sub(r"\b(FATAL|ERROR):\s+", "", text)
