"""Writers for MCP client configs (Claude Desktop, Cursor, VS Code, Claude Code); no Qt.

Each client module offers `default_config_path()`, `entry_status(url, ...)`, `write_entry(url, ...)`
and `remove_entry(...)`; the file handling they share lives in `jsonfile` and `entries`.
"""
