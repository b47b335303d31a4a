"""The MCP server object: tools come from the ToolRegistry, filtered per request by the token's scopes.

`tools/list` shows a client only the tools that are turned on and whose group its token was
granted; `tools/call` refuses the rest with a message that says why. Changes in the registry reach
connected clients as `notifications/tools/list_changed` (see app/server/tool_events.py).
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp_types import CallToolResult, InputRequiredResult
from mcp_types import Tool as MCPTool

from app import __version__
from app.server.tool_gate import ToolGate
from app.tools.registry import ToolRegistry

INSTRUCTIONS = "A personal MCP server run by MCP Tray on this computer."


def request_scopes() -> frozenset[str]:
    """Scopes of the token behind the current request; none when there is no token (fail closed)."""
    token = get_access_token()
    return frozenset(token.scopes) if token is not None else frozenset()


class TrayMCPServer(MCPServer):
    """MCPServer whose tools live in a ToolRegistry instead of the SDK's static tool manager."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.events = InMemorySubscriptionBus()  # subscriptions/listen streams (2026-07-28 clients)
        super().__init__(name="mcp-tray", title="MCP Tray", version=__version__, instructions=INSTRUCTIONS,
                         subscriptions=self.events)
        self.registry = registry
        self.gate: ToolGate | None = None  # the owner's rules (scope, Allow/Ask/Block); set by build_app
        lowlevel = self._lowlevel_server
        lowlevel.get_tool_input_schema = registry.input_schema
        original = lowlevel.create_initialization_options

        def with_tools_list_changed(notification_options: NotificationOptions | None = None,
                                    *args: Any, **kwargs: Any) -> Any:
            """The SDK's options, with tools.listChanged on unless the caller says otherwise."""
            return original(notification_options or NotificationOptions(tools_changed=True), *args, **kwargs)

        # The streamable-HTTP manager asks for initialization options with no arguments, so this is
        # the one place to advertise `tools.listChanged` (the tool list changes while clients are on).
        lowlevel.create_initialization_options = with_tools_list_changed  # type: ignore[method-assign]  # on purpose, see above

    async def list_tools(self) -> list[MCPTool]:
        """The tools the current request's token may see."""
        return [
            MCPTool(name=t.name, title=t.title, description=t.description, input_schema=t.parameters,
                    output_schema=t.output_schema, annotations=t.annotations, icons=t.icons, _meta=t.meta)
            for t in self.registry.visible(request_scopes())
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None) -> CallToolResult | InputRequiredResult:
        """Call a tool the current token may use and the owner allows; ToolError (a clear tool error for the
        client) otherwise. An Ask tool waits here for the owner's answer."""
        if self.gate is not None:
            await self.gate.check(name, arguments)
        tool = self.registry.lookup(name, request_scopes())
        if context is None:
            context = Context(mcp_server=self, subscriptions=self.events)
        result: CallToolResult | InputRequiredResult = await tool.run(arguments, context, convert_result=True)
        return result


def build_mcp_server(registry: ToolRegistry) -> TrayMCPServer:
    """A server over `registry` (the one build_parts made)."""
    return TrayMCPServer(registry)
