"""Claude Code: a user-scope server, `mcpServers.<name> = {"type": "http", "url": URL}` in `~/.claude.json`.

When the `claude` command exists we let it edit its own file (`claude mcp add --transport http
<name> <URL> --scope user`), because Claude Code rewrites `~/.claude.json` often while it runs;
we still read the file for the status and keep a backup first. Without `claude`, or with an
explicit config path, the file is edited directly with the same rules as every other writer.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

from app.clients import entries, jsonfile, paths
from app.clients.entries import DEFAULT_NAME, EntryState, EntryStatus, WriteResult, check_url
from app.clients.errors import ConfigError

CONTAINER = "mcpServers"
CLI_TIMEOUT = 60.0


def default_config_path() -> Path:
    """This machine's Claude Code user config (`~/.claude.json`, or under `$CLAUDE_CONFIG_DIR`)."""
    return paths.here(paths.claude_code_path)


def find_claude() -> str | None:
    """The absolute path of the `claude` command, or None."""
    return shutil.which("claude")


def entry(server_url: str) -> dict[str, Any]:
    """The entry Claude Code keeps for a user-scope HTTP server."""
    check_url(server_url)
    return {"type": "http", "url": server_url}


def add_command(claude: str, server_url: str, name: str) -> list[str]:
    """The `claude mcp add` command line we run."""
    return [claude, "mcp", "add", "--transport", "http", name, server_url, "--scope", "user"]


def remove_command(claude: str, name: str) -> list[str]:
    """The `claude mcp remove` command line we run."""
    return [claude, "mcp", "remove", name, "--scope", "user"]


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=CLI_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"Could not run {' '.join(command[1:3])!r}: {exc}.") from None
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise ConfigError(f"`claude {' '.join(command[1:3])}` failed (exit {done.returncode}): {lines[-1]}")


def _backup(path: Path) -> Path | None:
    snap = jsonfile.read(path, (CONTAINER,))
    if snap.raw is None:
        return None
    try:
        info = snap.path.stat()
        owner = (info.st_uid, info.st_gid)
        return jsonfile.write_backup(snap.path, snap.raw, stat.S_IMODE(info.st_mode), owner)
    except OSError as exc:
        raise ConfigError(f"Cannot back up {snap.path}: {exc.strerror or exc}.") from None


def _cli(path: Path | None, use_cli: bool | None) -> str | None:
    """The claude command to use, or None to edit the file (always the file for an explicit path)."""
    if use_cli is False or (use_cli is None and path is not None):
        return None
    claude = find_claude()
    if use_cli and not claude:
        raise ConfigError("The `claude` command was not found on this PATH.")
    return claude


def entry_status(server_url: str, path: Path | None = None, name: str = DEFAULT_NAME) -> EntryStatus:
    """Is our user-scope entry present and current?"""
    return entries.status(path or default_config_path(), CONTAINER, name, [entry(server_url)])


def write_entry(server_url: str, path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False,
                use_cli: bool | None = None) -> WriteResult:
    """Add or update our entry, through `claude mcp add` when available. Raises ConfigError."""
    wanted = entry(server_url)
    target = path or default_config_path()
    claude = _cli(path, use_cli)
    if claude is None:
        return entries.write(target, CONTAINER, name, wanted, dry_run=dry_run)
    planned = entries.write(target, CONTAINER, name, wanted, dry_run=True)
    if dry_run or not planned.changed:
        note = (f"Would run: {' '.join(add_command(claude, server_url, name))}",) if planned.changed else ()
        return WriteResult(planned.path, None, planned.changed, wanted, planned.text, note)
    before = entries.status(target, CONTAINER, name, [wanted])
    backup = _backup(target)
    if before.state is EntryState.OUTDATED:
        _run(remove_command(claude, name))  # `claude mcp add` refuses a name that exists
    _run(add_command(claude, server_url, name))
    after = entries.status(target, CONTAINER, name, [wanted])
    if after.state is not EntryState.CURRENT:
        raise ConfigError(f"`claude mcp add` succeeded but {after.detail}")
    text = jsonfile.render(jsonfile.read(target).doc)
    return WriteResult(after.path, backup, True, wanted, text)


def remove_entry(path: Path | None = None, name: str = DEFAULT_NAME, dry_run: bool = False,
                 use_cli: bool | None = None) -> WriteResult:
    """Take out our entry only, through `claude mcp remove` when available. Raises ConfigError."""
    target = path or default_config_path()
    claude = _cli(path, use_cli)
    if claude is None:
        return entries.remove(target, CONTAINER, name, dry_run=dry_run)
    planned = entries.remove(target, CONTAINER, name, dry_run=True)
    if dry_run or not planned.changed:
        note = (f"Would run: {' '.join(remove_command(claude, name))}",) if planned.changed else ()
        return WriteResult(planned.path, None, planned.changed, planned.entry, planned.text, note)
    backup = _backup(target)
    _run(remove_command(claude, name))
    text = jsonfile.render(jsonfile.read(target).doc)
    return WriteResult(planned.path, backup, True, planned.entry, text)
