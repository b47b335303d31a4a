"""The MCP Inspector's CLI (npm, unmodified) signs in through our consent page and calls `add`.

It is the debugging tool people reach for first; the seed's guide connects it to /sse.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.server.runner import ServerRunner
from tests.support.clients import REPO, approving_browser

pytestmark = pytest.mark.e2e


def _inspector() -> Path:
    path = REPO / "node_modules" / ".bin" / "mcp-inspector"
    if not path.exists():
        pytest.fail("the MCP Inspector is not installed; run `npm ci` (the test command does)")
    return path


@pytest.mark.parametrize("url_path", ["/mcp", "/sse"])
def test_inspector_cli_oauth_then_tools_call(server: ServerRunner, tmp_path: Path, url_path: str) -> None:
    (tmp_path / "home").mkdir()
    env = {
        "PATH": f"{REPO / 'node_modules' / '.bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "BROWSER": str(approving_browser(tmp_path)),
        "PYTHONPATH": str(REPO),
        "MCP_AUTO_OPEN_ENABLED": "true",  # no TTY here: let it open $BROWSER instead of asking
        "MCP_INSPECTOR_SECRET_STORE": "memory",
    }
    done = subprocess.run(
        [str(_inspector()), "--cli", f"http://localhost:{server.port}{url_path}", "--method", "tools/call",
         "--tool-name", "add", "--tool-arg", "a=2", "b=3"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout[done.stdout.index("{"):])
    assert result["content"][0]["text"] == "5"
    assert not result["isError"]
