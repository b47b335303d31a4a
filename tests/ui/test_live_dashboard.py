"""An open dashboard stays live without polling: it draws and reads when something changes, not on a clock.

Requests and errors are told by the server's counters, sign-ins and revocations by the database file,
a token's expiry by a single read planned for it, the uptime's next word by a single shot; a stream
that closes is looked for only while one is open.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytestqt.qtbot import QtBot

from app.server.runner import ServerRunner
from app.server.stats import StatsSnapshot
from app.store.db import URL_ENV
from app.store.store import Store, hash_secret
from app.ui import status_feed
from app.ui.dashboard import TIMES_MS, Dashboard
from app.ui.status_panel import StatusPanel
from app.ui.store_service import StoreService, StoreSnapshot
from tests.conftest import parts_of
from tests.support.signin import sign_in
from tests.ui.test_idle import QUIET_MS, ReadCounter, active_timers

pytestmark = pytest.mark.gui


class Draws:
    """Counts the status card's drawings."""

    def __init__(self, panel: StatusPanel, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = panel.show_status

        def counted(status: object) -> None:
            self.count += 1
            real(status)  # type: ignore[arg-type]

        monkeypatch.setattr(panel, "show_status", counted)


def requests_shown(window: Dashboard) -> int:
    return int(window.status_panel.values["requests"].text().replace(",", ""))


@pytest.fixture
def quiet_dashboard(qtbot: QtBot, dashboard: Dashboard) -> Iterator[Dashboard]:
    """The shown dashboard once its first reads have landed and the start's writes have settled."""
    qtbot.waitUntil(lambda: dashboard.store.last is not None, timeout=5000)
    qtbot.wait(600)
    yield dashboard


def test_an_open_dashboard_with_nothing_happening_reads_and_draws_nothing(
    qtbot: QtBot, quiet_dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = quiet_dashboard
    assert window.isVisible() and window.refreshing and window.store.shown
    reads, draws = ReadCounter(monkeypatch), Draws(window.status_panel, monkeypatch)
    qtbot.wait(QUIET_MS)
    assert reads.reads == 0 and draws.count == 0
    # The one repeating timer left is the tokens' relative times, every TIMES_MS.
    assert active_timers(window) == [f"Dashboard: every {TIMES_MS} ms"]


def test_requests_reach_the_open_dashboard_at_once_and_a_burst_is_drawn_once(
    qtbot: QtBot, server: ServerRunner, quiet_dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = quiet_dashboard
    before = requests_shown(window)
    draws = Draws(window.status_panel, monkeypatch)
    with httpx.Client(timeout=5) as client:
        for _ in range(20):
            client.get(f"{server.base_url}/health")
    qtbot.waitUntil(lambda: requests_shown(window) == before + 20, timeout=3000)
    assert draws.count <= 3  # coalesced: not one drawing per request
    qtbot.wait(2 * status_feed.COALESCE_MS)
    settled = draws.count
    qtbot.wait(1000)
    assert draws.count == settled  # and nothing after the burst

    window.hide()  # hidden, the card is not kept current: a request draws nothing
    hidden = draws.count
    httpx.get(f"{server.base_url}/health", timeout=5)
    qtbot.wait(3 * status_feed.COALESCE_MS)
    assert draws.count == hidden
    window.show()  # shown again: current at once
    qtbot.waitUntil(lambda: requests_shown(window) == before + 21, timeout=3000)


def test_a_server_error_reaches_the_open_dashboard(
    qtbot: QtBot, server: ServerRunner, quiet_dashboard: Dashboard
) -> None:
    parts_of(server).stats.error("RuntimeError on /mcp")  # what the app's 500 handler records
    qtbot.waitUntil(lambda: "RuntimeError on /mcp" in quiet_dashboard.status_panel.values["error"].text(),
                    timeout=3000)


def test_the_uptime_is_drawn_again_when_its_words_change(qtbot: QtBot, quiet_dashboard: Dashboard) -> None:
    window = quiet_dashboard
    status = window.controller.status()
    assert status.stats is not None
    almost = dataclasses.replace(status, stats=StatsSnapshot(time.time() - 59.6, status.stats.requests, None, None))
    window.status_panel.show_status(almost)
    assert window.status_panel.values["uptime"].text() == "under a minute"
    with qtbot.waitSignal(window.feed.due, timeout=2000):
        window.feed.drawn(almost)  # due at the minute: well before the next minute, far before two
    # The real server started just now: its next change is a minute away, nothing is due before.
    window.update_status()
    with qtbot.assertNotEmitted(window.feed.due, wait=1500):
        pass


def test_a_closed_stream_leaves_the_open_connections_count(
    qtbot: QtBot, server: ServerRunner, quiet_dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_feed, "STREAMS_MS", 300)
    window = quiet_dashboard
    window.feed._streams.setInterval(status_feed.STREAMS_MS)  # built with the module's value
    issued = sign_in(server.base_url, "Streaming client")
    connections = window.status_panel.values["connections"]
    with httpx.Client(timeout=10) as client, client.stream(
        "GET", f"{server.base_url}/sse", headers={"Authorization": f"Bearer {issued.access_token}"}
    ) as stream:
        assert stream.status_code == 200
        qtbot.waitUntil(lambda: connections.text() == "1", timeout=5000)
    # The client went away: no request tells of that, the count is looked at again while it is not 0.
    qtbot.waitUntil(lambda: connections.text() == "0", timeout=5000)
    assert window.feed._streams.isActive() is False


def _short_sign_in(data_dir: Path, seconds: int) -> None:
    """A sign-in, straight through the store, whose tokens live `seconds` (no server sets it this short)."""
    store = Store(data_dir)
    try:
        store.add_client("short", "Short-lived client", ["http://127.0.0.1:9/cb"], {"client_name": "Short"})
        pending = store.approvals.create(client_id="short", scopes=["mcp"], redirect_uri="http://127.0.0.1:9/cb",
                                       request={"resource": None, "code_challenge": "x" * 43,
                                                "redirect_explicit": True})
        store.approvals.answer(pending.approval_id, approve=True, scopes=["mcp"])
        delivery = store.approvals.deliver(pending.approval_id, 60)
        assert delivery is not None and delivery.code is not None
        store.redeem_code(hash_secret(delivery.code), seconds, seconds)
    finally:
        store.close()


def test_tokens_that_expire_leave_the_open_list_without_a_write_or_a_poll(
    qtbot: QtBot, data_dir: Path, quiet_dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = quiet_dashboard
    _short_sign_in(data_dir, 3)
    qtbot.waitUntil(lambda: window.tokens.model.token_count() == 2, timeout=2000)
    qtbot.wait(600)  # the reads the sign-in's writes caused have landed
    reads = ReadCounter(monkeypatch)
    # Nothing is written when a token expires; the service reads once, just after the expiry.
    qtbot.waitUntil(lambda: window.tokens.model.token_count() == 0, timeout=5000)
    assert reads.reads == 1
    qtbot.wait(1000)
    assert reads.reads == 1  # and plans nothing more: no token is left to expire


def test_a_postgresql_store_is_polled_while_shown(qtbot: QtBot, data_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With no database file to watch, the service falls back to reading every REFRESH_MS while shown."""
    monkeypatch.setenv(URL_ENV, "postgresql://nobody@127.0.0.1:9/none")
    service = StoreService(data_dir)
    try:
        assert service.polls
        service.set_shown(True)
        assert service._timer.isActive() and not service._timer.isSingleShot()
        service.set_shown(False)
        assert not service._timer.isActive()
    finally:
        service.close()
    monkeypatch.delenv(URL_ENV)
    sqlite = StoreService(data_dir)
    try:
        assert not sqlite.polls
        sqlite.set_shown(True)
        sqlite._plan_expiry(StoreSnapshot((), (), ()))
        assert not sqlite._timer.isActive()  # nothing to expire, nothing planned
    finally:
        sqlite.close()
