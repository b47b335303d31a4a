"""`mcp-tray configure ...` run as a real subprocess, with HOME and XDG_CONFIG_HOME in a temp dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clients.helpers import backups, load

REPO = Path(__file__).resolve().parents[2]


class Cli:
    """Runs `python -m app configure ...` in a private HOME."""

    def __init__(self, root: Path, path: str) -> None:
        self.home = root / "home"
        self.home.mkdir()
        self.data = root / "data"
        self.env = {
            "HOME": str(self.home), "XDG_CONFIG_HOME": str(self.home / ".config"),
            "MCP_TRAY_DATA_DIR": str(self.data), "PATH": path, "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", "configure", *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=60, check=False)

    @property
    def claude_config(self) -> Path:
        return self.home / ".config" / "Claude" / "claude_desktop_config.json"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """No node and no claude on PATH: only the interpreter's folder and the system's."""
    return Cli(tmp_path, f"{Path(sys.executable).parent}{os.pathsep}{tmp_path / 'nothing'}")


def one_clean_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_claude_add_then_again_then_remove(cli: Cli) -> None:
    cli.claude_config.parent.mkdir(parents=True)
    cli.claude_config.write_text('{"mcpServers": {"other": {"command": "x"}}, "keep": true}')

    first = cli("claude")

    assert first.returncode == 0, first.stderr
    assert 'Added "mcp-tray"' in first.stdout
    assert "Restart Claude Desktop" in first.stdout and "“MCP Tray bridge”" in first.stdout  # what comes next
    backup = backups(cli.claude_config)
    assert len(backup) == 1 and f"The previous file is saved as {backup[0]}" in first.stdout
    doc = load(cli.claude_config)
    assert doc["keep"] is True and doc["mcpServers"]["other"] == {"command": "x"}
    # no npx on this PATH: the built-in bridge, by absolute path, and a note saying why
    assert doc["mcpServers"]["mcp-tray"] == {"command": sys.executable,
                                             "args": ["-m", "app", "bridge", "http://127.0.0.1:8787/mcp"]}
    assert "npx" in first.stderr

    second = cli("claude")
    assert second.returncode == 0 and "nothing changed" in second.stdout
    assert "Restart" not in second.stdout and len(backups(cli.claude_config)) == 1

    moved = cli("claude", "--url", "http://127.0.0.1:9000/mcp")
    assert moved.returncode == 0 and 'Updated "mcp-tray"' in moved.stdout and "Restart" in moved.stdout
    assert len(backups(cli.claude_config)) == 2

    removed = cli("claude", "--remove")
    assert removed.returncode == 0 and 'Removed "mcp-tray"' in removed.stdout
    assert load(cli.claude_config) == {"mcpServers": {"other": {"command": "x"}}, "keep": True}


def test_claude_via_mcp_remote_uses_the_absolute_npx(tmp_path: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("Node.js (npx) is not installed")
    cli = Cli(tmp_path, f"{Path(npx).parent}{os.pathsep}{Path(sys.executable).parent}")
    done = cli("claude", "--via", "mcp-remote", "--url", "http://127.0.0.1:9000/mcp")
    assert done.returncode == 0, done.stderr
    assert load(cli.claude_config)["mcpServers"]["mcp-tray"] == {
        "command": npx, "args": ["-y", "mcp-remote", "http://127.0.0.1:9000/mcp"]}


def test_url_defaults_to_the_port_in_settings(cli: Cli) -> None:
    cli.data.mkdir()
    (cli.data / "settings.json").write_text(json.dumps({"port": 9911}))
    done = cli("cursor")
    assert done.returncode == 0, done.stderr
    assert load(cli.home / ".cursor" / "mcp.json") == {"mcpServers": {"mcp-tray": {"url": "http://127.0.0.1:9911/mcp"}}}


def test_vscode_and_claude_code_go_to_their_own_files(cli: Cli) -> None:
    vs = cli("vscode", "--name", "tray")
    assert vs.returncode == 0 and "VS Code" in vs.stdout
    assert load(cli.home / ".config" / "Code" / "User" / "mcp.json") == {
        "servers": {"tray": {"type": "http", "url": "http://127.0.0.1:8787/mcp"}}}
    code = cli("claude-code")  # no `claude` on PATH: the file itself
    assert code.returncode == 0 and "/mcp" in code.stdout
    assert load(cli.home / ".claude.json") == {"mcpServers": {"mcp-tray": {"type": "http",
                                                                          "url": "http://127.0.0.1:8787/mcp"}}}


def test_dry_run_prints_the_json_and_writes_nothing(cli: Cli) -> None:
    target = cli.home / "custom" / "config.json"
    done = cli("claude", "--config", str(target), "--dry-run", "--via", "bridge")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mcpServers"]["mcp-tray"]["args"][-2:] == ["bridge", "http://127.0.0.1:8787/mcp"]
    assert "nothing written" in done.stderr and not target.exists() and not target.parent.exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_invalid_file_exits_3_with_one_line_and_is_untouched(cli: Cli, text: str) -> None:
    target = cli.home / "config.json"
    target.write_text(text)
    done = cli("claude", "--config", str(target))
    assert done.returncode == 3
    line = one_clean_line(done.stderr)
    assert line.startswith("mcp-tray: ") and "left untouched" in line
    assert target.read_text() == text and backups(target) == []


def test_unwritable_place_exits_1_with_one_line(cli: Cli) -> None:
    blocker = cli.home / "a-file"
    blocker.write_text("")
    done = cli("cursor", "--config", str(blocker / "sub" / "mcp.json"))  # a folder under a file
    assert done.returncode == 1
    assert one_clean_line(done.stderr).startswith(("mcp-tray: Cannot read", "mcp-tray: Cannot write"))


def test_bad_usage_exits_2(cli: Cli) -> None:
    via = cli("cursor", "--via", "bridge")
    assert via.returncode == 2 and "Claude Desktop only" in one_clean_line(via.stderr)
    url = cli("claude", "--url", "localhost:8787")
    assert url.returncode == 1 and "not an http(s) URL" in one_clean_line(url.stderr)
    unknown = cli("notepad")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
