"""Human-readable times and durations for the dashboard (plain Python, no Qt)."""

from __future__ import annotations

import time


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h {rest // 60} min" if hours < 10 and rest >= 60 else f"{hours} h"
    return f"{seconds // 86400} days"


def relative(ts: float | None, now: float | None = None, never: str = "never") -> str:
    """'3 min ago', 'in 59 min', or `never` for None."""
    if ts is None:
        return never
    now = time.time() if now is None else now
    delta = ts - now
    if abs(delta) < 5:
        return "just now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


def absolute(ts: float | None) -> str:
    """Local date and time, for tooltips."""
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def clock(ts: float | None, now: float | None = None) -> str:
    """'14:02:11' today, else '27 Nov 14:02'."""
    if ts is None:
        return ""
    now = time.time() if now is None else now
    local = time.localtime(ts)
    if time.localtime(now)[:3] == local[:3]:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%d %b %H:%M", local)


UNDER_A_MINUTE = "under a minute"


def uptime(started_at: float | None, now: float | None = None) -> str:
    """'2 h 5 min', 'under a minute' at first, or a dash when not running (in minutes: it changes once a minute)."""
    if started_at is None:
        return "—"
    now = time.time() if now is None else now
    up = max(0.0, now - started_at)
    return UNDER_A_MINUTE if up < 60 else _span(up)


def uptime_changes_in(started_at: float, now: float | None = None) -> float:
    """Seconds until `uptime(started_at)` reads differently (the next whole minute, hour or day that changes it)."""
    now = time.time() if now is None else now
    up = max(0.0, now - started_at)
    shown = uptime(started_at, now)
    for step in (60, 3600, 86400):
        boundary = (up // step + 1) * step
        if uptime(started_at, started_at + boundary) != shown:
            return boundary - up
    return 86400 - up % 86400
