"""Private files, as ssh keeps them: the data dir 0700, its files 0600, no code from a place others can change.

The owner is the OS account running MCP Tray. Another account on the machine must not read the
database (grants, the activity log), change the settings, or drop a plugin that the server then
runs as the owner. So:

- the process umask is 077, so everything MCP Tray creates is private from the start;
- at start the data dir and the log dir are checked, then repaired: read bits for the group and
  others are removed from the directory and the files in it (an older version, or a umask of
  022, left them 0755 and 0644);
- a directory, or a plugin file, that is owned by another account or writable by the group or
  others is refused, with the command that fixes it. Repairing it silently could hide a plugin
  planted by someone else, so nothing runs from it until the owner has looked.

On Windows, where these modes do not exist, every check passes.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
ENFORCED = os.name == "posix"


class UnsafePathError(Exception):
    """A path that others could change: its owner or its mode is wrong; `fix` is the command to run."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        super().__init__(f"{path}: {problem}; run: {fix}")
        self.path = path
        self.problem = problem
        self.fix = fix

    def refusing(self, what: str) -> str:
        """The ssh-style sentence: 'refusing to WHAT PATH: PROBLEM; run: FIX'."""
        return f"refusing to {what} {self.path}: {self.problem}; run: {self.fix}"


def set_private_umask() -> None:
    """Everything this process creates from now on is readable by its owner only."""
    if ENFORCED:
        os.umask(PRIVATE_UMASK)


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def check_safe(path: Path) -> os.stat_result | None:
    """Raise UnsafePathError when `path` is owned by another account (root is trusted, as ssh
    trusts it) or writable by its group or others. Returns its stat, None where modes do not apply."""
    if not ENFORCED:
        return None
    info = path.stat()
    me = os.geteuid()
    if info.st_uid not in (me, 0):
        sudo = "" if me == 0 else "sudo "
        raise UnsafePathError(
            path, f"it is owned by {_user_name(info.st_uid)}, not by you ({_user_name(me)})",
            f"{sudo}chown {_user_name(me)} {path}",
        )
    if info.st_mode & stat.S_IWOTH:
        raise UnsafePathError(path, "it is writable by others", f"chmod go-w {path}")
    if info.st_mode & stat.S_IWGRP:
        raise UnsafePathError(path, "it is writable by its group", f"chmod go-w {path}")
    return info


def _tighten(path: Path, info: os.stat_result) -> None:
    """Drop every permission of the group and others (0755 -> 0700, 0644 -> 0600)."""
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid() or not mode & 0o077:
        return
    try:
        os.chmod(path, mode & ~0o077)
    except OSError as exc:
        log.warning("cannot make %s private: %s", path, exc)


def make_private(directory: Path, *subdirs: str) -> None:
    """Check `directory` (UnsafePathError), then make it 0700 and the files in it 0600, and the same
    for each of its `subdirs` that exists (one level; what they contain below is left alone)."""
    if not ENFORCED:
        return
    for folder in (directory, *(directory / s for s in subdirs)):
        if not folder.is_dir():
            continue
        _tighten(folder, check_safe(folder) or folder.stat())
        for entry in folder.iterdir():
            try:
                info = entry.lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                if info.st_uid not in (os.geteuid(), 0):
                    check_safe(entry)  # raises: a file of ours that another account owns
                _tighten(entry, info)
