"""The read-only folder tools: list_files, search_files, read_file. Every size is bounded."""

from __future__ import annotations

import codecs
import os
import stat
import time
from pathlib import Path
from typing import Any

from app.tools.folders import FolderGuard, PathRefusedError, open_no_follow

MAX_LIST_ENTRIES = 500
MAX_READ_BYTES = 256 * 1024  # per read_file call; larger files are read in pieces with `offset`
DEFAULT_READ_BYTES = 64 * 1024
MAX_SEARCH_RESULTS = 200
MAX_SEARCH_FILES = 20_000  # files looked at per search
MAX_SEARCH_FILE_BYTES = 1024 * 1024  # bigger files are matched by name only
MAX_SEARCH_SECONDS = 10.0
SNIFF_BYTES = 8192


def _is_binary(head: bytes) -> bool:
    return b"\0" in head


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds))


class FileTools:
    """The three folder tools, bound to a FolderGuard (the user's chosen folders)."""

    def __init__(self, guard: FolderGuard) -> None:
        self.guard = guard

    def list_files(self, path: str = "") -> dict[str, Any]:
        """List a shared folder. With no path, list the folders the user shared.

        Paths look like 'Documents/notes', starting with a shared folder's name.
        """
        if not path.strip().strip("/."):
            roots = self.guard.roots()
            if not roots:
                return {"path": "", "entries": [], "note": "No folders are shared yet; the user can add one in "
                        "MCP Tray's Tools tab."}
            return {"path": "", "entries": [{"name": n, "type": "folder"} for n in roots]}
        place = self.guard.resolve(path)
        if not place.real.is_dir():
            raise PathRefusedError(f"{place.shown} is a file, not a folder; use read_file")
        entries: list[dict[str, Any]] = []
        truncated = False
        try:
            with os.scandir(place.real) as it:
                found = sorted(it, key=lambda e: e.name.lower())
        except OSError as exc:
            raise PathRefusedError(f"{place.shown} cannot be listed: {exc.strerror or exc}") from exc
        for entry in found:
            real = FolderGuard.inside(Path(entry.path), place.root)
            if real is None:
                continue  # a symlink that leads out (or nowhere) is not shown
            if len(entries) >= MAX_LIST_ENTRIES:
                truncated = True
                break
            try:
                info = real.stat()
            except OSError:
                continue  # removed while we looked
            is_dir = stat.S_ISDIR(info.st_mode)
            item: dict[str, Any] = {"name": entry.name, "type": "folder" if is_dir else "file"}
            if not is_dir:
                item["size"] = info.st_size
            item["modified"] = _stamp(info.st_mtime)
            entries.append(item)
        return {"path": place.shown, "entries": entries, "truncated": truncated}

    def read_file(self, path: str, offset: int = 0, max_bytes: int = DEFAULT_READ_BYTES) -> dict[str, Any]:
        """Read a text file from a shared folder (UTF-8), up to 256 KB per call; use offset for the rest."""
        if offset < 0 or max_bytes < 1:
            raise PathRefusedError("offset must be 0 or more and max_bytes at least 1")
        max_bytes = min(max_bytes, MAX_READ_BYTES)
        place = self.guard.resolve(path)
        if not place.real.is_file():
            raise PathRefusedError(f"{place.shown} is not a file; use list_files for folders")
        try:
            with os.fdopen(open_no_follow(place.real), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                head = f.read(SNIFF_BYTES)
                f.seek(offset)
                data = f.read(max_bytes)
        except OSError as exc:
            raise PathRefusedError(f"{place.shown} cannot be read: {exc.strerror or exc}") from exc
        if _is_binary(head):
            raise PathRefusedError(f"{place.shown} looks like a binary file; only text files can be read")
        # An incremental decoder keeps a character cut in half at the end for the next call.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = decoder.decode(data, final=offset + len(data) >= size)
        end = offset + len(data) - len(decoder.getstate()[0])
        result: dict[str, Any] = {"path": place.shown, "size": size, "offset": offset,
                                  "text": text}
        if end < size:
            result["next_offset"] = end
        return result

    def search_files(self, query: str, path: str = "", max_results: int = 50) -> dict[str, Any]:
        """Find files in the shared folders whose name or text contains the query (not case sensitive)."""
        needle = query.strip().lower()
        if not needle:
            raise PathRefusedError("query must not be empty")
        max_results = max(1, min(max_results, MAX_SEARCH_RESULTS))
        if path.strip().strip("/."):
            places = [self.guard.resolve(path)]
        else:
            places = [self.guard.resolve(label) for label in self.guard.roots()]
        results: list[dict[str, Any]] = []
        budget = {"files": MAX_SEARCH_FILES, "deadline": time.monotonic() + MAX_SEARCH_SECONDS}
        complete = True
        for place in places:
            if not self._search_in(place.real, place.root, place.shown, needle, results, max_results, budget):
                complete = False
                break
        return {"query": query, "results": results, "complete": complete}

    def _search_in(self, start: Path, root: Path, shown: str, needle: str, results: list[dict[str, Any]],
                   max_results: int, budget: dict[str, Any]) -> bool:
        """Walk without following directory symlinks; False when a limit stopped the search."""
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            dirnames.sort()
            here = Path(dirpath)
            for name in sorted(filenames):
                budget["files"] -= 1
                if budget["files"] < 0 or time.monotonic() > budget["deadline"] or len(results) >= max_results:
                    return False
                real = FolderGuard.inside(here / name, root)
                if real is None or not real.is_file():
                    continue
                rel = (here / name).relative_to(start).as_posix()
                shown_path = f"{shown}/{rel}"
                if needle in name.lower():
                    results.append({"path": shown_path, "match": "name"})
                    continue
                lines = self._matching_lines(real, needle)
                if lines:
                    results.append({"path": shown_path, "match": "text", "lines": lines})
        return True

    @staticmethod
    def _matching_lines(real: Path, needle: str) -> list[dict[str, Any]]:
        try:
            if real.stat().st_size > MAX_SEARCH_FILE_BYTES:
                return []
            with os.fdopen(open_no_follow(real), "rb") as f:
                data = f.read(MAX_SEARCH_FILE_BYTES)
        except OSError:
            return []
        if _is_binary(data[:SNIFF_BYTES]):
            return []
        found = []
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if needle in line.lower():
                found.append({"line": number, "text": line.strip()[:200]})
                if len(found) >= 3:
                    break
        return found
