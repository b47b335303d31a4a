"""Shared bits of the audit and policy tests: a client of any transport, and waiting for a held call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from app.store.held import HeldCall
from tests.tools.mcp_session import mcp_session

TRANSPORTS = ["mcp", "sse", "2026-07-28"]


@asynccontextmanager
async def any_client(base: str, token: str, transport: str) -> AsyncIterator[Any]:
    """Something with `call_tool`: the SDK's ClientSession over /mcp or /sse, or its 2026-07-28 Client."""
    if transport == "2026-07-28":
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http, \
                Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
            yield client
    else:
        async with mcp_session(base, token, transport) as (session, _):
            yield session


async def wait_held(pending: Callable[[], list[HeldCall]], count: int = 1, timeout: float = 10) -> list[HeldCall]:
    """Wait until `count` calls are held (read in a thread: `pending` may touch the disk)."""
    with anyio.fail_after(timeout):
        while True:
            calls = await anyio.to_thread.run_sync(pending)
            if len(calls) >= count:
                return calls
            await anyio.sleep(0.05)
