"""The bridge's command line for client configs: absolute paths, frozen or not."""

from __future__ import annotations

import sys
from pathlib import Path

from app.bridge.invocation import bridge_command


def test_bridge_command_uses_absolute_paths() -> None:
    command, args = bridge_command("http://127.0.0.1:8787/mcp")
    assert Path(command).is_absolute() and command == str(Path(sys.executable).absolute())
    assert args == ["-m", "app", "bridge", "http://127.0.0.1:8787/mcp"]
    setattr(sys, "frozen", True)  # noqa: B010 - how PyInstaller marks a bundle
    try:
        command, args = bridge_command("http://127.0.0.1:8787/mcp")
    finally:
        delattr(sys, "frozen")
    assert args == ["bridge", "http://127.0.0.1:8787/mcp"]
