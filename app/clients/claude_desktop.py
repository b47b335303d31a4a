"""PLACEHOLDER for the `clients` branch: the Claude Desktop config writer, with its agreed signatures.

The GUI codes against this API; the real module (every platform's path, npx discovery, full
tests) comes from the `clients` branch and replaces this file on merge.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A config problem; the message is user-readable."""


class InvalidConfigError(ConfigError):
    """The file is not valid JSON or not an object; it is never overwritten."""


class EntryState(enum.Enum):
    """Where our entry stands in the config file."""

    MISSING = "missing"
    CURRENT = "current"
    OUTDATED = "outdated"
    NO_FILE = "no_file"
    INVALID = "invalid"


@dataclass(frozen=True)
class EntryStatus:
    """The state of our entry, the file looked at, and a sentence for people."""

    state: EntryState
    path: Path
    detail: str


@dataclass(frozen=True)
class WriteResult:
    """What a write did."""

    path: Path
    backup: Path | None
    changed: bool
    entry: dict[str, Any]


def default_config_path() -> Path:
    """claude_desktop_config.json for this platform."""
    if sys.platform == "darwin":
        return Path.home() / "Library/Application Support/Claude/claude_desktop_config.json"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Claude/claude_desktop_config.json"
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "Claude/claude_desktop_config.json"


def _entry(server_url: str) -> dict[str, Any]:
    return {"command": shutil.which("npx") or "npx", "args": ["-y", "mcp-remote", server_url]}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidConfigError(f"{path} is not valid JSON ({exc}); it was left untouched") from exc
    if not isinstance(data, dict):
        raise InvalidConfigError(f"{path} does not hold a JSON object; it was left untouched")
    return data


def entry_status(server_url: str, path: Path | None = None, name: str = "mcp-tray") -> EntryStatus:
    """Whether our entry is there and points at `server_url`."""
    path = path or default_config_path()
    try:
        data = _read(path)
    except InvalidConfigError as exc:
        return EntryStatus(EntryState.INVALID, path, str(exc))
    if data is None:
        return EntryStatus(EntryState.NO_FILE, path, "Claude Desktop has no config file yet")
    entry = (data.get("mcpServers") or {}).get(name)
    if entry is None:
        return EntryStatus(EntryState.MISSING, path, f"no '{name}' entry")
    if entry == _entry(server_url):
        return EntryStatus(EntryState.CURRENT, path, f"'{name}' points at {server_url}")
    return EntryStatus(EntryState.OUTDATED, path, f"'{name}' does not point at {server_url}")


def _write(path: Path, data: dict[str, Any]) -> Path | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, backup)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return backup


def write_entry(
    server_url: str, path: Path | None = None, name: str = "mcp-tray", dry_run: bool = False
) -> WriteResult:
    """Add or update our entry, keeping everything else."""
    path = path or default_config_path()
    data = _read(path) or {}
    servers = data.setdefault("mcpServers", {})
    entry = _entry(server_url)
    if servers.get(name) == entry:
        return WriteResult(path, None, False, entry)
    servers[name] = entry
    backup = None if dry_run else _write(path, data)
    return WriteResult(path, backup, True, entry)


def remove_entry(path: Path | None = None, name: str = "mcp-tray", dry_run: bool = False) -> WriteResult:
    """Take out our entry only."""
    path = path or default_config_path()
    data = _read(path) or {}
    entry = (data.get("mcpServers") or {}).pop(name, None)
    if entry is None:
        return WriteResult(path, None, False, {})
    backup = None if dry_run else _write(path, data)
    return WriteResult(path, backup, True, entry)


def backup_and_reset(path: Path | None = None) -> Path:
    """Move an invalid file aside; returns where it went."""
    path = path or default_config_path()
    backup = path.with_name(f"{path.name}.invalid-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, backup)
    return backup
