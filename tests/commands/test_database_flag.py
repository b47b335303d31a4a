"""Every command that takes --data-dir also takes --database (the store in PostgreSQL)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from app.main import build_parser
from tests.support.serve import REPO

Command = tuple[tuple[str, ...], argparse.ArgumentParser]


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[Command]:
    found: list[Command] = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


def test_every_command_with_data_dir_takes_database() -> None:
    with_data_dir = [(path, p) for path, p in _commands(build_parser())
                     if any("--data-dir" in a.option_strings for a in p._actions)]
    assert len(with_data_dir) > 20  # serve, tokens list, approve, passkeys add, audit ..., calls ...
    missing = [" ".join(path) for path, p in with_data_dir
               if not any("--database" in a.option_strings for a in p._actions)]
    assert missing == []


def test_database_given_before_or_after_the_command_is_the_same() -> None:
    parser = build_parser()
    after = parser.parse_args(["tokens", "list", "--database", "postgresql://h/db"])
    before = parser.parse_args(["--database", "postgresql://h/db", "tokens", "list"])
    assert after.database == before.database == "postgresql://h/db"
    assert not hasattr(parser.parse_args(["tokens", "list"]), "database")  # none given: SQLite (or the env)


BLOCK_PSYCOPG = """
import sys
class NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_pool", "psycopg_binary"):
            raise ModuleNotFoundError(f"blocked in this test: {name}", name=name)
        return None
sys.meta_path.insert(0, NoPsycopg())
"""


@pytest.mark.parametrize("frozen", [False, True], ids=["pip-install", "desktop-bundle"])
def test_database_without_the_driver_is_one_line(tmp_path: Path, frozen: bool) -> None:
    """No psycopg (an install without the extra, or the desktop bundle, which leaves it out): exit 2, one line."""
    code = BLOCK_PSYCOPG + f"""
sys.frozen = {frozen}
import app.main
raise SystemExit(app.main.main(["serve", "--data-dir", {str(tmp_path)!r}, "--database", "postgresql://u@h/db"]))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    expected = ("cannot use PostgreSQL; for --database run `mcp-tray serve` from a Python install: "
                "pip install 'mcp-tray[server]'") if frozen else "pip install 'mcp-tray[postgres]'"
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
