"""Run the owner's tunnel program (`cloudflared`, `tailscale`) as a child process and read what it says.

The program's output is read line by line on one thread (blocked in `readline`, not polling);
each adapter decides from the lines when it is up (and at which URL) or why it failed.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable

from app.auth.origins import PublicOrigin
from app.remote.ingress import IngressError

log = logging.getLogger(__name__)

START_TIMEOUT = 45.0  # seconds a tunnel may take to come up
OFFLINE_WORDS = ("no such host", "network is unreachable", "i/o timeout", "connection refused",
                 "temporary failure in name resolution", "dial tcp")


class Verdict:
    """What one output line means: still waiting (None from `read`), up at a URL, or a failure."""

    def __init__(self, origin: PublicOrigin | None = None, error: IngressError | None = None) -> None:
        self.origin = origin
        self.error = error


class ProgramIngress:
    """Base for adapters over a program: subclasses give `argv`, `read(line)` and install hints."""

    name = "program"
    program = ""
    install_hint = ""
    warning = ""
    stop_signal = signal.SIGTERM

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self.output: list[str] = []  # everything it printed, for error messages and the log
        self.on_lost: Callable[[str], None] | None = None  # set by RemoteAccess: the program ended

    def argv(self, executable: str, local_url: str) -> list[str]:
        """The command line."""
        raise NotImplementedError

    def read(self, line: str) -> Verdict | None:
        """What a line of output says (None: nothing decisive)."""
        raise NotImplementedError

    def exited(self, code: int) -> IngressError:
        """Why the program ended before it was up."""
        tail = " | ".join(self.output[-3:]) or "no output"
        if any(w in tail.lower() for w in OFFLINE_WORDS):
            return IngressError(f"{self.program} could not reach its service ({tail}). Is this computer online?",
                                kind="offline")
        return IngressError(f"{self.program} exited with code {code}: {tail}")

    def start(self, local_url: str) -> PublicOrigin:
        """Run the program and wait until it says it is up; IngressError otherwise."""
        executable = shutil.which(self.program)
        if executable is None:
            raise IngressError(f"The {self.program} program was not found on PATH.", kind="missing_program",
                               hint=self.install_hint)
        argv = self.argv(executable, local_url)
        log.info("starting %s", " ".join(argv))
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, bufsize=1,
                                    start_new_session=os.name == "posix")
        except OSError as exc:
            raise IngressError(f"{self.program} could not be started: {exc}", kind="missing_program",
                               hint=self.install_hint) from exc
        self._proc = proc
        self._reader = threading.Thread(target=self._pump, args=(proc,), name=f"{self.program}-output", daemon=True)
        self._reader.start()
        try:
            return self._wait_up(proc)
        except IngressError:
            self.stop()
            raise

    def _wait_up(self, proc: subprocess.Popen[str]) -> PublicOrigin:
        while True:
            try:
                line = self._lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                raise IngressError(f"{self.program} did not come up within {START_TIMEOUT:.0f} s: "
                                   + (" | ".join(self.output[-3:]) or "no output"), kind="offline") from None
            if line is None:
                raise self.exited(proc.wait())
            verdict = self.read(line)
            if verdict is not None and verdict.error is not None:
                raise verdict.error
            if verdict is not None and verdict.origin is not None:
                return verdict.origin

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for raw in proc.stdout:
                line = raw.rstrip()
                self.output = [*self.output[-50:], line]
                log.debug("%s: %s", self.program, line)
                self._lines.put(line)
        self._lines.put(None)
        code = proc.wait()
        if self._proc is proc and self.on_lost is not None:  # it ended while we still relied on it
            self.on_lost(f"{self.program} exited with code {code}")

    def stop(self) -> None:
        """Stop the program (its own clean stop first, then kill)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(self.stop_signal)
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(5)  # it has read the last line and closed the pipe
