"""`mcp-tray configure` writes the port the server serves: a running server's, else the next start's, with a note."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.clients.helpers import load
from tests.commands.test_configure import Cli
from tests.support.serve import ServeProcess, free_port


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """No node and no claude on PATH, as in test_configure.py."""
    return Cli(tmp_path, f"{Path(sys.executable).parent}{os.pathsep}{tmp_path / 'nothing'}")


def cursor_url(cli: Cli) -> str:
    return str(load(cli.home / ".cursor" / "mcp.json")["mcpServers"]["mcp-tray"]["url"])


def test_environment_port_is_written_and_named(cli: Cli) -> None:
    cli.data.mkdir()
    (cli.data / "settings.json").write_text(json.dumps({"port": 9911}))
    port = free_port()
    cli.env["MCP_TRAY_PORT"] = str(port)
    done = cli("cursor")
    assert done.returncode == 0, done.stderr
    assert cursor_url(cli) == f"http://127.0.0.1:{port}/mcp"
    assert f"Port {port} comes from $MCP_TRAY_PORT; the settings file says 9911." in done.stderr


def test_a_server_running_on_another_port_is_written_with_a_warning(cli: Cli) -> None:
    cli.data.mkdir()
    settings_port, running_port = free_port(), free_port()
    (cli.data / "settings.json").write_text(json.dumps({"port": settings_port}))
    with ServeProcess(cli.data, running_port, env=os.environ.copy()) as serve:
        done = cli("cursor")
        serve.stop()
    assert done.returncode == 0, done.stderr
    assert cursor_url(cli) == f"http://127.0.0.1:{running_port}/mcp"
    note = " ".join(done.stderr.split())
    assert f"The running server serves port {running_port}" in note
    assert f"restarts without --port it serves {settings_port}" in note and "save port" in note


def test_the_same_port_running_gives_no_note(cli: Cli) -> None:
    cli.data.mkdir()
    port = free_port()
    (cli.data / "settings.json").write_text(json.dumps({"port": port}))
    with ServeProcess(cli.data, port, env=os.environ.copy()) as serve:
        done = cli("cursor")
        serve.stop()
    assert done.returncode == 0, done.stderr
    assert cursor_url(cli) == f"http://127.0.0.1:{port}/mcp"
    assert "Note:" not in done.stderr
