"""The `now` tool: the current time in the user's time zone, or in one the client names."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from app.tools.clock import now


def test_now_in_local_zone_matches_the_system_clock() -> None:
    answer = now()
    moment = datetime.fromisoformat(answer["iso"])
    assert abs(moment - datetime.now().astimezone()) < timedelta(seconds=5)
    assert answer["date"] == moment.date().isoformat()
    assert answer["weekday"] == moment.strftime("%A")
    assert answer["timezone"]


def test_now_in_named_zone() -> None:
    answer = now("Asia/Tokyo")
    assert answer["timezone"] == "Asia/Tokyo" and answer["utc_offset"] == "+09:00"


def test_unknown_zone_is_a_clear_tool_error() -> None:
    with pytest.raises(ToolError, match="unknown time zone"):
        now("Mars/Olympus_Mons")
