"""app/server/pidfile.py: a pid is taken as MCP Tray's only when its command line says so (Linux /proc)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.server import pidfile
from app.server.pidfile import ServerRecord, _looks_like_us
from tests.support.serve import ServeProcess

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/cmdline")


@contextmanager
def _running(argv: list[str]) -> Iterator[int]:
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(10)


@linux
def test_a_real_serve_is_us(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:  # python -m app serve ...
        assert _looks_like_us(serve.proc.pid)
        record = pidfile.read(data_dir)
        assert record is not None and record.pid == serve.proc.pid
        assert pidfile.is_ours(record, lambda port: port == serve.port)


@linux
def test_a_process_started_as_mcp_tray_is_us() -> None:
    # The installed entry point: argv[0] is .../bin/mcp-tray (bash's exec -a sets it, as a launcher would).
    with _running(["bash", "-c", "exec -a /usr/local/bin/mcp-tray sleep 30"]) as pid:
        cmdline = Path(f"/proc/{pid}/cmdline")
        deadline = time.monotonic() + 10
        while not cmdline.read_bytes().startswith(b"/usr/local/bin/mcp-tray\0") and time.monotonic() < deadline:
            time.sleep(0.01)  # until bash has exec'd
        assert _looks_like_us(pid)


@linux
def test_another_program_that_took_the_pid_is_not_us() -> None:
    with _running(["sleep", "30"]) as pid:
        assert not _looks_like_us(pid)
        assert not pidfile.is_ours(ServerRecord(pid=pid, port=1, started_at=0.0), lambda port: True)
    with _running([sys.executable, "-c", "import time; time.sleep(30)", "app"]) as pid:
        assert not _looks_like_us(pid)  # "app" alone, without -m, is somebody else's argument


@linux
def test_a_pid_with_no_process_is_not_us() -> None:
    with _running(["sleep", "30"]) as pid:
        pass
    assert not Path(f"/proc/{pid}").exists()
    assert not _looks_like_us(pid)  # no /proc entry: OSError, not a guess


def test_where_the_system_shows_no_command_line_any_live_pid_is_taken_as_us(monkeypatch: pytest.MonkeyPatch) -> None:
    # macOS and Windows have no /proc: the record's pid and a /health answer on its port decide alone.
    with _running([sys.executable, "-c", "import time; time.sleep(30)"]) as pid:
        monkeypatch.setattr(sys, "platform", "darwin")
        assert _looks_like_us(pid)
