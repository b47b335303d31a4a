"""The owner approves in the real tray window on Xvfb with trayer: chromium, the SDK client, mcp-remote, the Inspector.

pytest-qt's application lives once per process and the other GUI tests draw offscreen, so this
runs tests/ui/tray_approval_scenario.py in its own pytest process on the test display.
Set UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/approval-window.png from this run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.xdisplay import TrayDisplay, tray_display_or_skip

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
DISPLAY_NUMBER = 93


@pytest.fixture(scope="module")
def xtray() -> Iterator[TrayDisplay]:
    yield from tray_display_or_skip(DISPLAY_NUMBER)


def test_owner_approves_every_real_client_in_the_tray_window(xtray: TrayDisplay, tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "tests" / "ui" / "tray_approval_scenario.py"), "-q",
         "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner")],
        cwd=ROOT, env=xtray.env(QT_QPA_PLATFORM="xcb", APPROVAL_SHOTS=str(shots)),
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "4 passed" in done.stdout, done.stdout[-2000:]
    shot = shots / "approval-window.png"
    assert shot.stat().st_size > 5_000
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, ROOT / "docs" / "screenshots" / "approval-window.png")
