"""`serve --workers N`: the checks, the supervisor (app/server/supervisor.py) and what each worker runs.

Several workers need a PostgreSQL store. SQLite is refused, not merely discouraged: its WAL would
let the processes share the file, but every write takes one lock on that file (the workers would
queue on it), and what the desk server keeps in memory for one process (the rate-limit buckets,
the revocation watcher's polling) would be per worker. A desk needs one process; a server that
needs more gets the database made for it.

The workers share what must be shared through the store and the environment: the signing key
comes from $MCP_TRAY_SIGNING_KEY or --signing-key-file (refused without one: each worker would
otherwise make up its own and reject the others' links), never from a desktop keyring.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands.serve import (
    HostedOptions,
    RemoteOptions,
    StopSignal,
    _start_remote,
    announce_approvals,
    announce_held_calls,
)
from app.config import Settings
from app.secrets.keyring_store import Secret
from app.secrets.signing_key import SIGNING_KEY_ENV
from app.store.db import URL_ENV, database_url

if TYPE_CHECKING:
    from app.auth.oidc_settings import OidcSettings


def workers_problem(remote: RemoteOptions, hosted: HostedOptions, secret: Secret | None) -> str | None:
    """Why these options cannot run several workers, or None."""
    if os.name != "posix" or not hasattr(os, "fork"):
        return "--workers above 1 needs a POSIX system (Linux, macOS); run one worker per service instead"
    if database_url(hosted.database) is None:
        return ("--workers above 1 needs a PostgreSQL store (--database postgresql://...): with the SQLite file "
                "every write waits on one lock and rate limits would be per worker")
    if remote.ingress not in (None, "proxy"):
        return (f"--ingress {remote.ingress} runs one tunnel per process; with --workers, put your reverse "
                "proxy in front and pass --public-url")
    if secret is None:
        return (f"every worker must sign consent links with the same key: set ${SIGNING_KEY_ENV} or pass "
                "--signing-key-file (make one with: openssl rand -hex 32)")
    return None


def run_workers(data_dir: Path, host: str, port: int, remote: RemoteOptions, hosted: HostedOptions,
                secret: Secret | None, oidc: OidcSettings | None = None) -> int:
    """Bind, fork the workers, print the ready lines, supervise until SIGTERM; the exit code."""
    from app.auth.origins import parse_proxies, parse_public_url
    from app.server import pidfile
    from app.server.app import housekeeping
    from app.server.runner import PortInUseError, bind_socket
    from app.server.supervisor import Supervisor
    from app.store.store import Store

    problem = workers_problem(remote, hosted, secret)
    if problem is not None:
        print(f"mcp-tray: {problem}", file=sys.stderr)
        return 2
    assert secret is not None
    try:
        sock = bind_socket(host, port)
    except PortInUseError as exc:
        print(f"mcp-tray: cannot start: {exc.strerror}. Stop the other server or pick another port "
              "with --port.", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mcp-tray: cannot start on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    if hosted.database:
        os.environ[URL_ENV] = hosted.database  # the workers' stores (and the CLI hints) use it
    try:
        store = Store(data_dir)  # once, before any worker: nothing else serves this store yet
        try:
            housekeeping(store)
        finally:
            store.close()  # its pool's threads end here: the supervisor forks with none running
    except Exception as exc:
        sock.close()
        print(f"mcp-tray: cannot use the store: {exc}", file=sys.stderr)
        return 1
    relay_dir = Path(tempfile.mkdtemp(prefix="mcp-tray-relay-"))  # 0700, for the workers' private sockets
    settings = Settings.load(data_dir)
    run_settings = remote.apply(settings)

    def main(index: int, listen: socket.socket, ready_fd: int | None) -> int:
        return _worker(index, listen, ready_fd, data_dir, host, port, remote, hosted, secret, run_settings,
                       relay_dir, oidc)

    supervisor = Supervisor(sock, hosted.workers, main)
    try:
        if not supervisor.start():
            print("mcp-tray: the workers did not start; see the log above", file=sys.stderr)
            return 1
        pidfile.write(data_dir, port)
        name = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        base = f"http://{'[' + name + ']' if ':' in name else name}:{port}"
        print(f"MCP server ready at {base}/mcp", flush=True)
        print(f"  {hosted.workers} workers (pids {' '.join(map(str, supervisor.pids()))}), supervisor pid "
              f"{os.getpid()}; legacy SSE endpoint: {base}/sse", file=sys.stderr, flush=True)
        if remote.public_url:
            print(f"Public URL ready at {parse_public_url(remote.public_url).origin}/mcp", flush=True)
            print("  accepted only from " + ", ".join(str(n) for n in parse_proxies(run_settings.trusted_proxies))
                  + ", over HTTPS", file=sys.stderr, flush=True)
        return supervisor.run()
    finally:
        pidfile.remove(data_dir)
        shutil.rmtree(relay_dir, ignore_errors=True)


def _worker(index: int, listen: socket.socket, ready_fd: int | None, data_dir: Path, host: str, port: int,
            remote: RemoteOptions, hosted: HostedOptions, secret: Secret, settings: Settings,
            relay_dir: Path, oidc: OidcSettings | None = None) -> int:
    """One worker: serve on the inherited socket until SIGTERM, then drain and stop."""
    from app.auth.origins import parse_proxies
    from app.server.hosting import Hosting
    from app.server.runner import ServerRunner, ServerState
    from app.server.supervisor import ready

    stop = StopSignal()  # SIGTERM / SIGINT from the supervisor, or the server thread ending
    # Stateless streamable HTTP ends a transport per request, and the SDK logs each at INFO.
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
    hosting = Hosting(workers=hosted.workers, index=index, access_log=hosted.json_logs, window=False,
                      housekeeping=False, relay_dir=relay_dir)
    runner = ServerRunner(data_dir, host, port, Settings.load(data_dir), secret=secret, database=database_url(),
                          hosting=hosting, listen=listen)
    runner.public.trusted = parse_proxies(settings.trusted_proxies)
    runner.oidc = oidc  # approvers sign in at the provider on any worker (its flow cookie is signed)
    announce_held_calls(runner)
    runner.start()
    if not runner.wait_ready(15.0):
        print(f"mcp-tray: worker {index} did not start: {runner.error or 'timed out'}", file=sys.stderr)
        runner.close()
        return 1
    announce_approvals(runner, data_dir)
    if remote.wanted and not _start_remote(runner, settings, data_dir, say=False):
        runner.close()
        return 1
    ready(ready_fd)
    runner.on_thread_end = stop.set
    stop.wait()
    failed = runner.state is not ServerState.RUNNING
    with contextlib.suppress(Exception):
        runner.close()
    return 1 if failed else 0
