"""The Tool calls tab over a real server: calls show up live while it is visible, filters narrow them,
reading stops when it is hidden, and "Revoke this sign-in" makes the caller's token fail with 401."""

from __future__ import annotations

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt
from pytestqt.qtbot import QtBot

from app.server.runner import ServerRunner
from app.ui import dialogs
from app.ui.dashboard import Dashboard
from tests.support.signin import Issued, mcp_status, sign_in
from tests.tools.mcp_session import mcp_session

pytestmark = pytest.mark.gui


def call(server: ServerRunner, issued: Issued, tool: str, args: dict[str, object]) -> None:
    """One tools/call through the SDK client (the server runs on its own thread)."""

    async def go() -> None:
        async with mcp_session(server.base_url, issued.access_token) as (session, _):
            try:
                await session.call_tool(tool, args)
            except MCPError:
                pass  # HTTP 403 insufficient_scope: audited all the same

    anyio.run(go)


def test_calls_appear_live_filter_and_revoke(qtbot: QtBot, server: ServerRunner, dashboard: Dashboard,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    alice = sign_in(server.base_url, "Alice's client")
    bob = sign_in(server.base_url, "Bob's client")
    view = dashboard.audit
    dashboard.tabs.setCurrentWidget(view)
    assert view.live and not view.timer.isActive()  # it follows the database, no timer
    call(server, alice, "add", {"a": 1, "b": 2, "token": "t0psecret"})
    call(server, bob, "now", {})  # refused (403): no tools:time scope
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)
    assert {view.model.row_at(r).client_name for r in range(2)} == {"Alice's client", "Bob's client"}
    assert all("t0psecret" not in view.model.row_at(r).arguments for r in range(2))

    view.tool_filter.setCurrentIndex(view.tool_filter.findData("add"))
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5000)
    assert view.model.row_at(0).client_id == alice.client_id
    view.tool_filter.setCurrentIndex(0)
    view.client_filter.setCurrentIndex(view.client_filter.findData(bob.client_id))
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.row_at(0).name == "now", timeout=5000)
    view.client_filter.setCurrentIndex(0)
    view.outcome_filter.setCurrentIndex(view.outcome_filter.findData("refused scope"))
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.row_at(0).name == "now", timeout=5000)
    view.outcome_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)

    dashboard.tabs.setCurrentIndex(0)  # another tab: the view stops reading
    assert not view.live
    dashboard.tabs.setCurrentWidget(view)
    assert view.live and not view.timer.isActive()  # it follows the database, no timer

    row = next(r for r in range(2) if view.model.row_at(r).client_id == alice.client_id)
    proxy = view.table.model()
    assert isinstance(proxy, QSortFilterProxyModel)
    index = next(proxy.index(i, 0) for i in range(2) if proxy.mapToSource(proxy.index(i, 0)).row() == row)
    view.table.selectionModel().select(
        index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    assert view.revoke_button.isEnabled()
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: True)
    qtbot.mouseClick(view.revoke_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: mcp_status(server.base_url, alice.access_token) == 401, timeout=5000)
    assert mcp_status(server.base_url, bob.access_token) == 200
