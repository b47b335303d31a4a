"""An MCP server that speaks only the legacy HTTP+SSE transport, at /events (POST there is 405), without auth.

Built from the mcp SDK's own SseServerTransport, for the bridge's fallback from streamable HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from mcp.server.sse import SseServerTransport
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from app.server.mcp_server import build_mcp_server
from app.server.runner import bind_socket
from app.tools.registry import ToolRegistry


def _app() -> Starlette:
    lowlevel = build_mcp_server(ToolRegistry(plugins=False))._lowlevel_server
    sse = SseServerTransport("/messages/")

    class Events:
        """The SSE stream (an ASGI app, so Starlette passes scope/receive/send through)."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async with sse.connect_sse(scope, receive, send) as (read, write):
                await lowlevel.run(read, write, lowlevel.create_initialization_options())

    return Starlette(routes=[Route("/events", Events(), methods=["GET"]),
                             Mount("/messages", sse.handle_post_message)])


@contextmanager
def sse_only_server() -> Iterator[str]:
    """Serve on a free loopback port; yields the SSE URL."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(), log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/events"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
