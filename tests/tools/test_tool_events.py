"""ToolEvents remembers each live handshake-era connection and forgets it when the connection ends."""

from __future__ import annotations

import pytest
from mcp.client.client import Client

from app.server.mcp_server import build_mcp_server
from app.server.tool_events import ToolEvents
from app.tools.registry import ToolRegistry

pytestmark = pytest.mark.anyio


async def test_connection_tracked_while_open_and_dropped_after() -> None:
    server = build_mcp_server(ToolRegistry(plugins=False))
    events = ToolEvents(server)
    server.middleware.append(events)
    async with Client(server, mode="legacy") as client:
        await client.list_tools()
        assert events.connections() == 1
        await events.broadcast()
        assert events.sent == 1
    assert events.connections() == 0
