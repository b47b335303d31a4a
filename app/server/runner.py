"""Run the server in a background thread: uvicorn on a socket we bind ourselves, so a taken port is a clear error.

uvicorn calls sys.exit when it cannot bind, which in a thread just ends the thread quietly. Binding
first turns that into PortInUseError in the caller, with the port in the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from app.auth.oidc_settings import OidcSettings
from app.auth.origins import ServerIdentity, origin_for, parse_proxies
from app.auth.provider import TokenLifetimes
from app.config import Settings
from app.remote.access import RemoteAccess
from app.secrets.keyring_store import Secret
from app.server import pidfile
from app.server.app import build_app, wrap
from app.server.audit_writer import Retention
from app.server.connections import BACKLOG, connection_cap, guarded_protocol, raise_fd_limit
from app.server.hosting import Hosting
from app.server.parts import KeyringSigner, ServerParts, build_parts, extra_hosts
from app.server.port import PortChoice
from app.server.server_state import ServerState

log = logging.getLogger(__name__)

__all__ = ["PortChoice", "PortInUseError", "ServerRunner", "ServerState", "bind_socket"]

SHUTDOWN_GRACE = 2.0  # seconds open streams get before they are closed on stop
TICK = 1.0  # seconds between the server loop's housekeeping wake-ups (uvicorn's own loop wakes every 0.1 s)


class PortInUseError(OSError):
    """The port is taken (often by another MCP Tray)."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or PortInUseError / OSError with a readable message."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted connections only when
    # the socket says it is TCP. Without it every response waited ~40 ms for Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES) or getattr(exc, "winerror", None) == 10048:
            raise PortInUseError(exc.errno, f"port {port} on {host} is already in use") from exc
        raise
    sock.setblocking(False)
    return sock


