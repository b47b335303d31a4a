"""A real MCP client session with a bearer token; it lives in bench/support/mcp_session.py (shared)."""

from bench.support.mcp_session import Inbox, mcp_session, text_of, tool_names

__all__ = ["Inbox", "mcp_session", "text_of", "tool_names"]
