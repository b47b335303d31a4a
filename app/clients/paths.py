"""Where each MCP client keeps its config, per OS, as pure functions of platform, environment and home.

The functions take `platform` (a `sys.platform` value), `env` and `home` so tests can ask for the
macOS or Windows answer on any machine; `PurePath` flavours follow the platform asked for.
The `*_default()` helpers apply them to this machine.
"""

from __future__ import annotations

import glob as globmod
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

Glob = Callable[[str], list[str]]

CLAUDE_FILE = "claude_desktop_config.json"
# The MSIX (Microsoft Store / default installer since early 2026) package of Claude Desktop
# virtualises %APPDATA% into its own folder; the app reads its config from there.
MSIX_PATTERN = "Claude_*"


def _pure(platform: str, raw: str) -> PurePath:
    return PureWindowsPath(raw) if platform == "win32" else PurePosixPath(raw)


def _home(platform: str, env: Mapping[str, str], home: str) -> PurePath:
    if platform == "win32":
        return PureWindowsPath(env.get("USERPROFILE") or home)
    return PurePosixPath(home)


def _xdg_config(env: Mapping[str, str], home: str) -> PurePosixPath:
    # The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    raw = env.get("XDG_CONFIG_HOME", "")
    return PurePosixPath(raw) if raw.startswith("/") else PurePosixPath(home) / ".config"


def _appdata(env: Mapping[str, str], home: str) -> PureWindowsPath:
    raw = env.get("APPDATA")
    return PureWindowsPath(raw) if raw else PureWindowsPath(_home("win32", env, home), "AppData", "Roaming")


def _localappdata(env: Mapping[str, str], home: str) -> PureWindowsPath:
    raw = env.get("LOCALAPPDATA")
    return PureWindowsPath(raw) if raw else PureWindowsPath(_home("win32", env, home), "AppData", "Local")


def claude_desktop_candidates(platform: str, env: Mapping[str, str], home: str,
                              glob: Glob = globmod.glob) -> list[PurePath]:
    """Claude Desktop config paths in order of preference (the first is the one to use)."""
    if platform == "darwin":
        return [PurePosixPath(home) / "Library" / "Application Support" / "Claude" / CLAUDE_FILE]
    if platform == "win32":
        packages = _localappdata(env, home) / "Packages"
        msix = [PureWindowsPath(p) / "LocalCache" / "Roaming" / "Claude" / CLAUDE_FILE
                for p in sorted(glob(str(packages / MSIX_PATTERN)))]
        return [*msix, _appdata(env, home) / "Claude" / CLAUDE_FILE]
    return [_xdg_config(env, home) / "Claude" / CLAUDE_FILE]


def claude_desktop_path(platform: str, env: Mapping[str, str], home: str, glob: Glob = globmod.glob,
                        exists: Callable[[PurePath], bool] | None = None) -> PurePath:
    """The Claude Desktop config path: the MSIX package's when that package is installed.

    Among several MSIX packages (a reinstall can leave two), the one whose config file already
    exists wins; `exists` is injectable for tests.
    """
    candidates = claude_desktop_candidates(platform, env, home, glob)
    if len(candidates) > 2 and exists is not None:
        for candidate in candidates[:-1]:
            if exists(candidate):
                return candidate
    return candidates[0]


def cursor_path(platform: str, env: Mapping[str, str], home: str) -> PurePath:
    """Cursor's global MCP config: `~/.cursor/mcp.json` on every OS."""
    return _home(platform, env, home) / ".cursor" / "mcp.json"


def vscode_path(platform: str, env: Mapping[str, str], home: str) -> PurePath:
    """VS Code's user-profile `mcp.json` (stable channel)."""
    if platform == "darwin":
        return PurePosixPath(home) / "Library" / "Application Support" / "Code" / "User" / "mcp.json"
    if platform == "win32":
        return _appdata(env, home) / "Code" / "User" / "mcp.json"
    return _xdg_config(env, home) / "Code" / "User" / "mcp.json"


def claude_code_path(platform: str, env: Mapping[str, str], home: str) -> PurePath:
    """Claude Code's user config `~/.claude.json` (inside `$CLAUDE_CONFIG_DIR` when that is set)."""
    custom = env.get("CLAUDE_CONFIG_DIR")
    if custom:
        return _pure(platform, custom) / ".claude.json"
    return _home(platform, env, home) / ".claude.json"


def here(fn: Callable[[str, Mapping[str, str], str], PurePath]) -> Path:
    """Apply a path function to this machine (its platform, environment and home)."""
    return Path(fn(sys.platform, os.environ, str(Path.home())))


def claude_desktop_default() -> Path:
    """This machine's Claude Desktop config path."""
    return Path(claude_desktop_path(sys.platform, os.environ, str(Path.home()),
                                    exists=lambda p: os.path.exists(p)))
