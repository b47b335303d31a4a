"""The real tray app on Xvfb with trayer: a held call's prompt window appears on the display and a click
on Allow once lets the call run; then "Revoke everything and stop" from the tray menu revokes the
sign-in and stops the server while the app stays in the tray."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from app.config import Settings
from bench.support.mcp_session import text_of
from tests.audit.helpers import any_client
from tests.commands.test_store_cli import cli
from tests.support.signin import sign_in
from tests.support.xdisplay import TrayDisplay, tray_display_or_skip
from tests.ui.test_tray_xvfb import App

pytestmark = pytest.mark.gui
DISPLAY_NUMBER = 94
PROMPT = "MCP Tray — a tool call waits for you"


@pytest.fixture(scope="module")
def xtray() -> Iterator[TrayDisplay]:
    yield from tray_display_or_skip(DISPLAY_NUMBER)


def visible_window(display: TrayDisplay, title: str, timeout: float = 15) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ids = display.run("xdotool", "search", "--onlyvisible", "--name", f"^{re.escape(title)}$").split()
        except subprocess.CalledProcessError:
            ids = []
        if ids:
            return ids[-1]
        time.sleep(0.1)
    return None


def tree(display: TrayDisplay) -> str:
    """The window tree; a window that goes away while xwininfo walks it makes one walk fail, so retry."""
    for _attempt in range(5):
        try:
            return display.tree()
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    return display.tree()


def geometry(display: TrayDisplay, window: str) -> tuple[int, int, int, int]:
    text = display.run("xdotool", "getwindowgeometry", window)
    x, y = map(int, re.search(r"Position: (-?\d+),(-?\d+)", text).groups())  # type: ignore[union-attr]  # xdotool prints it
    w, h = map(int, re.search(r"Geometry: (\d+)x(\d+)", text).groups())  # type: ignore[union-attr]  # and this
    return x, y, w, h


def test_prompt_on_the_display_and_panic_from_the_tray_menu(xtray: TrayDisplay, data_dir: Path) -> None:
    Settings(ask_timeout=60).save(data_dir)
    assert cli(data_dir, "tools", "policy", "add", "ask").returncode == 0
    app = App(xtray, data_dir)
    try:
        base = app.base_url()
        issued = sign_in(base, "Desk client")
        box: dict[str, Any] = {}

        def call() -> None:
            async def go() -> None:
                async with any_client(base, issued.access_token, "mcp") as client:
                    box["result"] = await client.call_tool("add", {"a": 20, "b": 22})

            anyio.run(go)

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        window = visible_window(xtray, PROMPT)
        assert window is not None, "the prompt window did not appear"
        x, y, w, h = geometry(xtray, window)
        time.sleep(0.5)
        # Allow once: the rightmost button of the bottom row (the window's layout, 620x460 at 100%).
        xtray.run("xdotool", "mousemove", str(x + w - 52), str(y + h - 42), "click", "1")
        thread.join(15)
        assert text_of(box["result"]) == "42"
        assert _gone(xtray), "the prompt stayed after its only call was answered"

        tx, ty, tw, th = map(int, app.wait_log(r"tray icon embedded at x=(\d+) y=(\d+) w=(\d+) h=(\d+)").groups())
        confirm = None
        for _attempt in range(3):  # a click while a tray message is up may only dismiss the message
            before = tree(xtray).count('"MCP Tray"')
            xtray.run("xdotool", "mousemove", str(tx + tw // 2), str(ty + th // 2), "click", "3")
            deadline = time.monotonic() + 3
            while tree(xtray).count('"MCP Tray"') <= before and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)
            xtray.run("xdotool", "key", "p")  # Revoke everything and sto&p…
            confirm = visible_window(xtray, "Revoke everything and stop?", timeout=3)
            if confirm is not None:
                break
        assert confirm is not None, "the tray menu did not offer the confirmation"
        cx, cy, _, _ = geometry(xtray, confirm)
        xtray.run("xdotool", "mousemove", str(cx + 20), str(cy + 20), "key", "alt+y")  # &Yes
        app.wait_log(r"Everything revoked", timeout=20)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/health", timeout=1)
            except httpx.HTTPError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the server still answers after panic")
        assert app.proc.poll() is None  # the app stays in the tray, its server stopped
    finally:
        app.stop()
    done = cli(data_dir, "tokens", "list", "--json")
    assert done.stdout.strip() == "[]"  # nothing is live any more


def _gone(display: TrayDisplay) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if visible_window(display, PROMPT, timeout=0.2) is None:
            return True
    return False
