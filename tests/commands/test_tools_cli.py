"""`mcp-tray tools` next to a headless `mcp-tray serve` in another process: turning a tool off from the
command line reaches a connected client as notifications/tools/list_changed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.oauth import obtain_tokens
from tests.support.serve import REPO, ServeProcess, app_command
from tests.tools.mcp_session import mcp_session, tool_names


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `mcp-tray ARGS --data-dir D`."""
    return subprocess.run(app_command(*args, "--data-dir", str(data_dir)), cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_list_enable_share(data_dir: Path, tmp_path: Path) -> None:
    listed = json.loads(cli(data_dir, "tools", "list", "--json").stdout)
    states = {t["name"]: t["enabled"] for t in listed["tools"]}
    assert states["add"] is True and states["read_file"] is False
    assert listed["tools_folder"] == str(data_dir / "tools")
    assert cli(data_dir, "tools", "enable", "read_file").returncode == 0
    bad = cli(data_dir, "tools", "enable", "no_such_tool")
    assert bad.returncode == 1 and "no such tool: no_such_tool" in bad.stderr
    assert cli(data_dir, "tools", "share", str(tmp_path)).returncode == 0
    missing = cli(data_dir, "tools", "share", str(tmp_path / "missing"))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr
    saved = json.loads((data_dir / "tools.json").read_text(encoding="utf-8"))
    assert saved == {"enabled": {"read_file": True}, "folders": [str(tmp_path.resolve())]}
    assert "read_file" in cli(data_dir, "tools", "list").stdout


@pytest.mark.anyio
@pytest.mark.e2e
async def test_disable_from_cli_reaches_a_client_of_another_process(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        tokens = obtain_tokens(serve.base)
        async with mcp_session(serve.base, tokens.access_token) as (session, inbox):
            assert "add" in await tool_names(session)
            done = cli(data_dir, "tools", "disable", "add")
            assert done.returncode == 0, done.stderr
            await inbox.wait_for("notifications/tools/list_changed")
            assert "add" not in await tool_names(session)
