"""`mcp-tray bridge URL`: a stdio MCP server that forwards to a remote (HTTP) MCP server as an OAuth public client."""
