"""`python -m app serve` as a subprocess, for tests of the command line and of restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support import owner

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_command(*args: str) -> list[str]:
    """`python -m app ARGS` with this interpreter."""
    return [sys.executable, "-m", "app", *args]


class ServeProcess:
    """A running `mcp-tray serve`; `stop()` sends SIGTERM and returns the exit code."""

    def __init__(self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None,
                 database: str | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        where = ["--data-dir", str(data_dir), *(["--database", database] if database else [])]
        self.proc = subprocess.Popen(
            app_command("serve", "--port", str(self.port), *where),
            cwd=REPO, env=env if env is not None else os.environ.copy(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        owner.remember(self.port, data_dir, database)
        self.ready_line = self.proc.stdout.readline().strip()
        if not self.ready_line.startswith("MCP server ready at"):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(f"serve did not start: {self.ready_line!r} {err}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, str]:
        """Signal the server and wait; returns (exit code, stderr)."""
        start = time.monotonic()
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=timeout)
        self.stop_seconds = time.monotonic() - start
        return self.proc.returncode, err

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)
