"""The dashboard on a real server: tokens from real OAuth, Revoke -> 401, status follows the server."""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.server.runner import ServerRunner
from app.ui import dialogs
from app.ui.dashboard import Dashboard
from app.ui.tokens_model import COL_CLIENT
from tests.conftest import parts_of
from tests.support.signin import mcp_status, sign_in

pytestmark = pytest.mark.gui


def select_token(window: Dashboard, token_id: str) -> None:
    """Select the tree row of one token, as a click would."""
    view = window.tokens
    for g in range(view.proxy.rowCount()):
        group = view.proxy.index(g, 0)
        for t in range(view.proxy.rowCount(group)):
            index = view.proxy.index(t, COL_CLIENT, group)
            found = view.model.token_at(view.proxy.mapToSource(index))
            if found is not None and found.token_id == token_id:
                view.tree.selectionModel().select(
                    index,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
                )
                view.tree.setCurrentIndex(index)
                return
    raise AssertionError(f"token {token_id} is not in the tree")


def access_token_id(server: ServerRunner, client_id: str) -> str:
    rows = parts_of(server).store.list_tokens()
    return next(r.token_id for r in rows if r.client_id == client_id and r.kind == "access")


def test_tokens_table_shows_tokens_issued_through_oauth(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard
) -> None:
    issued = sign_in(server.base_url, "Claude Desktop (mcp-remote)", "mcp offline_access")
    model = dashboard.tokens.model
    qtbot.waitUntil(lambda: model.token_count() == 2, timeout=5000)
    group = model.index(0, 0)
    assert group.data() == "Claude Desktop (mcp-remote)"
    kinds = {model.index(r, COL_CLIENT, group).data() for r in range(model.rowCount(group))}
    assert kinds == {"Access token", "Refresh token"}
    assert model.index(0, 2, group).data() == "mcp offline_access"
    assert dashboard.tabs.tabText(0) == "Sign-ins (1)"  # one sign-in, its two tokens under it
    assert dashboard.clients.model.row_at(0).client_ids == (issued.client_id,)
    assert dashboard.activity.model.rowCount() >= 2  # registered, authorized


def test_revoke_selected_makes_the_token_fail_with_401(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard
) -> None:
    victim = sign_in(server.base_url, "Victim client")
    keeper = sign_in(server.base_url, "Other client")
    assert mcp_status(server.base_url, victim.access_token) == 200
    qtbot.waitUntil(lambda: dashboard.tokens.model.token_count() == 4, timeout=5000)
    select_token(dashboard, access_token_id(server, victim.client_id))
    button = dashboard.tokens.revoke_selected_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dashboard.tokens.model.token_count() == 2, timeout=5000)
    assert mcp_status(server.base_url, victim.access_token) == 401
    assert mcp_status(server.base_url, keeper.access_token) == 200
    names = {g.client_name for g in dashboard.tokens.model.groups}
    assert names == {"Other client"}


def test_revoke_all_for_a_client_asks_first(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sign_in(server.base_url, "Twice registered")
    second = sign_in(server.base_url, "Twice registered")  # a re-registration of the same app
    qtbot.waitUntil(lambda: dashboard.tokens.model.token_count() == 4, timeout=5000)
    select_token(dashboard, access_token_id(server, first.client_id))
    assert dashboard.tokens.revoke_client_button.text() == "Revoke all for Twice registered…"

    answers = [False]
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: answers[0])
    qtbot.mouseClick(dashboard.tokens.revoke_client_button, Qt.MouseButton.LeftButton)
    qtbot.wait(300)
    assert mcp_status(server.base_url, first.access_token) == 200  # cancelled: nothing revoked

    answers[0] = True
    qtbot.mouseClick(dashboard.tokens.revoke_client_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dashboard.tokens.model.token_count() == 0, timeout=5000)
    assert mcp_status(server.base_url, first.access_token) == 401
    assert mcp_status(server.base_url, second.access_token) == 401
    assert dashboard.tokens.empty.isVisible()


def test_remove_client_from_the_clients_tab(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = sign_in(server.base_url, "Old app")
    qtbot.waitUntil(lambda: dashboard.clients.model.rowCount() == 1, timeout=5000)
    dashboard.clients.table.selectRow(0)
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: True)
    qtbot.mouseClick(dashboard.clients.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dashboard.clients.model.rowCount() == 0, timeout=5000)
    assert mcp_status(server.base_url, gone.access_token) == 401


def value(window: Dashboard, key: str) -> str:
    return window.status_panel.values[key].text()


def test_status_view_follows_the_server_stopping_and_starting(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard
) -> None:
    panel = dashboard.status_panel
    state: QLabel = panel.state_label
    assert state.text() == "Running"
    assert value(dashboard, "url") == f"{server.base_url}/mcp"
    httpx.get(f"{server.base_url}/health", timeout=5)
    qtbot.waitUntil(lambda: int(value(dashboard, "requests").replace(",", "")) >= 1, timeout=3000)

    old_url = server.base_url
    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.text() == "Stopped", timeout=10_000)
    assert value(dashboard, "url").startswith("not serving")
    assert panel.toggle.text() == "Start server"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{old_url}/health", timeout=2)

    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.text() == "Running", timeout=10_000)
    assert value(dashboard, "url") == f"{server.base_url}/mcp"
    assert httpx.get(f"{server.base_url}/health", timeout=5).json()["status"] == "ok"
    assert panel.toggle.text() == "Stop server"
