"""`mcp-tray serve`: the headless server. Prints its ready line once it accepts connections.

With `--public-url` (the owner's reverse proxy) or `--ingress` (ngrok, cloudflared, tailscale),
remote access is on for this run and a second line gives the public URL; see docs/REMOTE.md.
With `--workers N` (a hosted server on PostgreSQL) a supervisor runs N worker processes on the
port: app/commands/serve_workers.py.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.auth.oidc_settings import OidcConfigError
from app.commands import oidc_options
from app.commands.gc_pause import StartWithoutGc
from app.config import AUTO_OFF_CHOICES, DEFAULT_HOST, INGRESS_KINDS, Settings, resolve_data_dir
from app.logging_setup import LOG_FORMAT_ENV, LOG_FORMATS, wanted_format
from app.secrets.signing_key import SIGNING_KEY_ENV

MAX_WORKERS = 64

if TYPE_CHECKING:
    from app.auth.oidc_settings import OidcSettings
    from app.server.runner import ServerRunner
    from app.store.rows import PendingApproval


@dataclass
class RemoteOptions:
    """The remote-access options of one `serve` run (all None/empty: remote access stays off)."""

    public_url: str | None = None
    trusted_proxies: list[str] = field(default_factory=list)
    auto_off: str | None = None
    ingress: str | None = None
    tunnel: str | None = None
    ngrok_domain: str | None = None

    @property
    def wanted(self) -> bool:
        """True when this run turns remote access on."""
        return bool(self.public_url or self.ingress)

    def apply(self, settings: Settings) -> Settings:
        """The settings with these options over them."""
        return replace(
            settings,
            public_url=self.public_url or settings.public_url,
            trusted_proxies=self.trusted_proxies or settings.trusted_proxies,
            remote_auto_off=self.auto_off or settings.remote_auto_off,
            ingress=self.ingress or ("proxy" if self.public_url else settings.ingress),
            cloudflared_tunnel=self.tunnel or settings.cloudflared_tunnel,
            ngrok_domain=self.ngrok_domain or settings.ngrok_domain,
        )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray serve [--host H] [--port P] [--public-url URL] [--ingress KIND] ...`."""
    serve = sub.add_parser("serve", parents=[common], help="run the server without a GUI")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: from settings, 8787)")
    remote = serve.add_argument_group("remote access (off unless --public-url or --ingress is given)")
    remote.add_argument("--public-url", metavar="https://HOST[:PORT]",
                        help="also answer through this public URL, served by your reverse proxy or tunnel")
    remote.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR",
                        help="address (or network) of the proxy allowed to pass on requests for the public "
                        "URL; repeatable (default: loopback)")
    remote.add_argument("--ingress", choices=INGRESS_KINDS,
                        help="what serves the public URL (default: proxy, your own reverse proxy)")
    remote.add_argument("--tunnel", metavar="NAME", help="the named Cloudflare tunnel (--ingress cloudflared)")
    remote.add_argument("--ngrok-domain", metavar="DOMAIN", help="your reserved ngrok domain (--ingress ngrok)")
    remote.add_argument("--auto-off", choices=AUTO_OFF_CHOICES,
                        help="when remote access turns itself off and revokes remote sign-ins "
                        "(default: from settings, 8h)")
    hosted = serve.add_argument_group("hosted server (docs/HOSTED.md)")
    hosted.add_argument("--workers", type=_workers, default=1, metavar="N",
                        help="worker processes serving the port (default: 1; above 1 needs a PostgreSQL store)")
    hosted.add_argument("--signing-key-file", type=Path, metavar="PATH",
                        help=f"the consent-signing key (hex, mode 0600) instead of ${SIGNING_KEY_ENV} or the "
                        "desktop keyring; every worker and replica must use the same one")
    hosted.add_argument("--log-format", choices=LOG_FORMATS, default=None,
                        help=f"console log format (default: ${LOG_FORMAT_ENV} or text); json: one object per "
                        "line, with a line per request")

    oidc_options.add_arguments(serve)

    def run(args: argparse.Namespace, data_dir: Path) -> int:
        options = RemoteOptions(args.public_url, args.trusted_proxy, args.auto_off, args.ingress, args.tunnel,
                                args.ngrok_domain)
        try:
            oidc = oidc_options.from_args(args)
        except OidcConfigError as exc:
            print(f"mcp-tray: {exc}", file=sys.stderr)
            return 2
        hosting = HostedOptions(args.workers, args.signing_key_file, wanted_format(args.log_format) == "json",
                                getattr(args, "database", None))
        return run_serve(data_dir, args.host, args.port, options, oidc, hosting)

    serve.set_defaults(run=run, console_log_level=logging.INFO)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers takes a whole number, not {text!r}") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"--workers must be between 1 and {MAX_WORKERS} (got {value})")
    return value


