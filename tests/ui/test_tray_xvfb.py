"""The real app on Xvfb with trayer: icon embedded, Quit from the tray menu, SIGTERM, second launch."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import owner
from tests.support.signin import sign_in
from tests.support.xdisplay import TrayDisplay, tray_display_or_skip

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
DISPLAY_NUMBER = 91


@pytest.fixture(scope="module")
def xtray() -> Iterator[TrayDisplay]:
    """Xvfb :91 with trayer as the system tray."""
    yield from tray_display_or_skip(DISPLAY_NUMBER)


class App:
    """`python -m app --data-dir D --port 0` running on the test display."""

    def __init__(self, display: TrayDisplay, data_dir: Path) -> None:
        self.display = display
        self.data_dir = data_dir
        self.log_file = data_dir / "logs" / "mcp-tray.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "--port", "0"],
            cwd=ROOT,
            env=display.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""

    def wait_log(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log())
            if found:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(f"app exited early ({self.proc.returncode}): {self.proc.stderr.read()}")  # type: ignore[union-attr]  # stderr=PIPE
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the log:\n{self.log()}")

    def base_url(self) -> str:
        base = self.wait_log(r"MCP server ready at (http://\S+)/mcp")[1]
        owner.remember(int(base.rsplit(":", 1)[1]), self.data_dir)  # tests answer sign-ins as its owner
        return base

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def app(xtray: TrayDisplay, data_dir: Path) -> Iterator[App]:
    running = App(xtray, data_dir)
    yield running
    running.stop()


def test_tray_icon_is_embedded_and_quit_from_its_menu_exits_0(xtray: TrayDisplay, app: App) -> None:
    assert app.wait_log(r"system tray available: (\w+)")[1] == "True"
    app.base_url()
    x, y, w, h = map(int, app.wait_log(r"tray icon embedded at x=(\d+) y=(\d+) w=(\d+) h=(\d+)").groups())
    assert w > 0 and h > 0
    panel_id = re.search(r'^\s*(0x[0-9a-f]+) "panel"', xtray.tree(), re.M)
    assert panel_id is not None
    assert '"MCP Tray"' in xtray.run("xwininfo", "-id", panel_id[1], "-tree")  # our icon window is in trayer
    windows_before = xtray.tree().count('"MCP Tray"')
    xtray.run("xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "3")
    deadline = time.monotonic() + 5
    while xtray.tree().count('"MCP Tray"') <= windows_before:  # the popup menu gets mapped
        assert time.monotonic() < deadline, "the tray menu did not open"
        time.sleep(0.1)
    time.sleep(0.3)
    xtray.run("xdotool", "key", "q")  # &Quit
    assert app.proc.wait(5) == 0
    assert "quit requested" in app.log()


def test_sigterm_exits_0_with_a_client_connected(app: App) -> None:
    base = app.base_url()
    issued = sign_in(base, "Streaming client")
    opened = threading.Event()

    def hold_stream() -> None:
        headers = {"Authorization": f"Bearer {issued.access_token}"}
        try:
            with httpx.stream("GET", f"{base}/sse", headers=headers, timeout=30) as response:
                opened.set()
                for _ in response.iter_bytes():
                    pass
        except httpx.HTTPError:
            pass

    thread = threading.Thread(target=hold_stream, daemon=True)
    thread.start()
    assert opened.wait(10)
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(5) == 0
    thread.join(5)


def test_second_launch_shows_the_running_one_instead_of_starting_a_server(
    xtray: TrayDisplay, app: App
) -> None:
    base = app.base_url()
    second = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(app.data_dir), "--port", "0"],
        cwd=ROOT,
        env=xtray.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 0
    assert "already running" in second.stderr
    app.wait_log("another launch asked this instance to show its window", 5)
    assert len(re.findall(r"MCP server ready at", app.log())) == 1
    assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    app.proc.send_signal(signal.SIGTERM)
    assert app.proc.wait(5) == 0
