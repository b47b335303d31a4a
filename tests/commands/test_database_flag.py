"""Every command that takes --data-dir also takes --database (the store in PostgreSQL)."""

from __future__ import annotations

import argparse

from app.main import build_parser

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
