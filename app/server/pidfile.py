"""The running server's pid file in the data dir, so `mcp-tray panic` in another process can stop it.

`serve` and the tray app write it once they listen, and remove it when they stop. Before anyone
signals the process it names, `is_ours` checks that the process is alive, looks like MCP Tray
(its command line, where the system shows it), and answers /health as mcp-tray on the recorded port,
so a stale file whose pid was reused by another program is never acted on.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.config import read_json_object, write_json_atomically

log = logging.getLogger(__name__)

FILE_NAME = "server.pid"


@dataclass(frozen=True)
class ServerRecord:
    """What the pid file says."""

    pid: int
    port: int
    started_at: float


def write(data_dir: Path, port: int) -> None:
    """Record this process as the data dir's running server."""
    try:
        write_json_atomically(data_dir / FILE_NAME, asdict(ServerRecord(os.getpid(), port, time.time())))
    except OSError as exc:
        log.warning("could not write the pid file: %s", exc)


def read(data_dir: Path) -> ServerRecord | None:
    """The record, or None when there is none (or it is damaged)."""
    raw = read_json_object(data_dir / FILE_NAME)
    if raw is None:
        return None
    pid, port, started = raw.get("pid"), raw.get("port"), raw.get("started_at")
    if not isinstance(pid, int) or not isinstance(port, int) or not isinstance(started, int | float):
        return None
    return ServerRecord(pid, port, float(started))


def remove(data_dir: Path) -> None:
    """Remove the file if it names this process."""
    record = read(data_dir)
    if record is not None and record.pid == os.getpid():
        try:
            (data_dir / FILE_NAME).unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours
    try:  # an exited process its parent has not reaped yet (a zombie) is gone for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _looks_like_us(pid: int) -> bool:
    """The process's command line names MCP Tray (where the system shows it; elsewhere, assume so)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not sys.platform.startswith("linux"):
        return True
    try:
        args = [a for a in cmdline.read_bytes().decode(errors="replace").split("\0") if a]
    except OSError:
        return False
    names = {Path(a).name.lower() for a in args}
    return bool(names & {"mcp-tray", "mcp-tray.exe"}) or any(
        args[i] == "-m" and args[i + 1] == "app" for i in range(len(args) - 1))


def is_ours(record: ServerRecord, answers_health: Callable[[int], bool]) -> bool:
    """True when the record names a live MCP Tray server other than this process.

    `answers_health(port)` asks /health on that port (the caller's HTTP client: the server itself
    makes no outbound requests).
    """
    return (record.pid != os.getpid() and _alive(record.pid) and _looks_like_us(record.pid)
            and answers_health(record.port))


def stop(record: ServerRecord, timeout: float = 15.0) -> bool:
    """SIGTERM the server and wait for it to exit; True when it did."""
    try:
        os.kill(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(record.pid):
            return True
        time.sleep(0.05)
    return False


def describe(record: ServerRecord) -> str:
    """One line for messages."""
    return json.dumps(asdict(record))
