"""Child processes and polling for the bundle smoke test (scripts/bundle_smoke.py)."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import httpx

from bench.support.serve import free_port

__all__ = ["Reader", "SmokeFailure", "free_port", "health", "ok", "started", "wait_until"]

T = TypeVar("T")


class SmokeFailure(RuntimeError):
    """A check failed."""


def ok(message: str) -> None:
    """Report a passed check."""
    print(f"bundle-smoke: ok   {message}", flush=True)


class Reader(threading.Thread):
    """Collects a pipe's lines in the background so the child never blocks on a full pipe."""

    def __init__(self, stream: Iterable[str]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[str] = []

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """The first line matching pattern, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := pattern.search(line):
                    return match
            time.sleep(0.05)
        return None


@contextmanager
def started(
    command: list[str], env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], Reader, Reader]]:
    """A child with its output collected; stopped with SIGTERM (then SIGKILL) at the end."""
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None and child.stderr is not None  # both are pipes
    out, err = Reader(child.stdout), Reader(child.stderr)
    out.start()
    err.start()
    try:
        yield child, out, err
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        out.join(2)
        err.join(2)


def health(port: int) -> bool:
    """True when the server on this port answers /health."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], T | None], timeout: float, failure: str) -> T:
    """condition()'s first truthy value, polling for up to timeout seconds; else SmokeFailure(failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise SmokeFailure(failure)
