"""`python -m app serve` as a real child process, for tests that kill it."""

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
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServeProcess:
    """The headless server in a subprocess (cwd = repo root), started and waited for."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = (data_dir.parent / f"serve-{port}-{time.time_ns()}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, **(env or {})},
        )
        assert self.proc.stdout is not None
        owner.remember(port, data_dir)
        line = self.proc.stdout.readline()  # the ready line, or "" if it died
        if "ready" not in line:
            self.kill()
            raise RuntimeError(f"serve did not start: {line!r}; see {self.log.name}")

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def kill(self) -> None:
        """kill -9, and reap it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._close_files()

    def stop(self) -> int:
        """SIGTERM (a clean stop); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(20)
        self._close_files()
        return code

    def _close_files(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()
