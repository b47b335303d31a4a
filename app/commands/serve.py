"""`mcp-tray serve`: the headless server. Prints its ready line once it accepts connections."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from app.config import DEFAULT_HOST, Settings


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """`mcp-tray serve [--host H] [--port P]`."""
    serve = sub.add_parser("serve", parents=[common], help="run the server without a GUI")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: from settings, 8787)")
    serve.set_defaults(run=lambda args, data_dir: run_serve(data_dir, args.host, args.port),
                       console_log_level=logging.INFO)


def run_serve(data_dir: Path, host: str, port: int | None) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 2 when the port is taken, 1 on other errors."""
    from app.server.runner import PortInUseError, ServerRunner, ServerState

    settings = Settings.load(data_dir)
    runner = ServerRunner(data_dir, host, settings.port if port is None else port, settings)
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
