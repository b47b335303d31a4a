"""Open a real MCP client session (the SDK's ClientSession) with a bearer token, over /mcp or /sse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent


class Inbox:
    """Server notifications the session received, with a way to wait for one."""

    def __init__(self) -> None:
        self.methods: list[str] = []
        self.initialize_result: Any = None
        self._arrived = anyio.Event()

    async def handle(self, message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if isinstance(method, str):
            self.methods.append(method)
            self._arrived.set()

    async def wait_for(self, method: str, timeout: float = 10) -> None:
        with anyio.fail_after(timeout):
            while method not in self.methods:
                self._arrived = anyio.Event()
                await self._arrived.wait()


@asynccontextmanager
async def mcp_session(base: str, token: str, transport: str = "mcp") -> AsyncIterator[tuple[ClientSession, Inbox]]:
    """An initialized session to the server at `base` using `token`."""
    inbox = Inbox()
    headers = {"Authorization": f"Bearer {token}"}
    if transport == "mcp":
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
                streamable_http_client(f"{base}/mcp", http_client=http) as (read, write), \
                ClientSession(read, write, message_handler=inbox.handle) as session:
            inbox.initialize_result = await session.initialize()
            yield session, inbox
    else:
        async with sse_client(f"{base}/sse", headers=headers) as (read, write), \
                ClientSession(read, write, message_handler=inbox.handle) as session:
            inbox.initialize_result = await session.initialize()
            yield session, inbox


async def tool_names(session: ClientSession) -> list[str]:
    """Names from tools/list."""
    return sorted(t.name for t in (await session.list_tools()).tools)


def text_of(result: CallToolResult) -> str:
    """The first block of a tool result, which must be text (an AssertionError names it otherwise)."""
    block = result.content[0]
    assert isinstance(block, TextContent), f"not a text block: {block!r}"
    return block.text
