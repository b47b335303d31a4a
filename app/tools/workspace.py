"""The user's tools folder: created on first run with a commented example, watched for edits."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

EXAMPLE_NAME = "example.py"
EXAMPLE = '''\
# Your own MCP tools. Every .py file in this folder is loaded by MCP Tray, and each public
# top-level function in it becomes a tool: its name is the tool's name, its type hints are the
# arguments clients must send, and its docstring is the description clients see.
# Files whose names start with "_" are skipped. Changes are picked up on their own (or press
# Reload in the Tools tab). Clients need the "tools:plugins" permission to use these tools.
#
# Remove the "# " in front of the lines below to try it:
#
# def greet(name: str, excited: bool = False) -> str:
#     """Say hello to someone."""
#     return f"Hello, {name}{'!' if excited else '.'}"
'''


def ensure_tools_folder(folder: Path) -> None:
    """Create the tools folder with the example the first time only (a deleted example stays deleted)."""
    if folder.exists():
        return
    try:
        folder.mkdir(parents=True)
        (folder / EXAMPLE_NAME).write_text(EXAMPLE, encoding="utf-8")
    except OSError as exc:
        log.warning("cannot create the tools folder %s: %s", folder, exc)


def folder_signature(folder: Path | None, *files: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the plugin files and `files`: changes when any is edited."""
    paths = sorted(folder.glob("*.py")) if folder is not None and folder.is_dir() else []
    entries = []
    for path in [*paths, *files]:
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(entries)
