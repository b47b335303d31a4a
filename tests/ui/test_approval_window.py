"""The tray's approval window: it opens by itself, shows the request, and the owner's click makes the grant.

Real server, real OAuth requests, the real window (pytest-qt). test_approval_xvfb.py does the same
with the tray under Xvfb and trayer while chromium shows the waiting page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner
from app.ui.tray_app import TrayApp
from tests.conftest import parts_of
from tests.support import owner
from tests.support.consent import collect, match_code, query_of
from tests.support.oauth import OAuthClient, pkce_pair

pytestmark = pytest.mark.gui


@pytest.fixture
def app(qtbot: QtBot, data_dir: Path) -> Iterator[TrayApp]:
    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"k" * 32, persistent=False))
    tray_app = TrayApp(data_dir, runner, use_tray=False)
    qtbot.addWidget(tray_app.dashboard)
    tray_app.dashboard.quit_requested.disconnect(tray_app.quit)
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.controller.status().url is not None, timeout=15_000)
    owner.remember(runner.port, data_dir)
    yield tray_app
    tray_app.shutdown()


def _request(app: TrayApp, name: str = "Claude Desktop", **extra: str) -> tuple[OAuthClient, str, str, str]:
    """A client opens its waiting page; (client, verifier, page URL, match code)."""
    client = OAuthClient(app.runner.base_url, name=name)
    verifier, challenge = pkce_pair()
    answer = client.http.get(client.authorize_url(challenge, **extra))
    assert answer.status_code == 302
    url = urljoin(app.runner.base_url, answer.headers["location"])
    return client, verifier, url, match_code(client.http.get(url).text)


def test_window_opens_by_itself_and_allow_grants_exactly_the_ticked_groups_for_the_chosen_time(
    qtbot: QtBot, app: TrayApp
) -> None:
    client, verifier, url, code = _request(app, scope="mcp tools:files tools:time")
    window = app.approvals
    qtbot.waitUntil(window.isVisible, timeout=5000)
    assert window.code.text() == code
    assert "Claude Desktop" in window.title.text() and "unverified" in window.identity.text()
    assert window.target.text() == "127.0.0.1:33418"
    # Nothing is pre-granted; what the client asked for is marked.
    assert not any(box.isChecked() for box in window.boxes.values())
    assert "(asked for)" in window.boxes["tools:files"].text()
    assert "(asked for)" not in window.boxes["tools:plugins"].text()
    assert app.dashboard.pending_button.isVisibleTo(app.dashboard) and app.pending_count() == 1
    window.boxes["tools:time"].setChecked(True)
    window.lifetime.setCurrentIndex(window.lifetime.findData("1d"))
    qtbot.mouseClick(window.allow_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    query = query_of(collect(client.http, url))
    tokens = client.exchange(query["code"], verifier).json()
    assert tokens["scope"] == "mcp tools:time"  # tools:files was asked for, not ticked
    assert app.runner.parts is not None
    refresh = next(t for t in parts_of(app.runner).store.list_tokens() if t.kind == "refresh")
    assert refresh.expires_at <= time.time() + 24 * 3600 + 5
    assert not app.dashboard.pending_button.isVisibleTo(app.dashboard)
    client.close()


def test_escape_denies_and_enter_allows(qtbot: QtBot, app: TrayApp) -> None:
    first, _, first_url, _ = _request(app, name="First")
    second, _, second_url, _ = _request(app, name="Second")
    window = app.approvals
    qtbot.waitUntil(window.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: "1 of 2" in window.position.text(), timeout=3000)
    assert "First" in window.title.text()  # oldest first, newest last
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert query_of(collect(first.http, first_url))["error"] == "access_denied"
    qtbot.waitUntil(lambda: "Second" in window.title.text(), timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert "code" in query_of(collect(second.http, second_url))
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=3000)
    first.close()
    second.close()


def test_an_answer_from_the_cli_takes_the_request_off_the_window(qtbot: QtBot, app: TrayApp, data_dir: Path) -> None:
    client, _, url, code = _request(app)
    window = app.approvals
    qtbot.waitUntil(window.isVisible, timeout=5000)
    owner.answer(data_dir, code, "deny")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=4000)  # the shown window re-reads every second
    assert query_of(collect(client.http, url))["error"] == "access_denied"
    client.close()


def test_hidden_window_does_not_poll_and_closing_leaves_the_request_waiting(
    qtbot: QtBot, app: TrayApp, data_dir: Path
) -> None:
    window = app.approvals
    assert not window.isVisible() and not window._timer.isActive()
    client, _, url, code = _request(app)
    qtbot.waitUntil(window.isVisible, timeout=5000)
    assert window._timer.isActive()
    window.close()
    assert not window.isVisible() and not window._timer.isActive()
    assert [p["code"] for p in owner.pending(data_dir)] == [code]
    assert httpx.get(url, timeout=5).status_code == 200  # still the waiting page
    app.open_approvals()  # the tray menu's "Approve sign-in…" and the dashboard's line bring it back
    qtbot.waitUntil(window.isVisible, timeout=5000)  # once the queue was read, off the GUI thread
    assert window.code.text() == code
    client.close()
