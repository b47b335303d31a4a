"""When remote access turns itself off: after 8 hours, at the next local midnight, or never."""

from __future__ import annotations

import time

AUTO_OFF_LABELS = {"8h": "after 8 hours", "midnight": "at midnight", "never": "never"}


def auto_off_at(choice: str, now: float) -> float | None:
    """The moment (epoch seconds) remote access started at `now` ends by itself; None for never."""
    if choice == "never":
        return None
    if choice == "midnight":
        t = time.localtime(now)
        # mktime rolls day 32 over into the next month, and -1 lets it find the DST offset of that night.
        return time.mktime((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0, 0, 0, -1))
    if choice == "8h":
        return now + 8 * 3600
    raise ValueError(f"unknown auto-off choice {choice!r}")
