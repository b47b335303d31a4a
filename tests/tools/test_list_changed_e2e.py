"""Turning a tool off (as the Tools tab does) reaches connected clients as notifications/tools/list_changed,
and their next tools/list no longer shows it; a tool dropped into the tools folder appears the same way."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from app.server.runner import ServerRunner
from tests.conftest import start_runner
from tests.support.oauth import obtain_tokens
from tests.tools.mcp_session import mcp_session, text_of, tool_names

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

LIST_CHANGED = "notifications/tools/list_changed"


@pytest.mark.parametrize("transport", ["mcp", "sse"])
async def test_toggle_notifies_live_client(server: ServerRunner, transport: str) -> None:
    tokens = obtain_tokens(server.base_url)
    async with mcp_session(server.base_url, tokens.access_token, transport) as (session, inbox):
        assert "add" in await tool_names(session)
        server.tools.disable("add")  # from this (non-server) thread, like the GUI
        await inbox.wait_for(LIST_CHANGED)
        assert "add" not in await tool_names(session)
        refused = await session.call_tool("add", {"a": 1, "b": 1})
        assert refused.is_error and "turned off" in text_of(refused)
        server.tools.enable("add")
        assert "add" in await tool_names(session)


async def test_initialize_advertises_list_changed(server: ServerRunner) -> None:
    tokens = obtain_tokens(server.base_url)
    async with mcp_session(server.base_url, tokens.access_token) as (_, inbox):
        tools = inbox.initialize_result.capabilities.tools
        assert tools is not None and tools.list_changed is True


async def test_new_folder_plugin_appears_without_restart(server: ServerRunner) -> None:
    tokens = obtain_tokens(server.base_url, scope="mcp tools:plugins")
    assert server.tools.tools_dir is not None
    async with mcp_session(server.base_url, tokens.access_token) as (session, inbox):
        assert "double" not in await tool_names(session)
        (server.tools.tools_dir / "maths.py").write_text(
            'def double(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n', encoding="utf-8")
        await inbox.wait_for(LIST_CHANGED)  # the server's watcher reloaded the folder by itself
        assert "double" in await tool_names(session)
        assert text_of(await session.call_tool("double", {"x": 21})) == "42"


async def test_modern_client_hears_it_on_its_listen_stream(server: ServerRunner) -> None:
    """A 2026-07-28 client has no standing stream: it opens subscriptions/listen and gets the event there."""
    tokens = obtain_tokens(server.base_url, scope="mcp tools:time")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
            Client(streamable_http_client(f"{server.base_url}/mcp", http_client=http)) as client:
        assert sorted(t.name for t in (await client.list_tools()).tools) == ["add", "now"]
        async with client.listen(tools_list_changed=True) as subscription:
            await anyio.to_thread.run_sync(server.tools.disable, "now")
            with anyio.fail_after(10):
                event = await subscription.__anext__()
        assert type(event).__name__ == "ToolsListChanged"
        assert [t.name for t in (await client.list_tools()).tools] == ["add"]


async def test_broken_plugins_do_not_stop_the_server(data_dir: Path) -> None:
    tools = data_dir / "tools"
    tools.mkdir()
    (tools / "broken.py").write_text("def oops(:\n", encoding="utf-8")
    (tools / "untyped.py").write_text("def untyped(x):\n    return x\n\ndef typed(x: str) -> str:\n"
                                      '    """Echo."""\n    return x\n', encoding="utf-8")
    runner = start_runner(data_dir)
    try:
        errors = {r.name: r.error for r in runner.tools.rows() if r.error}
        assert set(errors) >= {"broken.py", "untyped", "sample_broken"}
        tokens = obtain_tokens(runner.base_url, scope="mcp tools:plugins")
        async with mcp_session(runner.base_url, tokens.access_token) as (session, _):
            names = await tool_names(session)
            assert {"add", "typed", "shout", "count_words"} <= set(names)
            assert not {"untyped", "oops"} & set(names)
            assert text_of(await session.call_tool("shout", {"text": "hi"})) == "HI!"
    finally:
        runner.close()
