"""Safe edits of a client's JSON config file: strict parse, one-entry merge, backup, atomic replace.

Every writer in `app/clients/` goes through `edit()`. The rules it enforces:

- a file that is not strict JSON, not an object, or has duplicate keys is never overwritten
  (`InvalidConfigError`); an empty file counts as `{}`;
- the new text is computed from the parsed document, so every key we do not touch keeps its
  value and its position; a run that changes nothing writes nothing and makes no backup;
- before a change, the bytes we read are saved beside the file (`<file>.bak-<UTC time>`), the
  newest `KEEP_BACKUPS` of those are kept;
- the write is atomic: a temp file in the same directory, fsync, `os.replace`, fsync of the
  directory; the file mode is kept; a symlink is followed, so its target is replaced, not the link;
- if the file changed on disk while we worked (the client itself saving it), we start over.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clients.errors import ConfigError, InvalidConfigError

KEEP_BACKUPS = 5
BOM = b"\xef\xbb\xbf"
_BACKUP_RE = re.compile(r"\.bak-(\d{8}T\d{6}Z)(?:-(\d+))?")

Document = dict[str, Any]
Mutation = Callable[[Document], None]


@dataclass(frozen=True)
class Snapshot:
    """What `read()` found: the real path (symlinks followed), raw bytes (None: no file), the document."""

    path: Path
    raw: bytes | None
    doc: Document
    indent: int | str = 2
    bom: bool = False


@dataclass(frozen=True)
class EditResult:
    """The outcome of `edit()`: the file written, its backup, whether it changed, the new text."""

    path: Path
    backup: Path | None
    changed: bool
    text: str
    doc: Document = field(default_factory=dict)


def real_path(path: Path) -> Path:
    """The file a write must replace: a symlink's final target (which may not exist yet)."""
    path = Path(os.path.expanduser(path))
    return Path(os.path.realpath(path)) if path.is_symlink() else path.absolute()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400 parses as infinity, which we could only write back as invalid JSON
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _detect_indent(text: str) -> int | str:
    """The indent of the first indented line, so a re-written file looks like the user's."""
    match = re.search(r"\n([ \t]+)\S", text)
    if not match:
        return 2
    unit = match.group(1)
    return "\t" if unit.startswith("\t") else len(unit)


def parse(raw: bytes, path: Path, containers: tuple[str, ...] = ()) -> tuple[Document, int | str, bool]:
    """Parse config bytes strictly; raise InvalidConfigError saying what is wrong and where."""
    bom = raw.startswith(BOM)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidConfigError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                 "it was left untouched.") from None
    if not text.strip():
        return {}, 2, bom
    try:
        doc = json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_reject_constant,
                         parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        hint = (" It seems to hold comments, which plain JSON cannot keep: remove them or add the entry "
                "by hand." if re.search(r"^\s*(//|/\*)", text, re.M) else "")
        raise InvalidConfigError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                                 f"{exc.colno}); it was left untouched.{hint}") from None
    except ValueError as exc:
        raise InvalidConfigError(f"{path} is not valid JSON ({exc}); it was left untouched.") from None
    if not isinstance(doc, dict):
        raise InvalidConfigError(f"{path} holds a JSON {type(doc).__name__}, not an object; "
                                 "it was left untouched.")
    for key in containers:
        if key in doc and not isinstance(doc[key], dict):
            raise InvalidConfigError(f'"{key}" in {path} is not a JSON object; it was left untouched.')
    return doc, _detect_indent(text), bom


def read(path: Path, containers: tuple[str, ...] = ()) -> Snapshot:
    """Read and parse the config at `path` (a missing file is an empty document)."""
    target = real_path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return Snapshot(target, None, {})
    except IsADirectoryError:
        raise ConfigError(f"{target} is a directory, not a config file.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {target}: {exc.strerror or exc}.") from None
    doc, indent, bom = parse(raw, target, containers)
    return Snapshot(target, raw, doc, indent, bom)


def render(doc: Any, indent: int | str | None = 2, bom: bool = False) -> str:
    """The file text for `doc`: pretty JSON (one line with indent=None), non-ASCII kept, a final newline."""
    text = json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"
    return "\ufeff" + text if bom else text


def _fsync_dir(directory: Path) -> None:
    # Without this, a power cut right after os.replace may bring back the old directory entry.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Replace `target` with `data` in one step: temp file beside it, fsync, rename, fsync the dir.

    `owner` (uid, gid) is applied when we may (as root), so `sudo mcp-tray configure` does not
    leave the user with a config file they cannot edit.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            with contextlib.suppress(OSError):  # not every file system lets us set modes
                os.chmod(tmp_name, mode)
            if owner is not None and hasattr(os, "chown") and os.geteuid() == 0:
                with contextlib.suppress(OSError):
                    os.chown(tmp_name, *owner)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(target.parent)


