"""`mcp-tray serve`: the headless server. Prints its ready line once it accepts connections."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.config import AUTO_OFF_CHOICES, DEFAULT_HOST, Settings

if TYPE_CHECKING:
    from app.auth.origins import PublicOrigin
    from app.server.runner import ServerRunner


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray serve [--host H] [--port P] [--public-url URL [--trusted-proxy ADDR]...]`."""
    serve = sub.add_parser("serve", parents=[common], help="run the server without a GUI")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: from settings, 8787)")
    serve.add_argument("--public-url", metavar="https://HOST[:PORT]",
                       help="also answer through this public URL, served by your reverse proxy or tunnel "
                       "(turns remote access on for this run; see docs/REMOTE.md)")
    serve.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR",
                       help="address (or network) of the proxy allowed to pass on requests for the public "
                       "URL; repeatable (default: loopback)")
    serve.add_argument("--auto-off", choices=AUTO_OFF_CHOICES,
                       help="when remote access turns itself off and revokes remote sign-ins "
                       "(default: from settings, 8h)")
    serve.set_defaults(run=lambda args, data_dir: run_serve(data_dir, args.host, args.port, args.public_url,
                                                            args.trusted_proxy, args.auto_off),
                       console_log_level=logging.INFO)


def run_serve(data_dir: Path, host: str, port: int | None, public_url: str | None = None,
              trusted_proxies: list[str] | None = None, auto_off: str | None = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 2 when the port is taken or an option is bad."""
    from app.auth.origins import PublicUrlError, parse_proxies, parse_public_url
    from app.server.runner import PortInUseError, ServerRunner, ServerState

    settings = Settings.load(data_dir)
    try:
        public = parse_public_url(public_url) if public_url else None
        proxies = parse_proxies(trusted_proxies or settings.trusted_proxies)
    except PublicUrlError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 2
    runner = ServerRunner(data_dir, host, settings.port if port is None else port, settings)
    runner.public.trusted = proxies
    stop = threading.Event()

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
    print(f"MCP server ready at {runner.mcp_url}", flush=True)
    print(f"  legacy SSE endpoint: {runner.base_url}/sse   (Ctrl+C stops)", file=sys.stderr, flush=True)
    if public is not None:
        if not _start_remote(runner, public, auto_off or settings.remote_auto_off):
            runner.close()
            return 1
        shown = ", ".join(str(n) for n in proxies)
        print(f"  accepted only through the proxy at {shown}, over HTTPS", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        if runner.state is not ServerState.RUNNING:
            print(f"mcp-tray: the server stopped: {runner.error or 'unknown reason'}", file=sys.stderr)
            runner.close()
            return 1
    runner.close()
    return 0


def _start_remote(runner: ServerRunner, public: PublicOrigin, auto_off: str) -> bool:
    """Turn remote access on for this run and say so; False (with the reason printed) when it cannot."""
    from app.remote.access import RemoteStatus
    from app.remote.ingress import IngressError, OwnProxy

    def said(status: RemoteStatus) -> None:
        if not status.on and status.error is None:
            print("mcp-tray: remote access is off now; remote sign-ins were revoked", file=sys.stderr, flush=True)

    try:
        status = runner.remote.start(OwnProxy(public), runner.base_url, auto_off)
    except IngressError as exc:
        print(f"mcp-tray: remote access could not start: {exc}", file=sys.stderr)
        return False
    runner.remote.subscribe(said)
    print(f"Public URL ready at {status.public_url}", flush=True)
    until = "never turns off by itself" if status.until is None else (
        "turns off at " + time.strftime("%Y-%m-%d %H:%M", time.localtime(status.until)))
    print(f"  remote access {until}", file=sys.stderr, flush=True)
    return True
