"""One named server entry inside a client's server map (`mcpServers` or `servers`): status, write, remove.

The entry named after us (default "mcp-tray") is ours and is replaced whole; nothing else in the
file is touched (see `jsonfile` for how the file itself is handled).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clients import jsonfile
from app.clients.errors import ConfigError, InvalidConfigError

DEFAULT_NAME = "mcp-tray"


class EntryState(enum.Enum):
    """What a client's config says about our server."""

    MISSING = "missing"    # the file is fine but has no entry of ours
    CURRENT = "current"    # our entry is there and points at this server as we would write it
    OUTDATED = "outdated"  # our entry is there but differs (another URL, an old command)
    NO_FILE = "no_file"    # the config file does not exist yet
    INVALID = "invalid"    # the file cannot be parsed; we will not touch it


@dataclass(frozen=True)
class EntryStatus:
    """A client's state for the GUI: the state, the config path, and one line to show the user."""

    state: EntryState
    path: Path
    detail: str


@dataclass(frozen=True)
class WriteResult:
    """The outcome of a write or remove; `text` is the whole resulting file (what --dry-run prints)."""

    path: Path
    backup: Path | None
    changed: bool
    entry: dict[str, Any]
    text: str = ""
    warnings: tuple[str, ...] = field(default=())


def check_url(server_url: str) -> None:
    """Refuse anything but an absolute http(s) URL, with a message saying why."""
    scheme, sep, rest = server_url.partition("://")
    host = rest.split("/", 1)[0]
    if scheme not in ("http", "https") or not sep or not host or any(c.isspace() for c in server_url):
        raise ConfigError(f"{server_url!r} is not an http(s) URL such as http://127.0.0.1:8787/mcp.")


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise ConfigError("The server name must not be empty.")


def status(path: Path, container: str, name: str, wanted: list[dict[str, Any]]) -> EntryStatus:
    """Is our entry in the file at `path`, and is it one of the `wanted` forms (the first is preferred)?"""
    try:
        snap = jsonfile.read(path, (container,))
    except InvalidConfigError as exc:
        return EntryStatus(EntryState.INVALID, jsonfile.real_path(path), str(exc))
    except ConfigError as exc:
        return EntryStatus(EntryState.INVALID, jsonfile.real_path(path), str(exc))
    if snap.raw is None:
        return EntryStatus(EntryState.NO_FILE, snap.path, f"{snap.path} does not exist yet.")
    servers = snap.doc.get(container, {})
    if name not in servers:
        return EntryStatus(EntryState.MISSING, snap.path, f'No "{name}" entry in {snap.path}.')
    current = servers[name]
    if any(jsonfile.render(current) == jsonfile.render(w) for w in wanted):
        return EntryStatus(EntryState.CURRENT, snap.path, f'"{name}" is set up in {snap.path}.')
    return EntryStatus(EntryState.OUTDATED, snap.path,
                       f'"{name}" in {snap.path} differs from what we would write.\n'
                       f"It says: {describe(current)}\nWe would write: {describe(wanted[0])}")


def describe(entry: Any) -> str:
    """A short rendering of an entry for messages."""
    text = jsonfile.render(entry, indent=None).strip()
    return text if len(text) <= 200 else text[:197] + "..."


def write(path: Path, container: str, name: str, entry: dict[str, Any], dry_run: bool = False,
          keep_if: list[dict[str, Any]] | None = None, warnings: tuple[str, ...] = ()) -> WriteResult:
    """Set `container[name] = entry`, keeping its position if it exists; nothing else changes.

    An existing entry equal to one of `keep_if` is left alone (so a second run never flips it).
    """
    _check_name(name)
    kept: dict[str, Any] = {}

    def mutate(doc: dict[str, Any]) -> None:
        servers = doc.setdefault(container, {})
        existing = servers.get(name)
        if existing is not None and any(jsonfile.render(existing) == jsonfile.render(k)
                                        for k in (keep_if or [])):
            kept.update(existing)
            return
        servers[name] = entry

    result = jsonfile.edit(path, mutate, (container,), dry_run=dry_run)
    return WriteResult(result.path, result.backup, result.changed, dict(kept or entry), result.text, warnings)


def remove(path: Path, container: str, name: str, dry_run: bool = False) -> WriteResult:
    """Delete `container[name]` only; a missing file, map or entry means nothing to do."""
    _check_name(name)
    removed: dict[str, Any] = {}

    def mutate(doc: dict[str, Any]) -> None:
        servers = doc.get(container)
        if isinstance(servers, dict) and name in servers:
            value = servers.pop(name)
            if isinstance(value, dict):
                removed.update(value)

    result = jsonfile.edit(path, mutate, (container,), dry_run=dry_run, create=False)
    return WriteResult(result.path, result.backup, result.changed, removed, result.text)


@dataclass(frozen=True)
class UrlClient:
    """A client that speaks remote HTTP and OAuth itself: its whole entry is built from our URL.

    Gives a client module its `entry_status`, `write_entry` and `remove_entry` over one container key.
    """

    container: str
    entry: Callable[[str], dict[str, Any]]
    default_path: Callable[[], Path]

    def entry_status(self, server_url: str, path: Path | None = None, name: str = DEFAULT_NAME) -> EntryStatus:
        """Is our entry present and current?"""
        return status(path or self.default_path(), self.container, name, [self.entry(server_url)])

    def write_entry(self, server_url: str, path: Path | None = None, name: str = DEFAULT_NAME,
                    dry_run: bool = False) -> WriteResult:
        """Add or update our entry. Raises ConfigError."""
        return write(path or self.default_path(), self.container, name, self.entry(server_url), dry_run=dry_run)

    def remove_entry(self, path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False) -> WriteResult:
        """Take out our entry only. Raises ConfigError."""
        return remove(path or self.default_path(), self.container, name, dry_run=dry_run)
