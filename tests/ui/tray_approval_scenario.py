"""Run by test_approval_xvfb.py under Xvfb + trayer (QT_QPA_PLATFORM=xcb): the owner answers in the real tray.

Not collected on its own (no test_ prefix): the outer test starts pytest on this file with the
display set, so pytest-qt's application is a real X11 one with a real system tray.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from playwright.sync_api import sync_playwright
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.exceptions import TimeoutError as QtTimeoutError
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.runner import ServerRunner
from app.ui.tray_app import TrayApp
from bench.support.mcp_session import text_of
from tests.e2e.test_sdk_client import oauth_for
from tests.security.test_consent_browser import LocalSite
from tests.support import owner
from tests.support.clients import REPO, approving_browser, mcp_remote_command, mcp_remote_env
from tests.support.consent import open_waiting_page, query_of, wait_for_answer
from tests.support.memory_storage import MemoryStorage
from tests.support.oauth import OAuthClient, pkce_pair

pytestmark = pytest.mark.gui
SHOTS = Path(os.environ.get("APPROVAL_SHOTS", "")) if os.environ.get("APPROVAL_SHOTS") else None
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def app(qtbot: QtBot, data_dir: Path) -> Iterator[TrayApp]:
    assert QSystemTrayIcon.isSystemTrayAvailable(), "trayer should be the system tray on this display"
    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"k" * 32, persistent=False))
    tray_app = TrayApp(data_dir, runner)
    assert tray_app.tray is not None
    tray_app.dashboard.quit_requested.disconnect(tray_app.quit)
    tray_app.start(start_server=True)
    qtbot.waitUntil(lambda: tray_app.controller.status().url is not None, timeout=15_000)
    owner.remember(runner.port, data_dir)
    yield tray_app
    tray_app.shutdown()


def allow_in_tray(qtbot: QtBot, app: TrayApp, done: Callable[[], bool], shot: str = "") -> str:
    """Wait for the window to come up by itself, click Allow, then wait for the client to finish; the code."""
    window = app.approvals
    qtbot.waitUntil(lambda: window.isVisible() or done(), timeout=60_000)
    assert window.isVisible(), "the client ended before asking to sign in"
    code = window.code.text()
    if SHOTS is not None and shot:
        qtbot.wait(300)
        window.grab().save(str(SHOTS / shot))
    qtbot.mouseClick(window.allow_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(done, timeout=90_000)
    return code


def in_thread(job: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run a client in a thread while the Qt event loop (and the owner) stay on this one."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = job()
        except BaseException as exc:  # reported by the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_chromium_waiting_room_goes_on_when_the_owner_clicks_allow_in_the_tray(qtbot: QtBot, app: TrayApp) -> None:
    site = LocalSite()  # the app's loopback callback
    client = OAuthClient(app.runner.base_url, name="Claude Desktop", redirect=f"http://127.0.0.1:{site.port}/callback")
    verifier, challenge = pkce_pair()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 720, "height": 900})
        page.goto(client.authorize_url(challenge, scope="mcp tools:time"))
        page.wait_for_selector("#match-code")
        shown_code = page.locator("#match-code").inner_text()
        window = app.approvals
        qtbot.waitUntil(window.isVisible, timeout=10_000)
        assert window.code.text() == shown_code  # the owner matches the two
        if SHOTS is not None:
            qtbot.wait(300)
            window.grab().save(str(SHOTS / "approval-window.png"))
        window.boxes["tools:time"].setChecked(True)
        qtbot.mouseClick(window.allow_button, Qt.MouseButton.LeftButton)
        assert site.got_callback.wait(10), "the waiting page did not go on by itself"
        query = query_of(site.hits[0])
        browser.close()
    site.close()
    tokens = client.exchange(query["code"], verifier).json()
    assert tokens["scope"] == "mcp tools:time"
    assert client.mcp(tokens["access_token"]).status_code == 200
    client.close()


def _waiting_browser(url: str) -> str:
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        waiting_url, _ = open_waiting_page(http, url)
        return wait_for_answer(http, waiting_url)


def test_sdk_client_completes_with_the_tray_approval(qtbot: QtBot, app: TrayApp) -> None:
    url = f"{app.runner.base_url}/mcp"

    async def run() -> float:
        storage = MemoryStorage()
        async with httpx2.AsyncClient(auth=oauth_for(url, storage, _waiting_browser), timeout=60) as http, \
                streamable_http_client(url, http_client=http) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            return float(text_of(result))

    thread, box = in_thread(lambda: anyio.run(run))
    allow_in_tray(qtbot, app, lambda: not thread.is_alive())
    assert "error" not in box, box.get("error")
    assert box["result"] == 5


def test_mcp_remote_completes_with_the_tray_approval(qtbot: QtBot, app: TrayApp, tmp_path: Path) -> None:
    command = mcp_remote_command()
    assert command is not None, "mcp-remote is not installed (npm ci)"
    env = {**mcp_remote_env(tmp_path, tmp_path / "browser.log"), "APPROVE_BROWSER_ACTION": "wait"}
    sse_url = f"{app.runner.base_url.replace('127.0.0.1', 'localhost')}/sse"
    params = StdioServerParameters(command=command, args=[sse_url], env=env)

    async def run() -> str:
        with open(tmp_path / "mcp-remote.stderr", "a") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("add", {"a": 2, "b": 3})
                return text_of(result)

    thread, box = in_thread(lambda: anyio.run(run))
    allow_in_tray(qtbot, app, lambda: not thread.is_alive(), shot="approval-window-mcp-remote.png")
    assert "error" not in box, f"{box.get('error')}: {(tmp_path / 'mcp-remote.stderr').read_text()[-2000:]}"
    assert box["result"] == "5"


def test_inspector_cli_completes_with_the_tray_approval(qtbot: QtBot, app: TrayApp, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = {
        "PATH": f"{REPO / 'node_modules' / '.bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"), "BROWSER": str(approving_browser(tmp_path)), "PYTHONPATH": str(REPO),
        "APPROVE_BROWSER_ACTION": "wait", "MCP_AUTO_OPEN_ENABLED": "true", "MCP_INSPECTOR_SECRET_STORE": "memory",
    }
    inspector = subprocess.Popen(
        [str(REPO / "node_modules" / ".bin" / "mcp-inspector"), "--cli", f"http://localhost:{app.runner.port}/mcp",
         "--method", "tools/call", "--tool-name", "add", "--tool-arg", "a=2", "b=3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        allow_in_tray(qtbot, app, lambda: inspector.poll() is not None)
    except (AssertionError, QtTimeoutError) as exc:
        inspector.kill()  # never leave it holding its callback port (6276) for the next run
        out, err = inspector.communicate(timeout=60)
        raise AssertionError(f"{exc}: {out[-1500:]} {err[-3000:]}") from exc
    out, err = inspector.communicate(timeout=60)
    assert inspector.returncode == 0, out + err
    assert '"text": "5"' in out
