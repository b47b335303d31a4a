"""How another program (Claude Desktop) starts the bridge: absolute paths, since desktop apps lack the shell's PATH."""

from __future__ import annotations

import sys
from pathlib import Path


def bridge_command(url: str) -> tuple[str, list[str]]:
    """(command, args) for a client config: the frozen executable, or this Python with `-m app`."""
    if getattr(sys, "frozen", False):
        return str(Path(sys.executable).resolve()), ["bridge", url]
    return str(Path(sys.executable).absolute()), ["-m", "app", "bridge", url]
