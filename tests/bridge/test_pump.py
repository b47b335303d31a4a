"""The headers the pump adds for HTTP: the negotiated version, or a per-request envelope mirrored into headers."""

from __future__ import annotations

from mcp.shared.inbound import MCP_METHOD_HEADER, MCP_NAME_HEADER, MCP_PROTOCOL_VERSION_HEADER
from mcp_types import PROTOCOL_VERSION_META_KEY, JSONRPCNotification, JSONRPCRequest

from app.bridge.pump import headers_for
from app.bridge.transport import Kind, kinds_for


def test_initialize_goes_without_a_version_header() -> None:
    request = JSONRPCRequest(jsonrpc="2.0", id=1, method="initialize", params={"protocolVersion": "2025-06-18"})
    assert headers_for(request, None) == {}
    assert headers_for(request, "2025-06-18") == {}


def test_later_messages_carry_the_negotiated_version() -> None:
    request = JSONRPCRequest(jsonrpc="2.0", id=2, method="tools/list", params={})
    note = JSONRPCNotification(jsonrpc="2.0", method="notifications/initialized")
    assert headers_for(request, "2025-06-18") == {MCP_PROTOCOL_VERSION_HEADER: "2025-06-18"}
    assert headers_for(note, "2025-06-18") == {MCP_PROTOCOL_VERSION_HEADER: "2025-06-18"}


def test_per_request_envelope_is_mirrored_into_headers() -> None:
    request = JSONRPCRequest(jsonrpc="2.0", id=3, method="tools/call", params={
        "name": "add", "arguments": {"a": 1}, "_meta": {PROTOCOL_VERSION_META_KEY: "2026-07-28"}})
    headers = headers_for(request, None)
    assert headers[MCP_PROTOCOL_VERSION_HEADER] == "2026-07-28"
    assert headers[MCP_METHOD_HEADER] == "tools/call"
    assert headers[MCP_NAME_HEADER] == "add"


def test_transport_order_follows_the_url() -> None:
    assert kinds_for("http://127.0.0.1:8787/sse") == [Kind.SSE]
    assert kinds_for("http://127.0.0.1:8787/sse/") == [Kind.SSE]
    assert kinds_for("http://127.0.0.1:8787/mcp") == [Kind.STREAMABLE_HTTP, Kind.SSE]

