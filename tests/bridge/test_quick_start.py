"""The bridge's quick start (app.bridge.fast): with a valid cached token it pumps raw JSON-RPC without loading the
MCP SDK, and it hands over to the full bridge, mid-session, when the server refuses it (a revoked token)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import keyring
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp.shared import inbound
from mcp_types import PROTOCOL_VERSION_META_KEY, JSONRPCNotification, JSONRPCRequest

from app.bridge import cached_sign_in, fast, pump
from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.conftest import parts_of
from tests.support.bridge import BridgeRun, add_via_bridge, real_keyring_or_skip
from tests.tools.mcp_session import Inbox

LIST_CHANGED = "notifications/tools/list_changed"


def _imported(stderr: str) -> set[str]:
    """Module names from the `-X importtime` lines of a bridge's stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_constants_match_the_sdk() -> None:
    assert fast.PROTOCOL_VERSION_HEADER == inbound.MCP_PROTOCOL_VERSION_HEADER.lower()
    assert fast.METHOD_HEADER == inbound.MCP_METHOD_HEADER.lower()
    assert fast.NAME_HEADER == inbound.MCP_NAME_HEADER.lower()
    assert fast.NAME_BEARING_METHODS == dict(inbound.NAME_BEARING_METHODS)
    assert fast.PROTOCOL_VERSION_META_KEY == PROTOCOL_VERSION_META_KEY
    for value in ["add", "ünïcode", " edge ", "=?base64?eA==?=", "tab\there", ""]:
        assert fast.encode_header_value(value) == inbound.encode_header_value(value)


@pytest.mark.parametrize("message", [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
     "params": {"name": "ädd", "_meta": {PROTOCOL_VERSION_META_KEY: "2026-07-28"}}},
    {"jsonrpc": "2.0", "id": 4, "method": "resources/read",
     "params": {"uri": "file:///x", "_meta": {PROTOCOL_VERSION_META_KEY: "2026-07-28"}}},
])
def test_headers_are_the_full_bridges(message: dict[str, object]) -> None:
    typed = (JSONRPCNotification if "id" not in message else JSONRPCRequest).model_validate(message)
    expected = {k.lower(): v for k, v in pump.headers_for(typed, "2025-06-18").items()}
    assert {k.lower(): v for k, v in fast.headers_for(message, "2025-06-18").items()} == expected


def test_only_a_valid_bearer_token_is_used() -> None:
    now = 1000.0
    good = {"tokens": {"access_token": "t", "token_type": "Bearer"}, "expires_at": now + 3600}
    assert cached_sign_in.usable_token(json.dumps(good), now) == "t"
    assert cached_sign_in.usable_token(json.dumps({**good, "expires_at": now + 10}), now) is None  # inside the margin
    assert cached_sign_in.usable_token(json.dumps({**good, "expires_at": None}), now) is None  # expiry unknown
    mac = {**good, "tokens": {"access_token": "t", "token_type": "mac"}}
    assert cached_sign_in.usable_token(json.dumps(mac), now) is None
    assert cached_sign_in.usable_token(json.dumps({"tokens": None}), now) is None
    assert cached_sign_in.usable_token("not json", now) is None
    assert cached_sign_in.usable_token(None, now) is None


async def _calls(run: BridgeRun, url: str, between: list[Callable[[], object] | float],
                 inbox: Inbox | None = None) -> list[str]:
    answers = []
    handler = inbox.handle if inbox is not None else None
    with open(run.stderr_path, "a") as errlog:
        async with stdio_client(run.params(url), errlog=errlog) as (read, write), \
                ClientSession(read, write, message_handler=handler) as session:
            await session.initialize()
            assert [t.name for t in (await session.list_tools()).tools]
            answers.append(text_of(await session.call_tool("add", {"a": 2, "b": 3})))
            for step in between:
                if callable(step):
                    step()
                else:
                    await anyio.sleep(step)
                result = await session.call_tool("add", {"a": 2, "b": 3})
                assert not result.is_error, result
                answers.append(text_of(result))
    return answers


@pytest.mark.e2e
@pytest.mark.keyring
@pytest.mark.anyio
async def test_second_start_pumps_without_the_sdk_and_hears_list_changed(
        server: ServerRunner, tmp_path: Path) -> None:
    real_keyring_or_skip()
    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path)
    try:
        tools, text = await add_via_bridge(run, url)  # the first start signs in (the full bridge)
        assert (tools, text) == (["add"], "5")
        assert run.consents() == 1
        first_start = len(run.stderr())
        run.extra_env["PYTHONPROFILEIMPORTTIME"] = "1"
        inbox = Inbox()

        def toggle() -> None:  # as the Tools tab does: each change is a list_changed for live clients
            server.tools.disable("add")
            server.tools.enable("add")

        assert await _calls(run, url, [toggle, 0.5], inbox) == ["5", "5", "5"]
        await inbox.wait_for(LIST_CHANGED)  # arrived over the quick pump's GET stream
        imported = _imported(run.stderr()[first_start:])
        assert "app.bridge.fast" in imported
        assert not {"mcp", "mcp_types", "pydantic", "httpx2", "app.bridge.run"} & imported
        assert run.consents() == 1
    finally:
        server.tools.enable("add")
        keyring.delete_password(cached_sign_in.SERVICE, cached_sign_in.canonical_url(url))


@pytest.mark.e2e
@pytest.mark.keyring
@pytest.mark.anyio
async def test_a_revoke_during_the_quick_pump_hands_over_and_asks_once(server: ServerRunner, tmp_path: Path) -> None:
    real_keyring_or_skip()
    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path)
    store = parts_of(server).store
    try:
        await add_via_bridge(run, url)
        assert run.consents() == 1
        run.extra_env["PYTHONPROFILEIMPORTTIME"] = "1"
        began = time.monotonic()
        # The call after the revoke gets 401 on the quick path; the full bridge signs in again and resends it.
        assert await _calls(run, url, [store.revoke_all, 0.2]) == ["5", "5", "5"]
        assert run.consents() == 2, run.stderr()
        assert "Traceback" not in run.stderr()
        assert {"app.bridge.fast", "app.bridge.run"} <= _imported(run.stderr())
        assert time.monotonic() - began < 60
    finally:
        keyring.delete_password(cached_sign_in.SERVICE, cached_sign_in.canonical_url(url))
