"""The upstream connection: streamable HTTP (MCP 2025-03-26 and later) or the legacy HTTP+SSE transport.

Which one: a URL whose path ends in /sse speaks SSE; any other URL is tried with streamable HTTP
first, and a 404 or 405 to the POST of `initialize` means the server does not speak it, so the
bridge falls back to SSE on the same URL (as the MCP spec's backwards-compatibility section says).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

import httpx2
from mcp.client._transport import TransportStreams
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

CONNECT_TIMEOUT = 30.0
READ_TIMEOUT = 300.0  # a server may keep a response stream open this long without sending


class Kind(Enum):
    """The two HTTP transports of MCP."""

    STREAMABLE_HTTP = "streamable HTTP"
    SSE = "SSE"


FALLBACK_STATUSES = (404, 405)


def kinds_for(url: str) -> list[Kind]:
    """Transports to try, in order."""
    if urlsplit(url).path.rstrip("/").endswith("/sse"):
        return [Kind.SSE]
    return [Kind.STREAMABLE_HTTP, Kind.SSE]


@dataclass
class PostStatuses:
    """The HTTP status of each POST to the endpoint, latest last (after any OAuth retries)."""

    url: str
    seen: list[int] = field(default_factory=list)

    async def record(self, response: httpx2.Response) -> None:
        """An httpx2 response hook."""
        if response.request.method == "POST" and str(response.request.url).rstrip("/") == self.url.rstrip("/"):
            self.seen.append(response.status_code)

    def says_no_streamable_http(self) -> bool:
        """The last POST was refused the way a server without streamable HTTP refuses it."""
        return bool(self.seen) and self.seen[-1] in FALLBACK_STATUSES


@asynccontextmanager
async def connect(kind: Kind, url: str, auth: httpx2.Auth, statuses: PostStatuses) -> AsyncIterator[TransportStreams]:
    """Open one upstream connection of this kind."""
    if kind is Kind.SSE:
        async with sse_client(url, auth=auth, timeout=CONNECT_TIMEOUT, sse_read_timeout=READ_TIMEOUT) as streams:
            yield streams
        return
    timeout = httpx2.Timeout(CONNECT_TIMEOUT, read=READ_TIMEOUT)
    async with httpx2.AsyncClient(auth=auth, timeout=timeout, event_hooks={"response": [statuses.record]}) as http, \
            streamable_http_client(url, http_client=http) as streams:
        yield streams
