"""`mcp-tray serve`: the headless server. Prints its ready line once it accepts connections.

With `--public-url` (the owner's reverse proxy) or `--ingress` (ngrok, cloudflared, tailscale),
remote access is on for this run and a second line gives the public URL; see docs/REMOTE.md.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.config import AUTO_OFF_CHOICES, DEFAULT_HOST, INGRESS_KINDS, Settings, resolve_data_dir

if TYPE_CHECKING:
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

    def run(args: argparse.Namespace, data_dir: Path) -> int:
        options = RemoteOptions(args.public_url, args.trusted_proxy, args.auto_off, args.ingress, args.tunnel,
                                args.ngrok_domain)
        return run_serve(data_dir, args.host, args.port, options)

    serve.set_defaults(run=run, console_log_level=logging.INFO)


def _announce(approval: PendingApproval, where: str) -> None:
    """Headless, the owner learns of a sign-in request on the console (called on the server thread)."""
    from app.auth.approval import client_identity, requested_tool_scopes

    identity = client_identity(approval)
    asked = requested_tool_scopes(approval)
    scope_hint = "".join(f" [--scope {s}]" for s in asked)
    print(f"Sign-in request {approval.approval_id} from {identity.name} ({identity.label}), code {approval.match_code}."
          f"\n  Allow: mcp-tray approve {approval.match_code}{where}{scope_hint} [--for 1h|1d|30d|forever]"
          f"   Refuse: mcp-tray deny {approval.match_code}{where}", file=sys.stderr, flush=True)

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


def run_serve(data_dir: Path, host: str, port: int | None, remote: RemoteOptions | None = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 2 when the port is taken or an option is bad."""
    from app.auth.origins import PublicUrlError, parse_proxies, parse_public_url
    from app.server.parts import build_parts
    from app.server.port import choose_port
    from app.server.runner import PortInUseError, ServerRunner, ServerState

    remote = remote or RemoteOptions()
    settings = Settings.load(data_dir)
    run_settings = remote.apply(settings)
    try:
        if remote.public_url:
            parse_public_url(remote.public_url)
        proxies = parse_proxies(run_settings.trusted_proxies)
    except PublicUrlError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 2
    choice = choose_port(settings, port)
    parts = build_parts(settings, data_dir, host=host, port=choice.port)
    runner = ServerRunner(data_dir, host, choice, pid_file=True, parts=parts)
    runner.public.trusted = proxies
    stop = threading.Event()
    announce_held_calls(runner)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
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
    if runner.parts is not None:
        where = "" if data_dir == resolve_data_dir(None) else f" --data-dir {data_dir}"
        runner.parts.approvals.subscribe(lambda approval: _announce(approval, where))
    print(f"MCP server ready at {runner.mcp_url}", flush=True)
    print(f"  legacy SSE endpoint: {runner.base_url}/sse   (Ctrl+C stops)", file=sys.stderr, flush=True)
    if remote.wanted and not _start_remote(runner, run_settings, data_dir):
        runner.close()
        return 1
    # Woken by a signal or by the server thread ending; no polling. (Windows cannot interrupt a plain
    # wait with Ctrl+C, so there it looks twice a second.)
    runner.on_thread_end = stop.set
    while not stop.wait(0.5 if sys.platform == "win32" else None):
        pass
    if runner.state is not ServerState.RUNNING:
        print(f"mcp-tray: the server stopped: {runner.error or 'unknown reason'}", file=sys.stderr)
        runner.close()
        return 1
    runner.close()
    return 0


def _start_remote(runner: ServerRunner, settings: Settings, data_dir: Path) -> bool:
    """Turn remote access on for this run and say so; False (with the reason printed) when it cannot."""
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
    print(f"Public URL ready at {status.public_url}", flush=True)
    until = "never turns off by itself" if status.until is None else (
        "turns off at " + time.strftime("%Y-%m-%d %H:%M", time.localtime(status.until)))
    print(f"  remote access through {status.ingress} {until}; accepted only from "
          + ", ".join(str(n) for n in runner.public.trusted) + ", over HTTPS", file=sys.stderr, flush=True)
    if status.warning:
        print(f"  note: {status.warning}", file=sys.stderr, flush=True)
    return True
