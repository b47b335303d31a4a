"""Fixtures: a fresh data dir per test and a real server on a free loopback port."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.parts import ServerParts
from app.server.runner import ServerRunner
from app.store.db import URL_ENV
from app.store.pg import PostgresDatabase
from tests.support import owner
from tests.support.postgres import Cluster, postgres_cluster, postgres_url

__all__ = ["postgres_cluster", "postgres_url"]  # fixtures, for every test

# These suites run twice, on SQLite and on PostgreSQL: every Store (and every server, and every CLI it
# starts) of a test there uses the backend its `data_dir` was made for. Tests about SQLite's file
# itself are marked sqlite_only.
BOTH_BACKENDS = ("store", "auth", "security")

# Servers started by tests are listed here, so their child processes can answer as the owner.
os.environ.setdefault(owner.SERVERS_FILE_ENV, tempfile.mkstemp(prefix="mcp-tray-test-servers-")[1])
# Widget tests draw offscreen unless a test gives a subprocess its own display (the tray tests do).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _remember_in_process_servers() -> Iterator[None]:
    """Every server a test starts in this process is noted with its data dir, so sign-ins in tests
    can be answered as its owner (tests/support/owner.py) whoever started it (a TrayApp, a fixture)."""
    original = ServerRunner.start

    def start(self: ServerRunner) -> None:
        original(self)
        owner.remember(self.port, self.data_dir, self.parts.store.db.url if self.parts is not None else None)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ServerRunner, "start", start)
        yield


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the suites of BOTH_BACKENDS on each backend (ids `sqlite` and `postgres`)."""
    parts = Path(str(metafunc.definition.path)).relative_to(Path(__file__).parent).parts
    if "backend" not in metafunc.fixturenames or len(parts) < 2 or parts[0] not in BOTH_BACKENDS:
        return
    kinds = [k for k in ("sqlite", "postgres") if metafunc.definition.get_closest_marker(f"{_other(k)}_only") is None]
    metafunc.parametrize("backend", kinds, indirect=True)


def _other(kind: str) -> str:
    return "postgres" if kind == "sqlite" else "sqlite"


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`sqlite` (the default), or `postgres`: then $MCP_TRAY_DATABASE_URL names a fresh database."""
    kind = str(getattr(request, "param", "sqlite"))
    if kind != "postgres":
        monkeypatch.delenv(URL_ENV, raising=False)
        yield kind
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.new_database()
    monkeypatch.setenv(URL_ENV, url)
    opened: list[PostgresDatabase] = []
    original = PostgresDatabase.__init__

    def noted(self: PostgresDatabase, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(PostgresDatabase, "__init__", noted)
    yield kind
    for db in opened:  # a test may leave its Store open (SQLite's are closed by the garbage collector)
        db.close()
    cluster.drop(url)


@pytest.fixture
def data_dir(tmp_path: Path, backend: str) -> Path:
    """An empty data dir for this test only (on PostgreSQL: with a fresh database beside it)."""
    path = tmp_path / "data"
    path.mkdir()
    return path


def start_runner(data_dir: Path, port: int = 0, settings: Settings | None = None) -> ServerRunner:
    """A started server on 127.0.0.1 (port 0: any free port), with a fixed in-memory signing key."""
    runner = ServerRunner(data_dir, "127.0.0.1", port, settings or Settings(),
                          secret=Secret(b"k" * 32, persistent=False))
    runner.start()
    if not runner.wait_ready(15):
        raise RuntimeError(f"server did not start: {runner.error}")
    owner.remember(runner.port, data_dir, runner.parts.store.db.url if runner.parts is not None else None)
    return runner


def parts_of(runner: ServerRunner) -> ServerParts:
    """The parts of a running server (store, stats, limits...); fails the test if it is not running."""
    if runner.parts is None:
        raise AssertionError("the server is not running")
    return runner.parts


@pytest.fixture
def server(data_dir: Path) -> Iterator[ServerRunner]:
    """A running server for this test."""
    runner = start_runner(data_dir)
    yield runner
    runner.close()
