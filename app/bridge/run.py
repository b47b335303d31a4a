"""Run the bridge: stdio on one side, the remote MCP server (with OAuth) on the other, until stdin closes.

stdout is the MCP channel, so everything meant for a person goes to stderr: the consent URL,
keyring problems, reconnects and fatal errors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TextIO

import anyio
import httpx2
from mcp.server.stdio import stdio_server

from app.bridge.oauth import CONSENT_TIMEOUT, BridgeOAuth, open_in_browser
from app.bridge.pump import Outcome, Pump
from app.bridge.storage import BridgeStorage
from app.bridge.transport import Kind, PostStatuses, connect, kinds_for

log = logging.getLogger(__name__)

MAX_QUIET_RECONNECTS = 3  # reconnects in a row that bring no message back before the bridge gives up


def describe(exc: BaseException) -> str:
    """One readable sentence for what went wrong (exception groups unwrapped)."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
        exc = inner[0] if inner else exc.exceptions[0]
    if isinstance(exc, httpx2.ConnectError):
        return f"cannot connect ({exc}); is the server running?"
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"the server answered HTTP {exc.response.status_code} to {exc.request.method} {exc.request.url}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not text.startswith(type(exc).__name__) else text


async def serve_bridge(url: str, *, stderr: TextIO | None = None, opener: Callable[[str], None] = open_in_browser,
                       consent_timeout: float = CONSENT_TIMEOUT) -> int:
    """Bridge stdio to `url`; 0 when the client closed stdin, 1 when the server cannot be used."""
    err = stderr or sys.stderr

    def say(text: str) -> None:
        print(f"mcp-tray bridge: {text}", file=err, flush=True)

    storage = BridgeStorage(url, stderr=err)
    auth = BridgeOAuth(url, storage, stderr=err, opener=opener, consent_timeout=consent_timeout)
    kinds = kinds_for(url)
    async with stdio_server() as (client_read, client_write):
        pump = Pump(client_read, client_write)
        replay = False
        quiet = 0
        while True:
            kind = kinds[0]
            pump.statuses = PostStatuses(url)
            pump.fallback_possible = kind is Kind.STREAMABLE_HTTP and len(kinds) > 1
            try:
                async with connect(kind, url, auth, pump.statuses) as upstream:
                    outcome = await pump.session(upstream, replay)
                    if outcome is not Outcome.CLIENT_CLOSED:
                        # A sign-in may be under way for a request of the ending session; let it finish
                        # (the lock is the SDK's, held for the whole OAuth flow) so it is not asked again.
                        async with auth.context.lock:
                            pass
            except Exception as exc:
                why = describe(exc)
                log.info("upstream failed", exc_info=exc)
                say(f"cannot use {url}: {why}")
                await pump.fail_pending(why)
                return 1
            if outcome is Outcome.CLIENT_CLOSED:
                return 0
            if outcome is Outcome.FALLBACK:
                say(f"{url} does not speak streamable HTTP; using the SSE transport.")
                kinds = [Kind.SSE]
                continue
            quiet = quiet + 1 if pump.delivered == 0 else 1
            if quiet > MAX_QUIET_RECONNECTS:
                say(f"{url} keeps closing the connection; giving up.")
                pump.resend = []
                await pump.fail_pending("the server keeps closing the connection")
                return 1
            pump.requeue_pending()
            if outcome is Outcome.SESSION_LOST:
                say(f"{url} no longer knows this session; starting a new one.")
            else:
                say(f"{url} closed the connection ({kind.value}); reconnecting.")
            replay = pump.answered_initialize
            await anyio.sleep(0.5 * (quiet - 1))


def run_bridge(url: str) -> int:
    """Blocking entry point for the command line."""
    # Library INFO lines (every HTTP request) would drown the few lines a person needs on stderr.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The SDK logs its own failures with tracebacks; the bridge says what went wrong in one sentence
    # instead (and keeps the traceback in the log file).
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    return anyio.run(serve_bridge, url)
