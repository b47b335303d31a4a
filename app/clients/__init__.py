"""Writers for MCP client configs (Claude Desktop, Cursor, VS Code, Claude Code); no Qt."""
