"""Smoke check of the frozen `mcp-tray bridge URL`: the Claude Desktop entry the packaged app writes.

The frozen server runs; the mcp SDK's stdio client starts the frozen bridge the way Claude Desktop
would; a stand-in browser approves consent once. Then a second start must reuse the sign-in from the
keyring without opening the browser.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from bench.support import owner
from bench.support.clients import approving_browser
from bench.support.mcp_session import text_of
from scripts.smoke_process import SmokeFailure, free_port, ok, started


async def _add_through_bridge(exe: Path, url: str, env: dict[str, str], errlog: Path) -> str:
    params = StdioServerParameters(command=str(exe), args=["bridge", url], env=env)
    with errlog.open("a") as err:
        async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            return text_of(result)


def check_bridge(exe: Path, work: Path) -> None:
    """Frozen bridge -> frozen server: add = 5, then a second start asks nothing."""
    data_dir, port, home = work / "bridge-data", free_port(), work / "bridge-home"
    home.mkdir()
    browser_log = work / "bridge-browser.log"
    env = {**os.environ, "HOME": str(home), "BROWSER": str(approving_browser(work)),
           "APPROVE_BROWSER_LOG": str(browser_log)}
    env.pop("DISPLAY", None)
    url = f"http://127.0.0.1:{port}/mcp"
    with started([str(exe), "serve", "--port", str(port), "--data-dir", str(data_dir)]) as (_, out, err):
        if out.wait_for(re.compile(r"MCP server ready at (\S+)"), 60) is None:
            raise SmokeFailure(f"serve printed no ready line; stderr: {''.join(err.lines)[-2000:]}")
        owner.remember(port, data_dir)  # the approving browser answers with the frozen `mcp-tray approve`
        for attempt in (1, 2):
            try:
                text = anyio.run(_add_through_bridge, exe, url, env, work / "bridge.stderr")
            except Exception as exc:  # whatever broke, reported with the bridge's stderr
                log = (work / "bridge.stderr").read_text(errors="replace")[-2000:]
                raise SmokeFailure(f"the frozen bridge failed (start {attempt}): {exc!r}; stderr: {log}") from exc
            if text != "5":
                raise SmokeFailure(f"add(2, 3) through the frozen bridge returned {text!r}")
    opened = browser_log.read_text().splitlines() if browser_log.exists() else []
    if len(opened) != 1:
        raise SmokeFailure(f"the consent page opened {len(opened)} times over two bridge starts (want 1)")
    ok("frozen `mcp-tray bridge URL` (Claude Desktop's entry): add(2, 3) = 5; second start reused the keyring")
