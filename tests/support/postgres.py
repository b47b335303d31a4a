"""PostgreSQL for the tests: a session's throwaway cluster (bench/support/postgres.py) and a fresh
database per test, plus helpers that look inside one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.support.postgres import ROLE, TEMPLATE, Cluster, bin_dir

__all__ = ["ROLE", "TEMPLATE", "Cluster", "bin_dir", "everything_stored", "postgres_cluster", "postgres_url",
           "set_schema_version"]


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's PostgreSQL cluster (skipped, saying why, when the server binaries are missing)."""
    bindir = bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
    cluster = Cluster(bindir)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh database for this test; dropped afterwards."""
    url = postgres_cluster.new_database()
    yield url
    postgres_cluster.drop(url)


def everything_stored(data_dir: Path) -> bytes:
    """All a test's store holds, as bytes: the SQLite file (and its -wal), or every PostgreSQL row as text."""
    from app.store.db import DB_NAME, database_url

    url = database_url()
    if url is None:
        files = [data_dir / DB_NAME, *data_dir.glob(f"{DB_NAME}-*")]
        return b"".join(p.read_bytes() for p in files)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [str(r[0]) for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        rows = [str(r[0]) for t in tables for r in conn.execute(f'SELECT t::text FROM "{t}" t')]
    return "\n".join(rows).encode()


def set_schema_version(url: str, version: int) -> None:
    """Write another schema version into a PostgreSQL database (as a newer MCP Tray would)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE mcp_tray_schema SET version = %s", (version,))