def backups_of(target: Path) -> list[Path]:
    """Our timestamped backups of `target`, oldest first."""
    found = []
    for candidate in target.parent.glob(f"{glob_escape(target.name)}.bak-*"):
        match = _BACKUP_RE.fullmatch(candidate.name[len(target.name):])
        if match and candidate.name.startswith(target.name + ".bak-"):
            found.append(((match.group(1), int(match.group(2) or 0)), candidate))
    return [p for _, p in sorted(found)]


def glob_escape(name: str) -> str:
    """`name` with glob metacharacters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def unique_sibling(target: Path, label: str) -> Path:
    """A new `<target>.<label>-<UTC time>[-N]` beside `target` that sorts after every earlier one.

    N counts up within one second and never reuses a number, even after older backups were pruned.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{target.name}.{label}-{stamp}"
    taken = [0 if p.name == base else int(p.name[len(base) + 1:])
             for p in target.parent.glob(glob_escape(base) + "*")
             if p.name == base or re.fullmatch(re.escape(base) + r"-\d+", p.name)]
    if not taken:
        return target.with_name(base)
    return target.with_name(f"{base}-{max(max(taken), 1) + 1}")


def write_backup(target: Path, raw: bytes, mode: int, owner: tuple[int, int] | None = None) -> Path:
    """Save `raw` (the file as it was) as a new timestamped backup beside `target`; prune old ones."""
    backup = unique_sibling(target, "bak")
    atomic_write(backup, raw, mode, owner)
    for old in backups_of(target)[:-KEEP_BACKUPS]:
        with contextlib.suppress(OSError):
            old.unlink()
    return backup


def _check_writable(target: Path, existed: bool) -> None:
    # A file the user made read-only is a choice: refuse clearly instead of replacing it anyway
    # (os.replace only needs the directory to be writable). os.access also sees immutable files.
    if existed and not os.access(target, os.W_OK):
        raise ConfigError(f"{target} is read-only; make it writable, then try again.")


def edit(path: Path, mutate: Mutation, containers: tuple[str, ...] = (), dry_run: bool = False,
         create: bool = True, attempts: int = 3) -> EditResult:
    """Apply `mutate` to the parsed config at `path` and write the result safely (see module doc).

    With `create=False` a missing file stays missing (removing an entry from nothing).
    """
    for _ in range(attempts):
        snap = read(path, containers)
        doc = copy.deepcopy(snap.doc)  # the mutation may change it freely; snap.doc is the reference
        mutate(doc)
        text = render(doc, snap.indent, snap.bom)
        if snap.raw is None and not create:
            return EditResult(snap.path, None, False, text, doc)
        # Compare rendered text, not dicts: 1 == 1.0 == true in Python, and dicts ignore key order.
        changed = snap.raw is None or text != render(snap.doc, snap.indent, snap.bom)
        if dry_run or not changed:
            return EditResult(snap.path, None, changed, text, doc)
        target = snap.path
        existed = snap.raw is not None
        try:
            _check_writable(target, existed)
            info = target.stat() if existed else None
            mode = stat.S_IMODE(info.st_mode) if info else 0o600
            owner = (info.st_uid, info.st_gid) if info else None
            target.parent.mkdir(parents=True, exist_ok=True)
            if read_raw(target) != snap.raw:
                continue  # someone saved the file meanwhile: redo the merge on their version
            backup = write_backup(target, snap.raw, mode, owner) if snap.raw is not None else None
            try:
                atomic_write(target, text.encode("utf-8"), mode, owner)
            except BaseException:
                if backup is not None:
                    with contextlib.suppress(OSError):
                        backup.unlink()
                raise
        except ConfigError:
            raise
        except OSError as exc:
            raise ConfigError(f"Cannot write {target}: {exc.strerror or exc}.") from None
        return EditResult(target, backup, True, text, doc)
    raise ConfigError(f"{path} kept changing while we tried to update it; close the app that writes it "
                      "and try again.")


def read_raw(target: Path) -> bytes | None:
    """The file's bytes now, or None when it does not exist."""
    try:
        return target.read_bytes()
    except FileNotFoundError:
        return None


def move_aside(path: Path) -> Path:
    """Rename the config (a symlink's target) to `<file>.invalid-<UTC time>`; never pruned."""
    target = real_path(path)
    if not target.exists():
        raise ConfigError(f"{target} does not exist; there is nothing to back up.")
    backup = unique_sibling(target, "invalid")
    try:
        os.rename(target, backup)
    except OSError as exc:
        raise ConfigError(f"Cannot move {target} aside: {exc.strerror or exc}.") from None
    return backup
