"""The GUI's handle on the ServerRunner: start, stop and restart off the GUI thread; state as signals.

The runner's server thread never touches Qt. Nothing here polls: the start, stop and restart jobs
report when they finish, and the runner calls back from its server thread as that thread ends; that
call crosses to the GUI thread as a queued signal, which is how a server that died on its own reaches
the tray as a notification instead of a silent dead thread.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.config import Settings
from app.remote.access import RemoteStatus
from app.remote.ingress import Ingress
from app.server.port import PortChoice
from app.server.runner import PortInUseError, ServerRunner, ServerState
from app.server.stats import StatsSnapshot
from app.ui.tasks import run_task

log = logging.getLogger(__name__)

READY_TIMEOUT = 15.0


def _is_mcp_tray(host: str, port: int) -> bool:
    """Whether an MCP Tray answers /health on this port (called on a worker thread)."""
    name = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a loopback probe
    try:
        with urllib.request.urlopen(f"http://{name}:{port}/health", timeout=1.5) as response:
            return bool(json.loads(response.read(4096)).get("name") == "mcp-tray")
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class ServerStatus:
    """What the status panel and the tray show, read without blocking."""

    state: ServerState
    busy: bool
    url: str | None
    base_url: str | None
    port: int
    port_choice: PortChoice  # the port asked for and its source (--port, environment, settings)
    error: str | None
    stats: StatsSnapshot | None
    open_connections: int
    keyring_problem: str | None
    remote: RemoteStatus | None = None


class ServerController(QObject):
    """Starts and stops the server on a worker thread and reports what happens."""

    changed = Signal()  # anything in status() may differ
    start_failed = Signal(str, bool)  # message, the port was taken
    stopped_unexpectedly = Signal(str)
    remote_failed = Signal(str)  # remote access could not start: why, and what to do
    remote_ended = Signal(str)  # remote access went off without the owner asking (its end time)
    _thread_ended = Signal()  # emitted on the server thread; delivered queued on the GUI thread
    _remote_changed = Signal()  # emitted on whichever thread changed remote access; queued here

    def __init__(self, runner: ServerRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # start, stop and restart never overlap
        self._busy = False
        self._keyring_problem: str | None = None
        self._last: ServerState = runner.state
        self._last_remote = runner.remote.status()
        self._remote_stopping = False
        self._thread_ended.connect(self._poll)
        runner.on_thread_end = self._server_thread_ended
        self._remote_changed.connect(self._poll)
        # Remote access reports its changes (its end time fires on a timer thread): no polling.
        runner.remote.subscribe(lambda _status: self._emit_queued(self._remote_changed))

    def _server_thread_ended(self) -> None:
        """On the server thread: hand over to the GUI thread (a no-op once this object is gone)."""
        try:
            self._thread_ended.emit()
        except RuntimeError:  # the Qt object was deleted at quit
            log.debug("server thread ended after the controller")

    def _emit_queued(self, signal: Any) -> None:
        try:
            signal.emit()
        except RuntimeError:  # the Qt object was deleted at quit
            log.debug("remote access changed after the controller")

    @property
    def busy(self) -> bool:
        """True while a start, stop or restart is under way."""
        return self._busy

    def status(self) -> ServerStatus:
        """A snapshot for display; only takes the runner's and the counters' locks."""
        runner = self.runner
        state = runner.state
        parts = runner.parts
        running = state is ServerState.RUNNING
        return ServerStatus(
            state=state,
            busy=self._busy,
            url=runner.mcp_url if running else None,
            base_url=runner.base_url if running else None,
            port=runner.port if running else runner.requested_port,
            port_choice=runner.port_choice,
            error=runner.error,
            stats=parts.stats.snapshot() if parts is not None else None,
            open_connections=parts.live.count() if parts is not None and running else 0,
            keyring_problem=self._keyring_problem,
            remote=runner.remote.status(),
        )

    def _poll(self) -> None:
        """Compare the runner's state with the last one seen; announce a change."""
        remote = self.runner.remote.status()
        if remote != self._last_remote:
            was_on, self._last_remote = self._last_remote.on, remote
            if was_on and not remote.on and not self._remote_stopping and not self._busy:
                self.remote_ended.emit("Remote access turned itself off; remote sign-ins were revoked.")
            self.changed.emit()
        state = self.runner.state
        if state is self._last:
            return
        previous, self._last = self._last, state
        self.changed.emit()
        # Nobody asked it to stop: the thread ended on its own (crash, or uvicorn gave up).
        ended = state in (ServerState.ERROR, ServerState.STOPPED)
        if ended and previous is ServerState.RUNNING and not self._busy:
            message = self.runner.error or "its thread ended without being asked to"
            log.error("server stopped unexpectedly: %s", message)
            self.stopped_unexpectedly.emit(message)

    def _run(self, job: object) -> None:
        self._busy = True
        self.changed.emit()
        run_task(self._pool, job, self._finished, self._failed, self)  # type: ignore[arg-type]

    def _start_and_wait(self) -> None:
        try:
            self.runner.start()
        except PortInUseError as exc:
            if _is_mcp_tray(self.runner.host, self.runner.requested_port):
                raise PortInUseError(
                    exc.errno,
                    f"port {self.runner.requested_port} is used by another MCP Tray "
                    "(one with a different data dir)",
                ) from exc
            raise
        secret = self.runner.secret  # loaded by start(), on this worker thread: the keyring may be slow
        self._keyring_problem = None if secret.persistent else (secret.problem or "no OS keyring")
        if not self.runner.wait_ready(READY_TIMEOUT):
            raise RuntimeError(self.runner.error or "the server did not start in time")

    def start(self) -> None:
        """Start serving (no-op while busy or running)."""
        if self._busy or self.runner.state is ServerState.RUNNING:
            return
        self._run(self._start_and_wait)

    def stop(self) -> None:
        """Stop serving; open streams get the runner's grace period."""
        if self._busy:
            return
        self._run(self.runner.stop)

    def restart(self, settings: Settings, port: PortChoice) -> None:
        """Apply new settings: stop, reconfigure the runner with them, start on `port`."""
        if self._busy:
            return
        # A server that failed (say its port was taken) is started again: that is why the user changed it.
        should_start = self.runner.state is not ServerState.STOPPED

        def job() -> None:
            self.runner.stop()
            self.runner.reconfigure(settings, port)  # new token lifetimes apply to the next tokens
            if should_start:
                self._start_and_wait()

        self._run(job)

    def start_remote(self, ingress: Ingress, auto_off: str) -> None:
        """Turn remote access on through `ingress` (the server must be running)."""
        if self._busy:
            return
        if self.runner.state is not ServerState.RUNNING:
            self.remote_failed.emit("Start the server first; remote access reaches the running server.")
            return

        def job() -> None:
            self.runner.remote.start(ingress, self.runner.base_url, auto_off)

        self._busy = True
        self.changed.emit()
        run_task(self._pool, job, self._finished, self._remote_start_failed, self)

    def stop_remote(self, reason: str = "remote access stopped by the owner") -> None:
        """Close the public URL and the ingress, and revoke remote sign-ins."""
        self._remote_stopping = True

        def job() -> None:
            self.runner.remote.stop(reason)

        def done(_: object) -> None:
            self._remote_stopping = False
            self._finished(None)

        self._busy = True
        self.changed.emit()
        run_task(self._pool, job, done, self._failed, self)

    def _remote_start_failed(self, exc: Exception) -> None:
        self._busy = False
        self._last_remote = self.runner.remote.status()
        self.changed.emit()
        self.remote_failed.emit(str(exc))

    def _finished(self, _result: object) -> None:
        self._busy = False
        self._last = self.runner.state
        if self._last is ServerState.RUNNING:
            log.info("MCP server ready at %s", self.runner.mcp_url)
        else:
            log.info("MCP server %s", self._last.value)
        self.changed.emit()

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        self._last = self.runner.state
        in_use = isinstance(exc, PortInUseError)
        message = exc.strerror if isinstance(exc, PortInUseError) and exc.strerror else str(exc)
        log.warning("server could not start: %s", message)
        self.changed.emit()
        self.start_failed.emit(str(message), in_use)

    def shutdown(self, timeout_ms: int = 8000) -> None:
        """At quit: wait for a start/stop in progress, then stop the server and close the store."""
        self._pool.waitForDone(timeout_ms)
        if self.runner.on_thread_end == self._server_thread_ended:
            self.runner.on_thread_end = None
        self.runner.close()
