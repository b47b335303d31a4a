"""mcp-remote from npm, unmodified, completes DCR, consent and PKCE against us and calls `add`.

It is the seed's Claude Desktop path (`npx mcp-remote http://localhost:8787/sse`), driven over stdio
by the mcp SDK's stdio client. `$BROWSER` approves the consent page; a second run must reuse the
cached token without opening the browser again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.conftest import parts_of
from tests.support.clients import mcp_remote_command, mcp_remote_env

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


async def _add_via_mcp_remote(url: str, env: dict[str, str], extra: list[str]) -> tuple[list[str], str]:
    command = mcp_remote_command()
    if command is None:
        pytest.fail("mcp-remote is not installed; run `npm ci` (the test command does)")
    params = StdioServerParameters(command=command, args=[url, *extra], env=env)
    with open(Path(env["HOME"]) / "mcp-remote.stderr", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            result = await session.call_tool("add", {"a": 2, "b": 3})
            return tools, text_of(result)


@pytest.mark.parametrize(
    ("host", "path", "extra"),
    [("127.0.0.1", "/mcp", []), ("localhost", "/sse", []), ("localhost", "/sse", ["--transport", "sse-only"])],
    ids=["127.0.0.1-mcp", "localhost-sse", "localhost-sse-only"],
)
async def test_mcp_remote_full_flow_then_cached_token(
    server: ServerRunner, tmp_path: Path, host: str, path: str, extra: list[str]
) -> None:
    url = f"http://{host}:{server.port}{path}"
    browser_log = tmp_path / "browser.log"
    env = mcp_remote_env(tmp_path, browser_log)

    tools, text = await _add_via_mcp_remote(url, env, extra)
    assert "add" in tools
    assert text == "5"
    assert len(browser_log.read_text().splitlines()) == 1, "the consent page should open exactly once"
    # mcp-remote registered itself (it asks for `openid email profile`) and holds a live token.
    names = {t.client_name for t in parts_of(server).store.list_tokens()}
    assert len(names) == 1 and "(unnamed)" not in names

    tools, text = await _add_via_mcp_remote(url, env, extra)
    assert text == "5"
    assert len(browser_log.read_text().splitlines()) == 1, "the second run must reuse the cached token"
