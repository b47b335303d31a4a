"""Short names the GUI tests use for the OAuth flow in tests/support/oauth.py."""

from __future__ import annotations

from pathlib import Path

from tests.support.oauth import Tokens as Issued
from tests.support.oauth import mcp_initialize, obtain_tokens

__all__ = ["Issued", "mcp_status", "sign_in"]


def sign_in(base_url: str, client_name: str, scope: str = "mcp", data_dir: Path | None = None) -> Issued:
    """Register `client_name`, approve it as the owner (CLI on `data_dir`), and return its tokens."""
    return obtain_tokens(base_url, client_name, data_dir=data_dir, scope=scope, resource=f"{base_url}/mcp")


def mcp_status(base_url: str, access_token: str) -> int:
    """HTTP status of an MCP initialize request made with this token (200 when it is accepted)."""
    return mcp_initialize(base_url, access_token).status_code
