"""The owner answers held calls in the real prompt window (the tray app's, offscreen): the SDK client's
call to an Ask tool waits, the window shows who, what and the full arguments, and each answer does
what it says; every case leaves its audit row."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner
from app.store import audit
from app.ui.tray_app import TrayApp
from bench.support.mcp_session import text_of
from tests.audit.helpers import TRANSPORTS, any_client
from tests.conftest import parts_of
from tests.support.oauth import Tokens, obtain_tokens

pytestmark = pytest.mark.gui


@pytest.fixture
def app(qtbot: QtBot, data_dir: Path) -> Iterator[TrayApp]:
    """The tray app (no tray: the dashboard stands in) over a started server with `add` set to Ask."""
    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(ask_timeout=3),
                          secret=Secret(b"k" * 32, persistent=False))
    tray_app = TrayApp(data_dir, runner, use_tray=False)
    qtbot.addWidget(tray_app.dashboard)
    tray_app.dashboard.quit_requested.disconnect(tray_app.quit)
    runner.start()
    assert runner.wait_ready(15)
    runner.tools.set_policy("add", "ask")
    yield tray_app
    tray_app.shutdown()


class Call(threading.Thread):
    """One tools/call from the SDK client on its own thread, so the GUI's loop keeps running."""

    def __init__(self, base: str, tokens: Tokens, args: dict[str, Any], transport: str = "mcp") -> None:
        super().__init__(daemon=True)
        self.base, self.tokens, self.args, self.transport = base, tokens, args, transport
        self.result: Any = None
        self.start()

    def run(self) -> None:
        async def go() -> None:
            async with any_client(self.base, self.tokens.access_token, self.transport) as client:
                self.result = await client.call_tool("add", self.args)

        anyio.run(go)

    def outcome(self, qtbot: QtBot) -> Any:
        qtbot.waitUntil(lambda: not self.is_alive(), timeout=15000)
        return self.result


def last_outcome(app: TrayApp) -> str:
    parts = app.runner.parts
    assert parts is not None and parts.audit is not None and parts.audit.flush()
    return parts.store.audit.rows()[0].outcome


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_allow_once_in_the_window(qtbot: QtBot, app: TrayApp, transport: str) -> None:
    tokens = obtain_tokens(app.runner.base_url, name="Prompted client")
    call = Call(app.runner.base_url, tokens, {"a": 2, "b": 3, "note": {"deep": ["x", "y"]}}, transport)
    prompt = app.prompt
    qtbot.waitUntil(prompt.isVisible, timeout=10000)
    assert prompt.heading.text() == "Prompted client wants to call add"
    assert tokens.client_id in prompt.detail.text()
    shown = prompt.arguments.toPlainText()
    assert json.loads(shown) == {"a": 2, "b": 3, "note": {"deep": ["x", "y"]}} and "\n  " in shown  # pretty
    qtbot.mouseClick(prompt.allow_once, Qt.MouseButton.LeftButton)
    assert text_of(call.outcome(qtbot)) == "5"
    qtbot.waitUntil(lambda: not prompt.isVisible(), timeout=5000)
    assert last_outcome(app) == audit.OK


def test_deny_with_esc_and_enter_allows_once(qtbot: QtBot, app: TrayApp) -> None:
    tokens = obtain_tokens(app.runner.base_url)
    call = Call(app.runner.base_url, tokens, {"a": 1, "b": 1})
    qtbot.waitUntil(app.prompt.isVisible, timeout=10000)
    app.prompt.activateWindow()
    qtbot.keyClick(app.prompt, Qt.Key.Key_Escape)
    result = call.outcome(qtbot)
    assert result.is_error and "declined" in text_of(result)
    assert last_outcome(app) == audit.DENIED

    call = Call(app.runner.base_url, tokens, {"a": 1, "b": 1})
    qtbot.waitUntil(app.prompt.isVisible, timeout=10000)
    qtbot.keyClick(app.prompt, Qt.Key.Key_Return)
    assert text_of(call.outcome(qtbot)) == "2"


