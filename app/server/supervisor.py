"""`serve --workers N`: one supervisor process binds the port once and forks N workers that accept on it.

Why this model (pre-fork, as gunicorn and uvicorn's multiprocess mode do) rather than SO_REUSEPORT:

- the socket is bound by the supervisor through `bind_socket`, so a taken port is the same clear
  error as with one process, reported once, before any worker exists;
- the workers inherit one listening socket and the kernel hands each connection to whichever
  worker calls accept() first: a busy worker takes fewer. SO_REUSEPORT would hash connections
  onto workers regardless of load, would let a stray second server join the group silently, and
  is not the same thing on macOS and Linux;
- fork (not spawn): a worker starts in ~50 ms with every module already imported, and there is
  nothing to pass but the socket. The supervisor never starts a thread, never opens the store
  while it forks, and workers run nothing of the supervisor's stack (they end with os._exit).

The supervisor blocks on signals (sigwait), so it costs nothing while the workers serve:

- SIGCHLD: a worker died (SIGKILL, a crash): it is started again in the same slot. One that dies
  within a few seconds of starting is restarted after a growing pause (up to 10 s), so a broken
  database does not make it spin;
- SIGTERM / SIGINT: passed to every worker, each of which drains (new connections refused, open
  SSE and streamable streams closed cleanly, requests in flight get SHUTDOWN_GRACE seconds); the
  supervisor waits up to STOP_GRACE seconds in all, kills what is left, and exits 0.

POSIX only (fork, sigwait); `serve` refuses `--workers` above 1 elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds from SIGTERM to the last worker gone (then SIGKILL)
READY_TIMEOUT = 30.0  # seconds every worker gets to start serving
QUICK_DEATH = 5.0  # a worker that dies sooner than this after starting is restarted after a pause
MAX_PAUSE = 10.0
_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}

# What a worker runs: (its index, the listening socket, a pipe to say "ready" on or None) -> exit code.
WorkerMain = Callable[[int, socket.socket, int | None], int]


@dataclass
class _Slot:
    index: int
    pid: int = 0
    started: float = 0.0
    quick_deaths: int = 0
    restarts: int = 0


class Supervisor:
    """Run `main` in `count` forked workers on `sock` until SIGTERM / SIGINT."""

    def __init__(self, sock: socket.socket, count: int, main: WorkerMain) -> None:
        self.sock = sock
        self.slots = [_Slot(i) for i in range(count)]
        self.main = main
        self.stopping = False

    def start(self) -> bool:
        """Fork every worker and wait until each says it serves; False (all stopped) if one cannot."""
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # a handler, so SIGCHLD is never discarded
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        pipes = {slot.index: self._fork(slot, want_ready=True) for slot in self.slots}
        waiting = {fd: index for index, fd in pipes.items() if fd is not None}
        deadline = time.monotonic() + READY_TIMEOUT
        ok = True
        while waiting and ok:
            left = deadline - time.monotonic()
            readable, _, _ = select.select(list(waiting), [], [], max(0.0, left))
            if not readable:
                log.error("workers %s did not start within %.0f s", sorted(waiting.values()), READY_TIMEOUT)
                ok = False
            for fd in readable:
                if os.read(fd, 1) != b"r":  # the worker ended before it served
                    log.error("worker %d could not start", waiting[fd])
                    ok = False
                os.close(fd)
                del waiting[fd]
        for fd in waiting:
            os.close(fd)
        if not ok:
            self.stop()
        return ok

    def _fork(self, slot: _Slot, want_ready: bool) -> int | None:
        """Start the worker of `slot`; the read end of its ready pipe (parent side) when wanted."""
        read_fd, write_fd = os.pipe() if want_ready else (None, None)
        pid = os.fork()
        if pid == 0:  # the worker: it never returns into the supervisor's code
            code = 70
            try:
                if read_fd is not None:
                    os.close(read_fd)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
                _die_with_parent()
                code = self.main(slot.index, self.sock, write_fd)
            except BaseException:
                log.exception("worker %d failed", slot.index)
            finally:
                logging.shutdown()
                os._exit(code)
        if write_fd is not None:
            os.close(write_fd)
        slot.pid, slot.started = pid, time.monotonic()
        log.info("worker %d started (pid %d)", slot.index, pid)
        return read_fd

    def run(self) -> int:
        """Serve until told to stop, restarting workers that die; 0 after a clean stop."""
        while True:
            signum = signal.sigwait(_SIGNALS)
            if signum == signal.SIGCHLD:
                for slot in self._reap():
                    self._restart(slot)
                if not self.stopping:
                    continue
                return 0
            log.info("stopping %d worker(s) (%s)", len(self.slots), signal.Signals(signum).name)
            self.stop()
            return 0

    def _reap(self) -> list[_Slot]:
        """Collect every worker that ended; the slots they leave empty."""
        ended: list[_Slot] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return ended
            if pid == 0:
                return ended
            for slot in self.slots:
                if slot.pid == pid:
                    slot.pid = 0
                    ended.append(slot)
                    how = (f"signal {signal.Signals(-os.waitstatus_to_exitcode(status)).name}"
                           if os.WIFSIGNALED(status) else f"exit code {os.waitstatus_to_exitcode(status)}")
                    if not self.stopping:
                        log.warning("worker %d (pid %d) ended with %s; starting it again", slot.index, pid, how)

    def _restart(self, slot: _Slot) -> None:
        if self.stopping:
            return
        if time.monotonic() - slot.started < QUICK_DEATH:
            slot.quick_deaths += 1
            pause = min(MAX_PAUSE, 0.5 * 2 ** (slot.quick_deaths - 1))
            if self._wait_for_stop(pause):
                return
        else:
            slot.quick_deaths = 0
        slot.restarts += 1
        self._fork(slot, want_ready=False)

    def _wait_for_stop(self, seconds: float) -> bool:
        """Pause, unless SIGTERM / SIGINT comes first (then stop every worker and say True)."""
        wait = getattr(signal, "sigtimedwait", None)
        if wait is None:  # macOS: a plain pause; a stop request waits for it to end
            time.sleep(seconds)
            return False
        info = wait({signal.SIGTERM, signal.SIGINT, signal.SIGHUP}, seconds)
        if info is None:
            return False
        self.stop()
        return True

    def stop(self) -> None:
        """SIGTERM every worker, wait up to STOP_GRACE seconds for all of them, SIGKILL the rest."""
        self.stopping = True
        for slot in self.slots:
            if slot.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        wait = getattr(signal, "sigtimedwait", None)
        while any(s.pid for s in self.slots) and time.monotonic() < deadline:
            if wait is not None:
                wait({signal.SIGCHLD}, max(0.01, deadline - time.monotonic()))
            else:
                time.sleep(0.05)
            self._reap()
        for slot in self.slots:
            if slot.pid:
                log.warning("worker %d did not stop within %.0f s; killing it", slot.index, STOP_GRACE)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(slot.pid, 0)
                slot.pid = 0
        self.sock.close()

    def pids(self) -> list[int]:
        """The workers' process ids (0 for a slot being restarted)."""
        return [s.pid for s in self.slots]


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the supervisor itself is killed, so no worker is left behind."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the supervisor died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


def ready(fd: int | None) -> None:
    """Tell the supervisor this worker serves (and close the pipe)."""
    if fd is None:
        return
    with contextlib.suppress(OSError):
        os.write(fd, b"r")
    with contextlib.suppress(OSError):
        os.close(fd)
