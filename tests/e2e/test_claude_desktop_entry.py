"""The Claude Desktop entry we write really works: start its command the way Claude Desktop does.

We write the entry into a fresh config, read it back, and start exactly `command` + `args` as a
stdio MCP server with the SDK's stdio client (as Claude Desktop would), with a PATH that has no
npx dir in it (desktop apps do not get the shell's PATH). Its browser is a script that records
the sign-in URL; the test answers the consent page like a person clicking Allow, then calls add.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from app.clients import claude_desktop as cd
from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.conftest import parts_of
from tests.support.consent import answer_consent

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def _wait_for_url(path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().split()[0]
        time.sleep(0.1)
    raise AssertionError("the bridge never opened a browser to sign in")


def _sign_in(opened: Path) -> None:
    """Be the user's browser: approve on the consent page, then follow the redirect to the bridge."""
    final = answer_consent(_wait_for_url(opened, 60))
    httpx.get(final, timeout=10)


@pytest.mark.anyio
@pytest.mark.parametrize("via", ["mcp-remote", "bridge"])
async def test_written_entry_starts_a_working_connection(server: ServerRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    if via == "mcp-remote":
        if not (REPO / "node_modules" / ".bin" / "mcp-remote").exists() or not shutil.which("npx"):
            pytest.skip("Node.js or the pinned mcp-remote (npm ci) is missing")
    elif importlib.util.find_spec("app.commands.bridge") is None:
        pytest.skip("`mcp-tray bridge` is not in this build")
    elif subprocess.run([sys.executable, "-c", "import app"], cwd=tmp_path, capture_output=True,
                        check=False).returncode != 0:
        pytest.skip("this interpreter has no MCP Tray installed (pip install -e .), so `-m app` works "
                    "only from the checkout, not from wherever Claude Desktop starts it")
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    cd.write_entry(server.mcp_url, config, via=via)
    entry = json.loads(config.read_text())["mcpServers"]["mcp-tray"]
    assert os.path.isabs(entry["command"])

    opened = tmp_path / "opened-urls"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    browser.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "BROWSER": str(browser), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "MCP_TRAY_DATA_DIR": str(tmp_path / "bridge-data")}
    if "DBUS_SESSION_BUS_ADDRESS" in os.environ:  # the bridge keeps its tokens in the session keyring
        env["DBUS_SESSION_BUS_ADDRESS"] = os.environ["DBUS_SESSION_BUS_ADDRESS"]
    # npx: cwd = the repo, so `npx -y mcp-remote` finds the pinned copy instead of downloading one;
    # the bridge: anywhere but the checkout, as Claude Desktop would start it
    cwd = REPO if via == "mcp-remote" else home
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd=cwd)
    with open(tmp_path / "bridge.log", "w") as errlog:
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(anyio.to_thread.run_sync, _sign_in, opened)
                async with stdio_client(params, errlog=errlog) as (read, write), \
                        ClientSession(read, write) as session:
                    await session.initialize()
                    result = await session.call_tool("add", {"a": 2, "b": 3})
                    assert not result.is_error
                    assert float(text_of(result)) == 5
    assert parts_of(server).store.list_tokens(), (tmp_path / "bridge.log").read_text()[-2000:]
