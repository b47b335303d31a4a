"""The `now` tool: the current date and time in the user's time zone (or another one asked for)."""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server.mcpserver.exceptions import ToolError


def local_zone_name() -> str | None:
    """The IANA name of this computer's time zone (like 'Europe/Paris') when the system says it."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz:
        return tz
    try:
        text = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        if text:
            return text
    except OSError:
        pass
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "/zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def now(timezone: str | None = None) -> dict[str, Any]:
    """The current date and time in the user's time zone, or in another one (an IANA name like 'Asia/Tokyo')."""
    zone: tzinfo | None = None
    name = local_zone_name()
    if timezone:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ToolError(f"unknown time zone {timezone!r}; use an IANA name like 'Europe/Berlin'") from exc
        name = timezone
    moment = datetime.now(zone).astimezone(zone)
    offset = moment.strftime("%z")
    return {
        "iso": moment.isoformat(timespec="seconds"),
        "date": moment.date().isoformat(),
        "time": moment.strftime("%H:%M:%S"),
        "weekday": moment.strftime("%A"),
        "timezone": name or moment.tzname() or "local",
        "utc_offset": f"{offset[:3]}:{offset[3:]}" if offset else "+00:00",
    }
