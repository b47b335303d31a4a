"""Start real MCP clients for tests: mcp-remote from npm, with a browser that approves consent."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from bench.support import owner

REPO = Path(__file__).resolve().parents[2]


def mcp_remote_command() -> str | None:
    """The mcp-remote executable installed by `npm ci`, or None."""
    local = REPO / "node_modules" / ".bin" / "mcp-remote"
    return str(local) if local.exists() else shutil.which("mcp-remote")


def approving_browser(tmp: Path) -> Path:
    """An executable for $BROWSER that approves the consent page (a script, since $BROWSER is one word)."""
    script = tmp / "approve-browser"
    # The script answers as the owner, so it must find the server's data dir (bench/support/owner.py).
    servers = os.environ.get(owner.SERVERS_FILE_ENV, "")
    script.write_text(
        f'#!/bin/sh\n{owner.SERVERS_FILE_ENV}="{servers}" exec "{sys.executable}" '
        f'"{REPO / "bench" / "support" / "approve_browser.py"}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def mcp_remote_env(tmp: Path, browser_log: Path) -> dict[str, str]:
    """Environment for mcp-remote: our browser, its token cache in `tmp`, no desktop to escape to."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        BROWSER=str(approving_browser(tmp)),
        MCP_REMOTE_CONFIG_DIR=str(tmp / "mcp-auth"),
        APPROVE_BROWSER_LOG=str(browser_log),
        HOME=str(tmp / "home"),
        PYTHONPATH=str(REPO),
    )
    (tmp / "home").mkdir(exist_ok=True)
    return env
