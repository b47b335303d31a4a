"""Short names the GUI tests use for the OAuth driver (tests/support/oauth.py)."""

from bench.support.oauth import Tokens as Issued
from bench.support.oauth import mcp_status, sign_in

__all__ = ["Issued", "mcp_status", "sign_in"]
