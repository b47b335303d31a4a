"""The MCP server object and its tools (the seed's `add`, to start with)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from app import __version__

INSTRUCTIONS = "A personal MCP server run by MCP Tray on this computer."


def add(a: int | float, b: int | float) -> int | float:
    """Add two numbers and return their sum."""
    return a + b


def build_mcp_server() -> MCPServer:
    """A fresh MCPServer with the built-in tools registered."""
    server = MCPServer(name="mcp-tray", title="MCP Tray", version=__version__, instructions=INSTRUCTIONS)
    server.add_tool(add, name="add", description="Add two numbers and return their sum.")
    return server