def test_no_answer_times_out_and_the_window_goes(qtbot: QtBot, app: TrayApp) -> None:
    tokens = obtain_tokens(app.runner.base_url)
    call = Call(app.runner.base_url, tokens, {"a": 1, "b": 1})
    qtbot.waitUntil(app.prompt.isVisible, timeout=10000)
    result = call.outcome(qtbot)
    assert result.is_error and "did not answer within 3 s" in text_of(result)
    qtbot.waitUntil(lambda: not app.prompt.isVisible(), timeout=5000)
    assert last_outcome(app) == audit.NO_ANSWER


def test_allow_for_an_hour_then_no_prompt(qtbot: QtBot, app: TrayApp) -> None:
    tokens = obtain_tokens(app.runner.base_url)
    call = Call(app.runner.base_url, tokens, {"a": 1, "b": 1})
    qtbot.waitUntil(app.prompt.isVisible, timeout=10000)
    qtbot.mouseClick(app.prompt.allow_hour, Qt.MouseButton.LeftButton)
    assert text_of(call.outcome(qtbot)) == "2"
    again = Call(app.runner.base_url, tokens, {"a": 5, "b": 5})
    assert text_of(again.outcome(qtbot)) == "10"
    assert not app.prompt.isVisible()
    assert last_outcome(app) == audit.OK


def test_several_calls_queue_in_one_window_newest_last(qtbot: QtBot, app: TrayApp) -> None:
    first, second = obtain_tokens(app.runner.base_url, name="First"), obtain_tokens(app.runner.base_url, name="Second")
    one = Call(app.runner.base_url, first, {"a": 1, "b": 0})
    qtbot.waitUntil(lambda: len(app.prompt.calls()) == 1, timeout=10000)
    two = Call(app.runner.base_url, second, {"a": 2, "b": 0})
    qtbot.waitUntil(lambda: len(app.prompt.calls()) == 2, timeout=10000)
    assert [c.client_name for c in app.prompt.calls()] == ["First", "Second"]
    assert app.prompt.queue.isVisibleTo(app.prompt) and app.prompt.queue.count() == 2
    assert app.prompt.heading.text() == "First wants to call add"  # the oldest is answered first
    qtbot.mouseClick(app.prompt.deny, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.prompt.heading.text() == "Second wants to call add", timeout=5000)
    qtbot.mouseClick(app.prompt.allow_once, Qt.MouseButton.LeftButton)
    assert "declined" in text_of(one.outcome(qtbot))
    assert text_of(two.outcome(qtbot)) == "2"


def test_the_tray_offers_access_after_a_403_and_yes_lets_the_next_call_through(
        qtbot: QtBot, app: TrayApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from app.ui import dialogs
    from tests.support.oauth import MCP_HEADERS

    folder = tmp_path / "Notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("buy milk\n", encoding="utf-8")
    app.runner.tools.enable("read_file")
    app.runner.tools.add_folder(folder)
    asked: list[str] = []
    def ask(parent: object, title: str, text: str) -> bool:
        asked.append(title)
        return True

    monkeypatch.setattr(dialogs, "ask", ask)
    tokens = obtain_tokens(app.runner.base_url, name="Curious client")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "read_file", "arguments": {"path": "Notes/todo.txt"}}}
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens.access_token}"}
    assert httpx.post(f"{app.runner.base_url}/mcp", json=body, headers=headers, timeout=10).status_code == 403
    qtbot.waitUntil(lambda: bool(asked), timeout=10000)
    assert asked == ["Give Curious client access to your chosen folders (read-only)?"]
    store = parts_of(app.runner).store
    qtbot.waitUntil(lambda: "tools:files" in (store.check_token(tokens.access_token).scopes  # type: ignore[union-attr]  # just issued
                                              ), timeout=10000)

    async def read() -> Any:
        async with any_client(app.runner.base_url, tokens.access_token, "mcp") as client:
            return await client.call_tool("read_file", {"path": "Notes/todo.txt"})

    result = anyio.run(read)
    assert not result.is_error and "buy milk" in text_of(result)
