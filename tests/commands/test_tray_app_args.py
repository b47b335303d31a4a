"""`mcp-tray` with no command (the tray app) is parsed without loading the command modules, and the same way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.main import build_parser, tray_app_args

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [[], ["--port", "0"], ["--data-dir", "/d", "--port", "8787"], ["--port=5"],
                                  ["--database", "postgresql://u@h/db"], ["--data-d", "/d"]])
def test_the_tray_apps_command_line_reads_as_the_whole_parser_reads_it(argv: list[str]) -> None:
    assert tray_app_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["serve"], ["--port", "0", "serve"], ["-h"], ["--help"], ["--port", "x"],
                                  ["--data", "/d"], ["--bogus"], ["tokens", "list"], ["--data-dir"]])
def test_a_command_help_or_mistake_goes_to_the_whole_parser(argv: list[str]) -> None:
    assert tray_app_args(argv) is None


def test_the_tray_app_loads_no_command_module() -> None:
    code = ("import sys, app.main\n"
            "assert app.main.tray_app_args(['--port', '0']) is not None\n"
            "print(sorted(m for m in sys.modules if m.startswith(('app.commands', 'mcp'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.strip() == "[]"
