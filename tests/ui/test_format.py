"""Times as the dashboard words them."""

from __future__ import annotations

import time

import pytest

from app.ui.format import clock, relative, uptime, uptime_changes_in

pytestmark = pytest.mark.gui
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, "just now"),
        (-30, "30 s ago"),
        (-600, "10 min ago"),
        (3540, "in 59 min"),
        (-2 * 3600 - 300, "2 h 5 min ago"),
        (-11 * 3600, "11 h ago"),
        (29 * 86400 + 100, "in 29 days"),
    ],
)
def test_relative(offset: float, expected: str) -> None:
    assert relative(NOW + offset, NOW) == expected


def test_never_and_uptime() -> None:
    assert relative(None, NOW) == "never"
    assert uptime(None, NOW) == "—"
    assert uptime(NOW - 65, NOW) == "1 min"
    assert uptime(NOW - 30, NOW) == "under a minute"  # in minutes: the dashboard draws it once a minute
    assert uptime(NOW + 5, NOW) == "under a minute"  # a clock step backwards never shows a negative uptime


@pytest.mark.parametrize(
    ("up", "changes_in", "then"),
    [
        (0, 60, "1 min"),
        (59.5, 0.5, "1 min"),
        (61, 59, "2 min"),
        (3599, 1, "1 h"),
        (3660, 60, "1 h 2 min"),
        (36_001, 3599, "11 h"),  # from ten hours on, whole hours
        (2 * 86400 + 5, 86395, "3 days"),
    ],
)
def test_the_uptime_says_when_its_words_change(up: float, changes_in: float, then: str) -> None:
    assert uptime_changes_in(NOW - up, NOW) == pytest.approx(changes_in)
    assert uptime(NOW - up, NOW + changes_in) == then
    assert uptime(NOW - up, NOW + changes_in - 0.01) == uptime(NOW - up, NOW)


def test_clock_shows_the_date_only_for_other_days() -> None:
    today = time.mktime((*time.localtime(NOW)[:3], 9, 5, 0, 0, 0, -1))
    assert clock(today, today + 60) == "09:05:00"
    assert clock(today - 86400 * 3, today).endswith("09:05")
