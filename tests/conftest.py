"""Fixtures: a fresh data dir per test and a real server on a free loopback port."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.app import ServerParts
from app.server.runner import ServerRunner
from tests.support import owner

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
        owner.remember(self.port, self.data_dir)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ServerRunner, "start", start)
        yield


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data dir for this test only."""
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
    owner.remember(runner.port, data_dir)
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
