"""Tell connected clients when the tool list changes: `notifications/tools/list_changed`.

Clients of the handshake era (2025 protocol versions: the SDK client, mcp-remote) get it on their
connection's standalone channel (the GET stream of streamable HTTP, or the SSE stream); 2026-07-28
clients get it on their `subscriptions/listen` streams through the server's event bus. The registry
may change on any thread (the GUI's, a worker's), so the broadcast hops onto the server's loop.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import anyio
from mcp.server.connection import Connection
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import ToolsListChanged

from app.server.mcp_server import TrayMCPServer

log = logging.getLogger(__name__)

WATCH_INTERVAL = 1.0  # seconds between looks at the tools folder and tools.json


class ToolEvents:
    """Tracks live connections (as server middleware) and broadcasts tool-list changes to them."""

    def __init__(self, server: TrayMCPServer) -> None:
        self.server = server
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0  # notifications delivered, for the GUI and tests

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Server middleware: remember each connection once its handshake completes."""
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized":
            # The SDK gives middleware no public handle on the connection; its session holds it.
            connection: Connection = ctx.session._connection
            self._connections.add(connection)
            connection.exit_stack.callback(self._connections.discard, connection)
        return result

    def connections(self) -> int:
        """How many handshake-era connections would be told of a change."""
        return len(self._connections)

    def changed(self) -> None:
        """Registry listener (any thread): broadcast on the server's loop, if it runs."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.broadcast(), loop)
        except RuntimeError:  # the loop stopped between the check and the call
            log.debug("server loop gone; tool change not broadcast")

    async def broadcast(self) -> None:
        """Send notifications/tools/list_changed to every live connection and listen stream."""
        await self.server.events.publish(ToolsListChanged())
        for connection in list(self._connections):
            try:
                await connection.send_tool_list_changed()
                self.sent += 1
            except Exception as exc:  # a connection closing right now; the others still hear of it
                log.debug("could not notify a connection: %s", exc)
                self._connections.discard(connection)

    async def run(self) -> None:
        """For the server's lifespan: listen to the registry and reload it when its files change."""
        self._loop = asyncio.get_running_loop()
        unsubscribe = self.server.registry.subscribe(self.changed)
        try:
            while True:
                await anyio.sleep(WATCH_INTERVAL)
                # Plugin code runs on reload: keep it off the event loop, and never let a plugin that
                # hangs while loading hold up the server's shutdown.
                await anyio.to_thread.run_sync(self.server.registry.reload_if_changed, abandon_on_cancel=True)
        finally:
            unsubscribe()
            self._loop = None
