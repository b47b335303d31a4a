"""A real X display with a real system tray for tests; the display itself lives in bench/support/xdisplay.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.support.xdisplay import TrayDisplay, missing_tools, tray_display

__all__ = ["TrayDisplay", "missing_tools", "tray_display", "tray_display_or_skip"]


def tray_display_or_skip(number: int) -> Iterator[TrayDisplay]:
    """For a module fixture: Xvfb :number with trayer, or skip saying what to install."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/setup.sh --test installs them)")
    with tray_display(number) as display:
        yield display