@dataclass(frozen=True)
class HostedOptions:
    """The hosted-server options of one `serve` run (defaults: the desk server)."""

    workers: int = 1
    signing_key_file: Path | None = None
    json_logs: bool = False  # JSON console logs, with a line per request
    database: str | None = None  # the store's URL when not the data dir's SQLite file


def _announce(approval: PendingApproval, where: str) -> None:
    """Headless, the owner learns of a sign-in request on the console (called on the server thread)."""
    from app.auth.approval import client_identity, requested_tool_scopes

    identity = client_identity(approval)
    asked = requested_tool_scopes(approval)
    scope_hint = "".join(f" [--scope {s}]" for s in asked)
    print(f"Sign-in request {approval.approval_id} from {identity.name} ({identity.label}), code {approval.match_code}."
          f"\n  Allow: mcp-tray approve {approval.match_code}{where}{scope_hint} [--for 1h|1d|30d|forever]"
          f"   Refuse: mcp-tray deny {approval.match_code}{where}", file=sys.stderr, flush=True)

def announce_approvals(runner: ServerRunner, data_dir: Path) -> None:
    """Print each sign-in request on stderr with the command that answers it."""
    from app.store.db import redact

    if runner.parts is None:
        return
    where = "" if data_dir == resolve_data_dir(None) else f" --data-dir {data_dir}"
    if runner.parts.store.db.url is not None:  # the owner's CLI must reach the same database
        where += f" --database {redact(runner.parts.store.db.url)}"
    runner.parts.approvals.subscribe(lambda approval: _announce(approval, where))


def announce_held_calls(runner: Any) -> None:
    """Print a line on stderr for each call that starts waiting for the owner, saying how to answer it."""
    from app.store.held import HeldCall

    seen: set[str] = set()

    def on_change(calls: list[HeldCall]) -> None:
        for call in calls:
            if call.call_id not in seen:
                print(f"mcp-tray: {call.client_name or call.client_id} wants to call {call.tool}; it waits for you: "
                      f"mcp-tray calls allow {call.call_id} [--for 1h|always]  (or: mcp-tray calls deny "
                      f"{call.call_id}; see the arguments with: mcp-tray calls pending)", file=sys.stderr, flush=True)
        seen.intersection_update(c.call_id for c in calls)
        seen.update(c.call_id for c in calls)

    runner.held.subscribe(on_change)


class StopSignal:
    """SIGINT, SIGTERM or `set()` (the server thread ending) wakes `wait()`; nothing polls.

    A signal handler must not set a threading.Event: the handler runs in the main thread between two
    bytecodes, and when that is inside Event.wait() while it holds the Event's lock, set() waits for
    that lock forever (serve then ignored SIGTERM, now and then). Here the handler does nothing; the
    interpreter writes the signal to a pipe (signal.set_wakeup_fd) and `set()` writes a byte to the
    same pipe, so the main thread just reads it. Windows has no such pipe for signals: there the
    wait looks at a flag twice a second.
    """

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._read_fd: int | None = None
        self._write_fd: int | None = None
        if sys.platform != "win32":
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._write_fd, False)
            signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._read_fd is None:
            self._flag.set()  # Windows: no lock is held by the main thread's polling loop here

    def set(self) -> None:
        """Wake the waiter (from any thread)."""
        self._flag.set()
        if self._write_fd is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._write_fd, b"\0")

    def wait(self) -> None:
        """Block until a signal arrives or `set()` is called."""
        if self._read_fd is None:
            while not self._flag.wait(0.5):
                pass
            return
        os.read(self._read_fd, 1)
        signal.set_wakeup_fd(-1)  # the pipe stays open: set() may still write to it from the server thread


