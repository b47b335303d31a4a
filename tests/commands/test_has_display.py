"""app/main.py has_display: on Linux, a display (or a chosen Qt platform) from the environment; elsewhere, always."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.main import has_display
from tests.support.serve import REPO, app_command, free_port

_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _DISPLAY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux branch reads the environment")
def test_linux_without_any_display_variable_has_none(no_display: pytest.MonkeyPatch) -> None:
    assert has_display() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux branch reads the environment")
@pytest.mark.parametrize(("name", "value"), [("DISPLAY", ":0"), ("WAYLAND_DISPLAY", "wayland-0"),
                                             ("QT_QPA_PLATFORM", "offscreen")])
def test_linux_any_one_of_them_is_a_display(no_display: pytest.MonkeyPatch, name: str, value: str) -> None:
    no_display.setenv(name, value)
    assert has_display() is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux branch reads the environment")
def test_linux_an_empty_variable_is_no_display(no_display: pytest.MonkeyPatch) -> None:
    for name in _DISPLAY_VARS:
        no_display.setenv(name, "")
    assert has_display() is False


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_always_have_one(no_display: pytest.MonkeyPatch, platform: str) -> None:
    no_display.setattr(sys, "platform", platform)  # their Qt always has a screen to draw on; none runs here
    assert has_display() is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux branch reads the environment")
def test_the_tray_app_without_a_display_serves_headless_and_says_why(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _DISPLAY_VARS}
    port = free_port()
    proc = subprocess.Popen(app_command("--data-dir", str(tmp_path / "data"), "--port", str(port)), cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert ready == f"MCP server ready at http://127.0.0.1:{port}/mcp", err
    assert proc.returncode == 0, err
    assert "no display found" in err and "headless" in err
    assert "Traceback" not in err
