"""The tools MCP Tray ships: add (the seed's), now, and the read-only folder tools."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from app.tools.clock import now
from app.tools.file_tools import FileTools
from app.tools.folders import FolderGuard
from app.tools.groups import BASE, FILES, TIME
from app.tools.spec import ToolSpec, make_spec

SOURCE = "built-in"


async def add(a: float, b: float) -> float:
    """Add two numbers and return their sum."""
    # A coroutine, so the SDK runs it on the server's loop: a sum needs no worker thread, and the hop
    # to one and back (which the SDK makes for a plain function) cost more than the rest of the call.
    # `float` makes each argument {"type": "number"} in tools/list, as in the seed (a union became
    # anyOf [integer, number], which the MCP Inspector can only offer as a code editor). A whole sum
    # comes back as an int, so add(2, 3) reads "5" as the seed's JavaScript answer does, not "5.0".
    total = a + b
    return int(total) if float(total).is_integer() and abs(total) < 2**53 else total


def builtin_tools(folders: Callable[[], Sequence[Path]]) -> list[ToolSpec]:
    """The built-in tools; the folder tools read the user's current choice of folders on every call."""
    files = FileTools(FolderGuard(folders))
    return [
        make_spec(add, group=BASE, source=SOURCE, read_only=True),
        make_spec(now, group=TIME, source=SOURCE, read_only=True),
        # They expose the user's files, so they stay off until the user turns them on.
        make_spec(files.list_files, group=FILES, source=SOURCE, default_enabled=False, read_only=True),
        make_spec(files.search_files, group=FILES, source=SOURCE, default_enabled=False, read_only=True),
        make_spec(files.read_file, group=FILES, source=SOURCE, default_enabled=False, read_only=True),
    ]