def run_serve(data_dir: Path, host: str, port: int | None, remote: RemoteOptions | None = None,
              oidc: OidcSettings | None = None, hosted: HostedOptions | None = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 2 when the port is taken or an option is bad."""
    with StartWithoutGc() as start:
        return _run_serve(data_dir, host, port, remote, oidc, hosted, start)


def _run_serve(data_dir: Path, host: str, port: int | None, remote: RemoteOptions | None,
               oidc: OidcSettings | None, hosted: HostedOptions | None, start: StartWithoutGc) -> int:
    from app.auth.origins import PublicUrlError, parse_proxies, parse_public_url
    from app.secrets.signing_key import SigningKeyError, hosted_signing_key, server_fallback_key
    from app.server.hosting import Hosting
    from app.server.parts import build_parts
    from app.server.port import choose_port
    from app.server.runner import PortInUseError, ServerRunner, ServerState
    from app.store.db import database_url

    remote = remote or RemoteOptions()
    hosted = hosted or HostedOptions()
    settings = Settings.load(data_dir)
    run_settings = remote.apply(settings)
    try:
        if remote.public_url:
            parse_public_url(remote.public_url)
        proxies = parse_proxies(run_settings.trusted_proxies)
    except PublicUrlError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 2
    try:
        secret = hosted_signing_key(hosted.signing_key_file)
    except SigningKeyError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 2
    choice = choose_port(settings, port)
    if hosted.workers > 1:  # refused without a key: the workers must share one
        from app.commands.serve_workers import run_workers

        start.done()  # the supervisor and its forked workers run with the collector on
        return run_workers(data_dir, host, choice.port, remote, hosted, secret, oidc)
    if secret is None and database_url(hosted.database) is not None:
        secret = server_fallback_key()  # a server on PostgreSQL never reads a desktop keyring
    parts = build_parts(settings, data_dir, host=host, port=choice.port, secret=secret, database=database_url(),
                        hosting=Hosting(access_log=hosted.json_logs, window=False))
    runner = ServerRunner(data_dir, host, choice, pid_file=True, parts=parts)
    runner.load_signing_key()  # a missing keyring is said at start, not at the first sign-in
    runner.public.trusted = proxies
    runner.oidc = oidc
    stop = StopSignal()
    announce_held_calls(runner)
    try:
        runner.start()
    except PortInUseError as exc:
        print(f"mcp-tray: cannot start: {exc.strerror}. Stop the other server or pick another port "
              "with --port.", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mcp-tray: cannot start on {host}:{runner.requested_port}: {exc}", file=sys.stderr)
        return 1
    if not runner.wait_ready(15.0):
        print(f"mcp-tray: the server did not start: {runner.error or 'timed out'}", file=sys.stderr)
        runner.close()
        return 1
    announce_approvals(runner, data_dir)
    start.done()
    print(f"MCP server ready at {runner.mcp_url}", flush=True)
    print(f"  legacy SSE endpoint: {runner.base_url}/sse   (Ctrl+C stops)", file=sys.stderr, flush=True)
    if remote.wanted and not _start_remote(runner, run_settings, data_dir):
        runner.close()
        return 1
    runner.on_thread_end = stop.set
    stop.wait()
    if runner.state is not ServerState.RUNNING:
        print(f"mcp-tray: the server stopped: {runner.error or 'unknown reason'}", file=sys.stderr)
        runner.close()
        return 1
    runner.close()
    return 0


def _start_remote(runner: ServerRunner, settings: Settings, data_dir: Path, say: bool = True) -> bool:
    """Turn remote access on for this run and say so; False (with the reason printed) when it cannot.

    A worker of `serve --workers` passes say=False: the supervisor prints the lines once.
    """
    from app.remote.access import RemoteStatus
    from app.remote.adapters import build_ingress
    from app.remote.ingress import IngressError

    def said(status: RemoteStatus) -> None:
        if status.error is not None:
            print(f"mcp-tray: remote access stopped: {status.error}", file=sys.stderr, flush=True)
        elif not status.on:
            print("mcp-tray: remote access is off now", file=sys.stderr, flush=True)

    try:
        ingress = build_ingress(settings, data_dir)
        status = runner.remote.start(ingress, runner.base_url, settings.remote_auto_off)
    except IngressError as exc:
        print(f"mcp-tray: remote access could not start: {exc}", file=sys.stderr)
        return False
    runner.remote.subscribe(said)
    if not say:
        return True
    print(f"Public URL ready at {status.public_url}", flush=True)
    until = "never turns off by itself" if status.until is None else (
        "turns off at " + time.strftime("%Y-%m-%d %H:%M", time.localtime(status.until)))
    print(f"  remote access through {status.ingress} {until}; accepted only from "
          + ", ".join(str(n) for n in runner.public.trusted) + ", over HTTPS", file=sys.stderr, flush=True)
    if status.warning:
        print(f"  note: {status.warning}", file=sys.stderr, flush=True)
    return True
