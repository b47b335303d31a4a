"""Read-only access to the folders the user chose: paths are checked after every symlink is resolved.

A path a client sends is `<folder name>/<path inside it>` as `list_files` shows it. Absolute paths,
`..`, and anything that resolves (through symlinks) to a place outside the chosen folder are refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

_DRIVE = re.compile(r"^[A-Za-z]:")


class PathRefusedError(ToolError):
    """A path the client may not use; the message tells the client what to send instead."""


@dataclass(frozen=True)
class Place:
    """A checked location: the real path, and how the client names it."""

    real: Path
    root: Path
    shown: str


def labels(folders: Sequence[Path]) -> dict[str, Path]:
    """Each chosen folder under a short name (its own name, numbered when two share one)."""
    named: dict[str, Path] = {}
    for folder in folders:
        base = folder.name or str(folder).strip("/\\:") or "folder"
        label, n = base, 2
        while label in named:
            label, n = f"{base} ({n})", n + 1
        named[label] = folder
    return named


class FolderGuard:
    """Turns client paths into checked real paths inside the chosen folders."""

    def __init__(self, folders: Callable[[], Sequence[Path]]) -> None:
        self._folders = folders

    def roots(self) -> dict[str, Path]:
        """The chosen folders by label."""
        return labels(list(self._folders()))

    def resolve(self, path: str) -> Place:
        """The real location of a client path, or PathRefusedError."""
        text = path.strip().replace("\\", "/")
        if "\0" in text:
            raise PathRefusedError("the path contains a NUL character")
        if text.startswith(("/", "~")) or _DRIVE.match(text):
            raise PathRefusedError("absolute paths are not allowed; start the path with one of the folder "
                                   "names list_files shows, like 'Documents/notes.txt'")
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise PathRefusedError("'..' is not allowed in paths")
        roots = self.roots()
        if not roots:
            raise PathRefusedError("no folders are shared yet; the user can add one in MCP Tray's Tools tab")
        if not parts:
            raise PathRefusedError("name a folder first; list_files with no path shows them")
        root_dir = roots.get(parts[0])
        if root_dir is None:
            raise PathRefusedError(f"there is no shared folder named {parts[0]!r}; shared folders: "
                                   + ", ".join(sorted(roots)))
        try:
            root = root_dir.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise PathRefusedError(f"the folder {parts[0]!r} is not available right now") from exc
        try:
            # strict: every symlink on the way is followed, so the containment check below sees the truth
            real = root.joinpath(*parts[1:]).resolve(strict=True)
        except FileNotFoundError as exc:
            raise PathRefusedError(f"{'/'.join(parts)} does not exist") from exc
        except (OSError, RuntimeError) as exc:  # a symlink loop, a permission problem
            raise PathRefusedError(f"{'/'.join(parts)} cannot be opened ({type(exc).__name__})") from exc
        if not real.is_relative_to(root):
            raise PathRefusedError(f"{'/'.join(parts)} leads outside the shared folder")
        return Place(real, root, "/".join(parts))

    @staticmethod
    def inside(entry: Path, root: Path) -> Path | None:
        """The real path of `entry` if it stays inside `root` after resolving symlinks, else None."""
        try:
            real = entry.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return real if real.is_relative_to(root) else None


def open_no_follow(path: Path) -> int:
    """Open a file for reading without following a symlink swapped in after the check (where the OS can)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.open(path, flags)
