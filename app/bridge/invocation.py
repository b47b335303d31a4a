"""How another program (Claude Desktop) starts the bridge: absolute paths, since desktop apps lack the shell's PATH."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit


def bridge_command(url: str) -> tuple[str, list[str]]:
    """(command, args) for a client config: the frozen executable, or this Python with `-m app`."""
    if getattr(sys, "frozen", False):
        return str(Path(sys.executable).resolve()), ["bridge", url]
    return str(Path(sys.executable).absolute()), ["-m", "app", "bridge", url]


def valid_url(url: str) -> str | None:
    """None for an http(s) URL with a host, else what is wrong with it.

    Here, not in app.commands: the quick bridge start checks its URL without importing any command
    module (importing app.commands loads all of them, and some load the whole server).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url!r}"
    return None
