"""Run the bridge: stdio on one side, the remote MCP server (with OAuth) on the other, until stdin closes.

stdout is the MCP channel, so everything meant for a person goes to stderr: the consent URL,
keyring problems, reconnects and fatal errors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, BinaryIO, TextIO

import anyio
import httpx2
import mcp_types
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from app.bridge import fast
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


class _Lines:
    """stdin for stdio_server after a quick start: the lines the quick pump left unanswered, then the rest."""

    def __init__(self, handover: fast.Handover) -> None:
        self.first = [] if handover.answered_initialize else [handover.initialize] if handover.initialize else []
        self.first += [line for line in handover.unanswered if line not in self.first]
        self.lines = handover.lines

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        for line in self.first:
            yield line
        while True:
            item = await anyio.to_thread.run_sync(self.lines.get, abandon_on_cancel=True)
            if fast.is_eof(item):
                return
            if isinstance(item, str):
                yield item


class _Out:
    """stdout for stdio_server: the private handle on the client's channel."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    async def write(self, text: str) -> None:
        self.out.write(text.encode("utf-8"))

    async def flush(self) -> None:
        self.out.flush()


def _client_streams(handover: fast.Handover | None, out: BinaryIO | None) -> AbstractAsyncContextManager[Any]:
    if handover is None:
        return stdio_server()
    return stdio_server(_Lines(handover), _Out(out or sys.stdout.buffer))  # type: ignore[arg-type]  # duck-typed files


def _session_message(line: str | None) -> SessionMessage | None:
    if line is None:
        return None
    return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))


async def serve_bridge(url: str, *, stderr: TextIO | None = None, opener: Callable[[str], None] = open_in_browser,
                       consent_timeout: float = CONSENT_TIMEOUT, handover: fast.Handover | None = None,
                       out: BinaryIO | None = None) -> int:
    """Bridge stdio to `url`; 0 when the client closed stdin, 1 when the server cannot be used.

    With a `handover` the quick pump (app.bridge.fast) ran first: its stdin queue is read instead of
    stdin, and a client that was initialized there gets its session re-opened by a replay.
    """
    err = stderr or sys.stderr

    def say(text: str) -> None:
        print(f"mcp-tray bridge: {text}", file=err, flush=True)

    storage = BridgeStorage(url, stderr=err)
    auth = BridgeOAuth(url, storage, stderr=err, opener=opener, consent_timeout=consent_timeout)
    kinds = kinds_for(url)
    async with _client_streams(handover, out) as (client_read, client_write):
        pump = Pump(client_read, client_write)
        replay = False
        if handover is not None and handover.answered_initialize:
            pump.initialize = _session_message(handover.initialize)
            pump.initialized = _session_message(handover.initialized)
            pump.answered_initialize = replay = True
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


def run_bridge(url: str, handover: fast.Handover | None = None, out: BinaryIO | None = None) -> int:
    """Blocking entry point for the command line (after the quick pump, see app.bridge.fast.main)."""
    # Library INFO lines (every HTTP request) would drown the few lines a person needs on stderr.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The SDK logs its own failures with tracebacks; the bridge says what went wrong in one sentence
    # instead (and keeps the traceback in the log file).
    logging.getLogger("mcp").setLevel(logging.CRITICAL)
    return anyio.run(lambda: serve_bridge(url, handover=handover, out=out))