def bind_unix_socket(path: Path) -> socket.socket:
    """A listening Unix socket at `path` (a stale one from a killed worker is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class QuietServer(uvicorn.Server):
    """uvicorn's Server, waking once a second instead of ten times while idle, and at once when told to stop.

    uvicorn's main loop sleeps 0.1 s between looks at `should_exit`; an idle tray app spent most of
    its CPU there. Each tick here still refreshes the Date header (uvicorn does that once a second).
    """

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        """Tick until asked to exit."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not await self.on_tick(0):  # counter 0: uvicorn refreshes its headers on this tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK)

    def request_exit(self) -> None:
        """From any thread: stop serving, without waiting for the next tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(wake.set)


class ServerRunner:
    """One server: start it, wait until it accepts connections, stop it; safe to call from any thread.

    A thread wrapper around parts built by `build_parts` (given, or built here from the settings).
    The port, the settings and the state are read and written under one lock: the worker that
    starts the server sets the bound port while the GUI reads it for display.
    """

    def __init__(self, data_dir: Path, host: str, port: int | PortChoice, settings: Settings | None = None,
                 secret: Secret | None = None, pid_file: bool = False, parts: ServerParts | None = None,
                 database: str | None = None, hosting: Hosting | None = None,
                 listen: socket.socket | None = None) -> None:
        self.data_dir = data_dir
        self._listen = listen  # a socket bound by the supervisor (serve --workers): start() binds none
        self.pid_file = pid_file  # write server.pid while serving (serve and the tray app: `mcp-tray panic`)
        self.host = host
        self._lock = threading.Lock()
        self._choice = port if isinstance(port, PortChoice) else PortChoice(port)
        self._port = self._choice.port
        if parts is None:
            parts = build_parts(settings or Settings.load(data_dir), data_dir, host=host, port=self._port,
                                secret=secret, database=database, hosting=hosting)
        self.parts: ServerParts | None = parts  # None once closed
        self._settings = parts.settings
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._state = ServerState.STOPPED
        self.error: str | None = None
        self.tools = parts.tools  # outlives restarts; the GUI's Tools tab uses it while stopped
        self.approval_events = parts.approvals  # outlives restarts too: the tray subscribes once
        # The public way in (closed until remote access starts); outlives restarts like the tools.
        self.public = parts.public
        self.remote = RemoteAccess(self.public, lambda: self.parts.store if self.parts is not None else None)
        self.held = parts.held  # calls waiting for the owner; outlives restarts so the tray's prompt stays wired
        self.scope_listeners = parts.scope_listeners  # "give this client access?" offers
        self._signer = parts.signer
        # Called on the server thread as it ends (asked to or not), so a watcher needs no polling.
        self.on_thread_end: Callable[[], None] | None = None

    @property
    def secret(self) -> Secret:
        """The consent-signing key, loaded from the keyring once (on the thread that first asks)."""
        return self.load_signing_key()

    def load_signing_key(self) -> Secret:
        """Read the consent-signing key now if it is not read yet (the keyring may be slow, or missing).

        Otherwise the first sign-in reads it, and a missing keyring would only show then.
        """
        signer = self._signer
        if isinstance(signer, KeyringSigner):
            return signer.load()
        return Secret(b"", persistent=True)  # a signer given with its key: nothing to load

    @property
    def oidc(self) -> OidcSettings | None:
        """Hosted mode's OpenID Connect approvers (serve --oidc-issuer), None on the desk."""
        return self.parts.oidc if self.parts is not None else None

    @oidc.setter
    def oidc(self, value: OidcSettings | None) -> None:
        if self.parts is not None:
            self.parts.oidc = value

    @property
    def hosting(self) -> Hosting:
        """This process's part in `serve --workers N` (one process: the defaults)."""
        return self.parts.hosting if self.parts is not None else Hosting()

    @property
    def settings(self) -> Settings:
        """The settings the server runs with."""
        with self._lock:
            return self._settings

    @property
    def port_choice(self) -> PortChoice:
        """The port in use (bound, else asked for) and where it came from (--port, environment, settings)."""
        with self._lock:
            return PortChoice(self._port, self._choice.source) if self._port else self._choice

    @property
    def requested_port(self) -> int:
        """The port the next start binds (0: any free one)."""
        with self._lock:
            return self._choice.port

    @property
    def port(self) -> int:
        """The port bound (while running), else the one asked for."""
        with self._lock:
            return self._port

    @property
    def state(self) -> ServerState:
        """Running, stopped, starting or error (the thread died, or never bound)."""
        with self._lock:
            if self._state is ServerState.RUNNING and self._thread is not None and not self._thread.is_alive():
                self._state = ServerState.ERROR
                self.error = self.error or "the server stopped unexpectedly"
            return self._state

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (a loopback name even when bound to all interfaces)."""
        name = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        return origin_for(name, self.port)

    @property
    def mcp_url(self) -> str:
        """The streamable-HTTP endpoint."""
        return f"{self.base_url}/mcp"

    def reconfigure(self, settings: Settings, port: PortChoice | None = None) -> None:
        """Apply saved settings: what needs no restart at once; a new port or lifetimes at the next start."""
        with self._lock:
            self._settings = settings
            if port is not None:
                self._choice = port
                if self._state is not ServerState.RUNNING:
                    self._port = port.port
            parts = self.parts
            if parts is not None:
                parts.settings = settings
                parts.lifetimes = TokenLifetimes(settings.access_token_ttl, settings.refresh_token_ttl)
                if parts.audit is not None:
                    parts.audit.retention = Retention(settings.audit_max_days, settings.audit_max_rows)
            self.public.trusted = parse_proxies(settings.trusted_proxies)

    def start(self) -> None:
        """Bind and start serving in a thread; raises PortInUseError or OSError when it cannot bind."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            parts = self.parts
            if parts is None:
                raise RuntimeError("the server was closed")
            self._state = ServerState.STARTING
            self.error = None
            requested = self._choice.port
        try:
            sock = self._listen if self._listen is not None else bind_socket(self.host, requested)
            self._listen = None  # uvicorn closes it when it stops; a later start binds afresh
        except OSError as exc:
            with self._lock:
                self._state = ServerState.ERROR
                self.error = str(exc.strerror if isinstance(exc, PortInUseError) else exc)
            raise
        with self._lock:
            self._port = sock.getsockname()[1]
            parts.identity = ServerIdentity(self._port, extra_hosts(self.host))
        cap = connection_cap(raise_fd_limit())
        config = uvicorn.Config(
            wrap(build_app(parts), parts),
            http=guarded_protocol(cap),  # a deadline for request heads, and room for real clients
            backlog=BACKLOG,  # asyncio re-listens with this; it bounds one accept() batch too
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE),
            server_header=False,
            # The guard reads Forwarded / X-Forwarded-* itself, from trusted proxies only; uvicorn's
            # own handling would rewrite the peer address before the guard could check it.
            proxy_headers=False,
        )
        server = QuietServer(config)
        self._server = server
        parts.stats.started_at = time.time()
        sockets = [sock]
        relay = parts.hosting.relay_socket(parts.hosting.index)
        if relay is not None:  # another worker passes this one's SSE posts here (app/server/sse_relay.py)
            sockets.append(bind_unix_socket(relay))
        thread = threading.Thread(target=self._serve, args=(server, sockets), name="mcp-server", daemon=True)
        self._thread = thread
        thread.start()

    def _serve(self, server: QuietServer, sockets: list[socket.socket]) -> None:
        try:
            server.run(sockets=sockets)
        except BaseException as exc:
            log.exception("server thread ended with an error")
            with self._lock:
                self.error = f"{type(exc).__name__}: {exc}"
                self._state = ServerState.ERROR
        finally:
            for sock in sockets:
                sock.close()
            with self._lock:
                if self._state is not ServerState.ERROR:
                    self._state = ServerState.STOPPED
            hook = self.on_thread_end
            if hook is not None:
                hook()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Block until the server accepts connections (True), or it failed / timed out (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server, thread = self._server, self._thread
            if server is not None and server.started:
                with self._lock:
                    if self._state is ServerState.STARTING:
                        self._state = ServerState.RUNNING
                if self.pid_file:
                    pidfile.write(self.data_dir, self.port)
                return True
            if thread is None or not thread.is_alive():
                return False
            time.sleep(0.01)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to stop and wait for its thread (open streams get SHUTDOWN_GRACE seconds)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # The ingress goes with the server; its grants stay until the owner stops remote access.
        self.remote.stop("the server stopped", revoke=False)
        if self.pid_file:
            pidfile.remove(self.data_dir)
        if self.parts is not None:
            # Let open streams end cleanly first (the revocation watcher closes them within ~0.5 s).
            live = self.parts.live
            live.closing.set()
            deadline = time.monotonic() + 1.0
            while live.count() and time.monotonic() < deadline and thread.is_alive():
                time.sleep(0.02)
        server.request_exit()
        thread.join(timeout)
        if self.parts is not None:
            self.parts.live.closing.clear()
        if thread.is_alive():
            server.force_exit = True
            thread.join(2.0)
        with self._lock:
            self._state = ServerState.STOPPED
            self._server = None
            self._thread = None

    def close(self) -> None:
        """Stop and release the store."""
        self.stop()
        if self.parts is not None:
            self.parts.store.close()
            self.parts = None
