"""The dashboard's layout, wording and keys: minimum size, empty states, one row per sign-in, plurals, shortcuts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, QRect, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.server.runner import ServerRunner
from app.ui import dialogs
from app.ui.dashboard import MIN_SIZE, Dashboard
from app.ui.lists_view import ACTIVITY_EMPTY, CLIENTS_EMPTY
from app.ui.tokens_model import COL_CLIENT, COL_ID
from tests.support.signin import mcp_status, sign_in

pytestmark = pytest.mark.gui


def frame(widget: QWidget, window: QWidget) -> QRect:
    """A widget's rectangle in the window's coordinates."""
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def select_sign_in(window: Dashboard, row: int) -> None:
    view = window.tokens
    index = view.proxy.index(row, COL_CLIENT)
    view.tree.selectionModel().select(
        index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    view.tree.setCurrentIndex(index)


def test_the_dashboard_cannot_be_squeezed_until_its_parts_overlap(qtbot: QtBot, dashboard: Dashboard) -> None:
    assert dashboard.minimumWidth() >= MIN_SIZE.width() and dashboard.minimumHeight() >= MIN_SIZE.height()
    dashboard.resize(320, 240)
    qtbot.waitUntil(lambda: dashboard.width() >= MIN_SIZE.width(), timeout=2000)
    panel, tabs = frame(dashboard.status_panel, dashboard), frame(dashboard.tabs, dashboard)
    assert not panel.intersects(tabs) and tabs.top() >= panel.bottom()
    buttons = [dashboard.status_panel.toggle, dashboard.status_panel.copy, dashboard.status_panel.settings]
    shown = [frame(b, dashboard) for b in buttons]
    assert all(dashboard.rect().contains(r) for r in shown)
    assert not any(a.intersects(b) for i, a in enumerate(shown) for b in shown[i + 1:])


def test_a_status_message_does_not_move_the_buttons(qtbot: QtBot, dashboard: Dashboard) -> None:
    button = dashboard.tokens.revoke_selected_button
    before = frame(button, dashboard)
    dashboard.statusBar().showMessage("Revoked 1 sign-in.", 5000)
    qtbot.wait(50)
    assert frame(button, dashboard) == before


def test_clients_and_activity_say_what_will_appear_while_empty(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard
) -> None:
    qtbot.waitUntil(lambda: dashboard.store.last is not None, timeout=5000)
    # Shown within its tab (the tab itself may be behind another one): not hidden.
    assert not dashboard.clients.empty.isHidden() and dashboard.clients.empty.text() == CLIENTS_EMPTY
    assert not dashboard.activity.empty.isHidden() and dashboard.activity.empty.text() == ACTIVITY_EMPTY
    assert not dashboard.tokens.empty.isHidden() and "(s)" not in dashboard.tokens.empty.text()
    sign_in(server.base_url, "First client")
    qtbot.waitUntil(lambda: dashboard.clients.empty.isHidden(), timeout=5000)
    assert dashboard.activity.empty.isHidden()


def test_one_row_per_sign_in_with_its_two_tokens_under_it(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(server.base_url, "Twice signed in")
    sign_in(server.base_url, "Twice signed in")
    model = dashboard.tokens.model
    qtbot.waitUntil(lambda: model.token_count() == 4, timeout=5000)
    assert model.rowCount() == 2  # two sign-ins, not one "4 tokens" row
    for row in range(2):
        group = model.index(row, 0)
        assert group.data() == "Twice signed in"
        assert model.index(row, COL_ID).data().startswith("sign-in ")
        assert [model.index(r, COL_CLIENT, group).data() for r in range(model.rowCount(group))] == [
            "Access token", "Refresh token"]
    assert dashboard.tabs.tabText(0) == "Sign-ins (2)"
    asked: list[str] = []

    def ask(parent: object, title: str, text: str) -> bool:
        asked.append(text)
        return False

    monkeypatch.setattr(dialogs, "ask", ask)
    select_sign_in(dashboard, 0)
    dashboard.tokens.revoke_client_button.click()
    assert "(2 sign-ins)" in asked[0] and "(s)" not in asked[0]


def test_delete_revokes_the_selected_sign_in_after_asking(
    qtbot: QtBot, server: ServerRunner, dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = sign_in(server.base_url, "Delete me")
    qtbot.waitUntil(lambda: dashboard.tokens.model.token_count() == 2, timeout=5000)
    dashboard.tabs.setCurrentWidget(dashboard.tokens)
    dashboard.activateWindow()
    select_sign_in(dashboard, 0)
    answers = [False, True]
    asked: list[str] = []

    def ask(parent: QWidget | None, title: str, text: str) -> bool:
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(dialogs, "ask", ask)
    qtbot.keyClick(dashboard.tokens.tree, Qt.Key.Key_Delete)
    assert asked == ["Revoke 1 sign-in of “Delete me”?\n\nEach loses access at once and must sign in again, "
                     "and you approve it again."]
    assert mcp_status(server.base_url, victim.access_token) == 200  # Cancel kept it
    qtbot.keyClick(dashboard.tokens.tree, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: dashboard.tokens.model.token_count() == 0, timeout=5000)
    assert mcp_status(server.base_url, victim.access_token) == 401


@pytest.mark.parametrize("keys", ["Esc", "Ctrl+W"])
def test_esc_and_ctrl_w_close_the_dashboard(qtbot: QtBot, dashboard: Dashboard, keys: str) -> None:
    assert dashboard.isVisible()
    key, modifier = (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier) if keys == "Esc" else (
        Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dashboard.tokens.tree, key, modifier)
    qtbot.waitUntil(lambda: not dashboard.isVisible(), timeout=2000)


def test_ctrl_q_asks_to_quit(qtbot: QtBot, dashboard: Dashboard) -> None:
    with qtbot.waitSignal(dashboard.quit_requested, timeout=2000):
        qtbot.keyClick(dashboard.tokens.tree, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
