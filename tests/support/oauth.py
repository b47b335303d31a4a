"""The OAuth driver for tests; it lives in bench/support/oauth.py so bench/ and scripts/ use the same one."""

from bench.support.oauth import (
    INITIALIZE,
    MCP_HEADERS,
    REDIRECT,
    FlowError,
    FlowResult,
    OAuthClient,
    Tokens,
    authorize_url,
    call_add,
    discover,
    exchange,
    mcp_initialize,
    mcp_status,
    obtain_tokens,
    pkce_pair,
    refresh,
    register,
    rpc_result,
    run_flow,
    sign_in,
    tokens_of,
)

__all__ = [
    "INITIALIZE", "MCP_HEADERS", "REDIRECT", "FlowError", "FlowResult", "OAuthClient", "Tokens", "authorize_url",
    "call_add", "discover", "exchange", "mcp_initialize", "mcp_status", "obtain_tokens", "pkce_pair", "refresh",
    "register", "rpc_result", "run_flow", "sign_in", "tokens_of",
]
