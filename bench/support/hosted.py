"""`mcp-tray serve --workers N` as a child process on a PostgreSQL store, for the hosted tests,
the hosted soak (scripts/soak_hosted.py) and `make bench-hosted`."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from app.secrets.signing_key import SIGNING_KEY_ENV
from app.store.db import URL_ENV
from bench.support.serve import REPO, app_command, free_port

_PIDS = re.compile(r"(\d+) workers \(pids ([\d ]+)\), supervisor pid (\d+)")


class HostedServe:
    """`mcp-tray serve --workers N --public-url URL --log-format json` on PostgreSQL, as a subprocess."""

    def __init__(self, data_dir: Path, env: dict[str, str], public_url: str | None, workers: int,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []  # stderr, as it comes
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            app_command("serve", "--port", str(self.port), "--data-dir", str(data_dir), "--workers", str(workers),
                        "--log-format", "json",
                        *(["--public-url", public_url, "--auto-off", "never"] if public_url else [])),
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()
        wanted = [f"MCP server ready at {self.base}/mcp"] + ([f"Public URL ready at {public_url}/mcp"] if public_url
                                                              else [])
        ready = [self.proc.stdout.readline().strip() for _ in wanted]
        if ready != wanted:
            self.proc.kill()
            self.proc.wait(10)
            self._close_pipes()
            raise RuntimeError(f"serve did not start: {ready} {self.text()[-3000:]}")
        found = self.wait_for(lambda: _PIDS.search(self.text()))
        self.workers = [int(p) for p in found.group(2).split()]
        self.supervisor = int(found.group(3))
        assert self.supervisor == self.proc.pid

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, probe: Any, timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"not seen within {timeout} s; stderr: {self.text()[-3000:]}")

    def text(self) -> str:
        """Everything written on stderr so far."""
        with self._lock:
            return "\n".join(self.lines)

    def records(self) -> list[dict[str, Any]]:
        """The JSON log records so far (other lines skipped)."""
        with self._lock:
            lines = list(self.lines)
        found = []
        for line in lines:
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def served(self, method: str, path: str) -> list[dict[str, Any]]:
        """Access-log records of requests for `method path`."""
        return [r for r in self.records() if r.get("logger") == "mcp_tray.access"
                and r.get("request", {}).get("method") == method and r.get("request", {}).get("path") == path]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Signal the supervisor; (exit code, seconds it took)."""
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        took = time.monotonic() - started
        self._close_pipes()
        return code, took

    def _close_pipes(self) -> None:
        self._reader.join(10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def hosted_env(database: str, **extra: str) -> dict[str, str]:
    """The environment of the server and the owner's CLI: the shared database and signing key."""
    return {**os.environ, URL_ENV: database, SIGNING_KEY_ENV: secrets.token_hex(32), **extra}
