"""Real MCP clients for tests (mcp-remote with an approving browser); it lives in bench/support/clients.py (shared)."""

from bench.support.clients import REPO, approving_browser, mcp_remote_command, mcp_remote_env

__all__ = ["REPO", "approving_browser", "mcp_remote_command", "mcp_remote_env"]
