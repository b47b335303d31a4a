"""Run `mcp-tray bridge URL` under the mcp SDK's stdio client, with a browser that approves consent."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from bench.support.mcp_session import text_of
from tests.support.clients import approving_browser
from tests.support.serve import REPO


@dataclass
class BridgeRun:
    """One bridge's environment: a fresh HOME, a browser that approves and logs each visit."""

    tmp: Path
    keyring: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = self.tmp / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.browser_log = self.tmp / "browser.log"
        self.stderr_path = self.tmp / "bridge.stderr"

    @property
    def env(self) -> dict[str, str]:
        """The bridge process's environment (no display: the browser is $BROWSER)."""
        drop = {"DISPLAY", "WAYLAND_DISPLAY", "MCP_TRAY_DATA_DIR"}
        if not self.keyring:
            drop.add("DBUS_SESSION_BUS_ADDRESS")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(BROWSER=str(approving_browser(self.tmp)), APPROVE_BROWSER_LOG=str(self.browser_log),
                   HOME=str(self.home), PYTHONPATH=str(REPO), **self.extra_env)
        if not self.keyring:
            env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
        return env

    def consents(self) -> int:
        """How many times the bridge opened the consent page."""
        return len(self.browser_log.read_text().splitlines()) if self.browser_log.exists() else 0

    def stderr(self) -> str:
        """Everything the bridge wrote to stderr so far."""
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def params(self, url: str) -> StdioServerParameters:
        """How the SDK's stdio client starts the bridge."""
        return StdioServerParameters(command=sys.executable, args=["-m", "app", "bridge", url], cwd=str(REPO),
                                     env=self.env)


async def add_via_bridge(run: BridgeRun, url: str) -> tuple[list[str], str]:
    """Start the bridge, initialize, list tools, call add(2, 3); the tool names and the result text."""
    with open(run.stderr_path, "a") as errlog:
        async with stdio_client(run.params(url), errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            result = await session.call_tool("add", {"a": 2, "b": 3})
            return tools, text_of(result)


def real_keyring_or_skip() -> None:
    """Skip unless a D-Bus session with gnome-keyring is here; under the test command, fail instead."""
    import shutil

    if os.environ.get("DBUS_SESSION_BUS_ADDRESS") and shutil.which("secret-tool"):
        return
    import pytest

    if os.environ.get("MCP_TRAY_REQUIRE_KEYRING") == "1":
        pytest.fail("the test command must provide a D-Bus session with gnome-keyring unlocked")
    pytest.skip("needs a D-Bus session with gnome-keyring (the README's test command provides one)")
