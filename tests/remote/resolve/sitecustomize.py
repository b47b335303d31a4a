"""Test only (this directory on PYTHONPATH): the names in $MCP_TRAY_TEST_RESOLVE resolve to 127.0.0.1.

Python subprocesses of the tests (the consent-approving stand-in browser mcp-remote starts, the
benchmark) reach a local proxy under a public-looking name this way, with no hosts-file change.
"""

from __future__ import annotations

import os
import socket

_NAMES = {n.strip().lower() for n in os.environ.get("MCP_TRAY_TEST_RESOLVE", "").split(",") if n.strip()}
_original = socket.getaddrinfo


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]  # socket's own
    name = host.decode() if isinstance(host, bytes) else host  # anyio passes IDNA-encoded bytes
    if isinstance(name, str) and name.lower() in _NAMES:
        host = "127.0.0.1"
    return _original(host, port, family, type, proto, flags)


if _NAMES:
    socket.getaddrinfo = _getaddrinfo
