"""Idle means idle: with no window shown the tray app runs no periodic timer and reads nothing from the store;
showing the dashboard starts its live updates, hiding it stops them; a write by anyone is still noticed.
(tests/ui/test_live_dashboard.py: what the shown dashboard does, and does not, do.)"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThreadPool, QTimer
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner, ServerState
from app.store import db as db_module
from app.store.kinds import EventKind
from app.store.store import Store
from app.ui import tasks
from app.ui.store_service import StoreService, StoreSnapshot
from app.ui.tasks import run_task
from app.ui.tray_app import TrayApp
from tests.support.signin import sign_in

pytestmark = pytest.mark.gui

QUIET_MS = 3000  # event-loop time in which an idle app must do nothing


class ReadCounter:
    """Counts the StoreService's snapshot reads (each one a set of SQLite queries on its worker)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        real = StoreService._read

        def counted(service: StoreService) -> StoreSnapshot:
            self.reads += 1
            return real(service)

        monkeypatch.setattr(StoreService, "_read", counted)


def active_timers(*owners: QObject) -> list[str]:
    """Repeating timers that are running under these objects (single shots that end on their own are not polls)."""
    found = []
    for owner in owners:
        for timer in owner.findChildren(QTimer):
            if timer.isActive() and not timer.isSingleShot():
                found.append(f"{timer.parent().__class__.__name__}: every {timer.interval()} ms")
    return found


@pytest.fixture
def hidden_app(qtbot: QtBot, data_dir: Path) -> Iterator[TrayApp]:
    """A tray app with its server running and its dashboard never shown (as at login with a tray)."""
    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"k" * 32, persistent=False))
    app = TrayApp(data_dir, runner, use_tray=True)
    qtbot.addWidget(app.dashboard)
    app.start(start_server=True)
    qtbot.waitUntil(lambda: runner.state is ServerState.RUNNING and not app.controller.busy, timeout=15_000)
    qtbot.waitUntil(lambda: app.store.last is not None, timeout=5000)  # the one read at start
    qtbot.wait(500)  # what the start itself wrote has settled
    yield app
    app.shutdown()


def test_with_no_window_shown_nothing_polls_and_the_store_is_not_read(
    qtbot: QtBot, hidden_app: TrayApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = ReadCounter(monkeypatch)
    assert not hidden_app.dashboard.isVisible()
    assert active_timers(hidden_app, hidden_app.dashboard) == []
    qtbot.wait(QUIET_MS)
    assert counter.reads == 0
    assert active_timers(hidden_app, hidden_app.dashboard) == []
    # The tray menu is still current: it is filled from the live state as it opens.
    assert hidden_app.tray is not None
    hidden_app.tray.rebuild_menu()
    assert hidden_app.runner.mcp_url in hidden_app.tray.menu.actions()[0].text()


def test_opening_the_dashboard_starts_its_refresh_and_closing_stops_it(
    qtbot: QtBot, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"k" * 32, persistent=False))
    app = TrayApp(data_dir, runner, use_tray=True)
    qtbot.addWidget(app.dashboard)
    try:
        app.start(start_server=False)
        qtbot.waitUntil(lambda: app.store.last is not None, timeout=5000)
        qtbot.wait(500)
        counter = ReadCounter(monkeypatch)
        app.open_dashboard()
        qtbot.waitUntil(lambda: counter.reads >= 1, timeout=5000)  # one at once, then at each change
        assert app.dashboard.refreshing and app.store.shown
        assert active_timers(app.dashboard)  # the tokens' relative times
        other = Store(data_dir)  # a write by anyone: read again
        try:
            other.log_event(EventKind.REFRESHED, None, "a line from another process")
        finally:
            other.close()
        qtbot.waitUntil(lambda: counter.reads >= 2, timeout=5000)

        app.dashboard.close()  # with a tray, closing hides the window
        assert not app.dashboard.isVisible()
        assert not app.dashboard.refreshing and not app.store.shown
        assert active_timers(app, app.dashboard) == []
        qtbot.wait(300)  # a read already under way may still land
        before = counter.reads
        qtbot.wait(1500)
        assert counter.reads == before
    finally:
        app.shutdown()


def test_a_write_by_anyone_is_noticed_without_polling(qtbot: QtBot, hidden_app: TrayApp, data_dir: Path) -> None:
    """Another process (the CLI) revoking, or a client signing in, reaches the hidden app: it watches the file."""
    said: list[str] = []
    hidden_app.notifier.message.connect(lambda title, text, purpose, error, about: said.append(text))
    sign_in(hidden_app.runner.base_url, "Watched client")
    qtbot.waitUntil(lambda: any("Watched client can now use" in s for s in said), timeout=5000)
    qtbot.waitUntil(lambda: hidden_app.store.last is not None and len(hidden_app.store.last.tokens) == 2, timeout=5000)

    other = Store(data_dir)  # its own connection, as `mcp-tray revoke` has in its own process
    try:
        other.revoke_all()
    finally:
        other.close()
    qtbot.waitUntil(lambda: hidden_app.store.last is not None and not hidden_app.store.last.tokens, timeout=5000)
    assert active_timers(hidden_app, hidden_app.dashboard) == []


def test_a_server_that_dies_is_noticed_without_a_poll(qtbot: QtBot, hidden_app: TrayApp) -> None:
    said: list[str] = []
    hidden_app.controller.stopped_unexpectedly.connect(said.append)
    hidden_app.runner._server.should_exit = True  # type: ignore[union-attr]  # what a crash in its loop looks like
    qtbot.waitUntil(lambda: bool(said), timeout=10_000)
    assert hidden_app.controller.status().state is not ServerState.RUNNING


def test_store_reads_from_a_qt_pool_thread_keep_one_connection(
    qtbot: QtBot, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Qt pool thread gets a new Python thread state for each task; that opened a connection per read."""
    opened: list[object] = []
    real_connect = db_module.connect

    def counting(path: Path) -> object:
        opened.append(path)
        return real_connect(path)

    store = Store(data_dir)
    monkeypatch.setattr(db_module, "connect", counting)
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    pool.setExpiryTimeout(-1)
    done: list[object] = []
    owner = QObject()
    try:
        for count in range(20):
            run_task(pool, store.list_tokens, done.append, None, owner)

            def arrived(n: int = count) -> bool:
                return len(done) > n

            qtbot.waitUntil(arrived, timeout=5000)
        assert len(done) == 20
        assert len(opened) == 1  # the pool thread's one connection, reused
    finally:
        pool.waitForDone(5000)
        store.close()


class _Work:
    """A task's function, weakly referenceable, returning a result that is weakly referenceable too."""

    def __init__(self, results: list[object]) -> None:
        self.results = results

    def __call__(self) -> object:
        result = _Work([])
        self.results.append(weakref.ref(result))
        return result


def test_finished_tasks_leave_nothing_behind(qtbot: QtBot) -> None:
    """Every dashboard refresh is a task: a task that kept its function, carrier or result leaked all day."""
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    owner = QObject()
    works: list[weakref.ref[_Work]] = []
    results: list[object] = []
    delivered: list[int] = []
    for _ in range(30):
        work = _Work(results)
        works.append(weakref.ref(work))
        run_task(pool, work, lambda _r: delivered.append(1), None, owner)
        del work
    qtbot.waitUntil(lambda: len(delivered) == 30, timeout=10_000)
    pool.waitForDone(5000)
    gc.collect()
    assert tasks.pending_count() == 0
    assert [w for w in works if w() is not None] == []
    assert [r for r in results if r() is not None] == []  # type: ignore[operator]  # weak references, as above
