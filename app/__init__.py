"""MCP Tray: a personal MCP server behind OAuth 2.1, run from the system tray."""

__version__ = "0.1.0"
APP_NAME = "mcp-tray"
