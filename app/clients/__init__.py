"""Writers for MCP client configs (Claude Desktop first); no Qt here."""
