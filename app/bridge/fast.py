"""The bridge's quick start: a raw JSON-RPC pump over streamable HTTP with the cached token, no MCP SDK loaded.

Claude Desktop starts every configured server when it starts, so the bridge's start-up is what a user
waits for, and importing the MCP SDK (its pydantic models) alone took about half a second. When the
keyring holds an access token for the URL that is still valid, this module forwards the client's lines
to the server as they are (one POST each, answers read as JSON or SSE and written back as lines), with
only the standard library, `secretstorage` (Linux) and http.client. It never parses messages into
models and never does a discovery round trip.

Anything it does not handle hands over to the full bridge (app.bridge.run), at a message boundary:
no usable token (first sign-in, expired, the keyring not readable this way), an SSE URL, and any HTTP
answer other than 200/202 (401 after a revocation, 404 for a session the server forgot or a server
without streamable HTTP, errors). The full bridge then starts from where this one stopped: it gets
the client's `initialize` (replayed to open a new server session when it was answered already) and
the requests still waiting for an answer, then reads stdin on.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from app.bridge import cached_sign_in

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
READ_TIMEOUT = 300.0
# Header names of the MCP streamable-HTTP transport (as in mcp.shared.inbound; a test checks them).
SESSION_HEADER = "mcp-session-id"
PROTOCOL_VERSION_HEADER = "mcp-protocol-version"
METHOD_HEADER = "mcp-method"
NAME_HEADER = "mcp-name"
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
NAME_BEARING_METHODS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

_EOF = object()


@dataclass(frozen=True)
class _Control:
    """Put on the line queue by a worker: stop forwarding, hand over to the full bridge."""

    reason: str


@dataclass
class Handover:
    """Where the quick pump stopped, for the full bridge to carry on from."""

    reason: str
    initialize: str | None = None  # the client's initialize line
    initialized: str | None = None  # its notifications/initialized line
    answered_initialize: bool = False
    unanswered: list[str] = field(default_factory=list)  # lines of requests still waiting, in order
    lines: queue.Queue[object] = field(default_factory=queue.Queue)  # the rest of stdin (and _EOF)


_HEADER_SAFE = re.compile(r"^[\x20-\x7E]*$")
_B64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def encode_header_value(value: str) -> str:
    """A value as an HTTP header carries it: as it is when plain printable ASCII, else base64 in a sentinel.

    The MCP SDK's rule (mcp.shared.inbound.encode_header_value; a test checks they agree).
    """
    if _HEADER_SAFE.fullmatch(value) and value == value.strip() and not _B64_SENTINEL.fullmatch(value):
        return value
    return f"=?base64?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def headers_for(message: Any, negotiated: str | None) -> dict[str, str]:
    """MCP-Protocol-Version, and for per-request envelopes Mcp-Method / Mcp-Name (as app.bridge.pump does)."""
    if isinstance(message, dict) and isinstance(message.get("method"), str) and "id" in message:
        given = message.get("params")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
        meta = params.get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get(PROTOCOL_VERSION_META_KEY), str):
            method = message["method"]
            headers = {PROTOCOL_VERSION_HEADER: meta[PROTOCOL_VERSION_META_KEY], METHOD_HEADER: method}
            key = NAME_BEARING_METHODS.get(method)
            if key is not None and isinstance(params.get(key), str):
                headers[NAME_HEADER] = encode_header_value(params[key])
            return headers
        if message["method"] == "initialize":
            return {}
    return {PROTOCOL_VERSION_HEADER: negotiated} if negotiated else {}


class _Refused(Exception):
    """The server's answer is one the quick pump does not handle."""


class QuickPump:
    """Forward stdin lines to the server and its answers to stdout, until done or a hand-over."""

    def __init__(self, url: str, token: str, out: BinaryIO, lines: queue.Queue[object]) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.token = token
        self.out = out
        self.lines = lines
        self.session_id: str | None = None
        self.negotiated: str | None = None
        self.initialize: str | None = None
        self.initialized: str | None = None
        self.answered_initialize = False
        self._unanswered: dict[str, str] = {}  # json-encoded id -> the request's line
        self._lock = threading.Lock()  # stdout, the table above, the idle connections
        self._stopped = False
        self._idle: list[http.client.HTTPConnection] = []
        self._listening = False

    # -- HTTP --------------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=CONNECT_TIMEOUT)

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json, text/event-stream",
                   "User-Agent": "mcp-tray-bridge"}
        if self.session_id:
            headers[SESSION_HEADER] = self.session_id
        headers.update(extra)
        return headers

    def _exchange(self, method: str, body: bytes | None, extra: dict[str, str],
                  on_message: Callable[[Any], None]) -> http.client.HTTPResponse:
        """One request; every message in the answer goes to `on_message`. Raises _Refused for the rest."""
        connection = self._connection()
        headers = self._headers(extra)
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, self.path, body=body, headers=headers)
            response = connection.getresponse()
            if connection.sock is not None:
                connection.sock.settimeout(READ_TIMEOUT)
            if response.status == 202:
                response.read()
            elif response.status != 200:
                response.read()
                raise _Refused(f"HTTP {response.status} to {method}")
            elif (response.getheader("Content-Type") or "").startswith("text/event-stream"):
                self._read_events(response, on_message)
            else:
                data = response.read()
                if data.strip():
                    on_message(json.loads(data))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            connection.close()
            raise _Refused(f"{type(exc).__name__}: {exc}") from exc
        except _Refused:
            connection.close()
            raise
        if response.getheader("Connection", "").lower() == "close" or response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return response

    @staticmethod
    def _read_events(response: http.client.HTTPResponse, on_message: Callable[[Any], None]) -> None:
        data: list[str] = []
        while True:
            raw = response.readline()
            if not raw:
                return
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line:
                if data:
                    on_message(json.loads("\n".join(data)))
                    data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))

    # -- messages ----------------------------------------------------------------------------------

    def _write(self, message: Any) -> None:
        """One message from the server to the client, as one line."""
        key = json.dumps(message.get("id")) if isinstance(message, dict) and "method" not in message else None
        with self._lock:
            if self._stopped:
                return
            if key is not None:
                self._unanswered.pop(key, None)
            self.out.write(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
            self.out.flush()

    def _stop(self, reason: str) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        log.info("quick bridge hands over: %s", reason)
        self.lines.put(_Control(reason))

    def _post(self, line: str, message: Any) -> None:
        try:
            self._exchange("POST", line.encode(), headers_for(message, self.negotiated), self._write)
        except _Refused as exc:
            self._stop(str(exc))

    def _initialize(self, line: str, message: Any) -> bool:
        """POST the client's initialize; True when it was answered here."""
        answer: list[Any] = []

        def keep(reply: Any) -> None:
            if isinstance(reply, dict) and reply.get("id") == message.get("id") and "method" not in reply:
                answer.append(reply)
            self._write(reply)

        try:
            response = self._exchange("POST", line.encode(), {}, keep)
        except _Refused as exc:
            self._stop(str(exc))
            return False
        self.session_id = response.getheader(SESSION_HEADER) or self.session_id
        result = answer[0].get("result") if answer else None
        if isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            self.negotiated = result["protocolVersion"]
        self.answered_initialize = bool(answer) and "result" in answer[0]
        return True

    def _listen(self) -> None:
        """The GET stream for server-initiated messages (tools/list_changed); a 405 means there is none."""
        extra = {PROTOCOL_VERSION_HEADER: self.negotiated} if self.negotiated else {}
        try:
            self._exchange("GET", None, {**extra, "Accept": "text/event-stream"}, self._write)
        except _Refused as exc:
            if "HTTP 405" not in str(exc) and not self._stopped:
                self._stop(f"the server's message stream ended ({exc})")
            return
        if not self._stopped:
            self._stop("the server closed its message stream")

    def run(self) -> Handover | None:
        """Forward until stdin ends (None) or something needs the full bridge (a Handover)."""
        while True:
            item = self.lines.get()
            if item is _EOF:
                return None
            if isinstance(item, _Control):
                return self._handover(item.reason)
            line = str(item)
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                return self._handover("a line that is not one JSON-RPC message", line)
            method = message.get("method")
            if method is not None and "id" in message:
                with self._lock:
                    self._unanswered[json.dumps(message["id"])] = line
            if method == "initialize" and self.initialize is None:
                self.initialize = line
                if not self._initialize(line, message):
                    continue  # the control item is next in the queue
                continue
            if self.initialize is None:
                return self._handover("a message before initialize", line)
            if method == "notifications/initialized":
                self.initialized = line
            threading.Thread(target=self._post, args=(line, message), daemon=True, name="bridge-post").start()
            if method == "notifications/initialized" and not self._listening:
                self._listening = True
                threading.Thread(target=self._listen, daemon=True, name="bridge-listen").start()

    def _handover(self, reason: str, line: str | None = None) -> Handover:
        with self._lock:
            self._stopped = True
            waiting = [text for text in self._unanswered.values() if text != self.initialize
                       or not self.answered_initialize]
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        handover = Handover(reason, self.initialize, self.initialized, self.answered_initialize, waiting, self.lines)
        if line is not None and line not in waiting:
            handover.unanswered.append(line)
        return handover


def _read_stdin(lines: queue.Queue[object], stdin: BinaryIO) -> None:
    for raw in iter(stdin.readline, b""):
        text = raw.decode("utf-8", errors="replace").strip()
        if text:
            lines.put(text)
    lines.put(_EOF)


def start_reader(stdin: BinaryIO | None = None) -> queue.Queue[object]:
    """A thread that puts each stdin line on a queue (and _EOF at the end); the queue."""
    lines: queue.Queue[object] = queue.Queue()
    source = stdin if stdin is not None else sys.stdin.buffer
    threading.Thread(target=_read_stdin, args=(lines, source), daemon=True, name="bridge-stdin").start()
    return lines


def is_eof(item: object) -> bool:
    """Whether a queue item marks the end of stdin."""
    return item is _EOF


def try_quick(url: str, *, stdin: BinaryIO | None = None, out: BinaryIO | None = None) -> Handover | None:
    """Run the quick pump when a cached token allows it: None when the client closed stdin, else a Handover.

    Without a usable token nothing is read from stdin and the Handover says so (with an empty list).
    """
    path = urlsplit(url).path.rstrip("/")
    token = None if path.endswith("/sse") else cached_sign_in.usable_token(cached_sign_in.read_cached_record(url))
    if token is None:
        return Handover("no valid cached token for the quick start", lines=start_reader(stdin))
    lines = start_reader(stdin)
    pump = QuickPump(url, token, out if out is not None else sys.stdout.buffer, lines)
    return pump.run()


def claim_stdio() -> tuple[BinaryIO, BinaryIO]:
    """Private handles on the MCP channel; fd 0 then reads /dev/null and fd 1 writes to stderr.

    What the SDK's stdio_server does too: a child process (the browser opened for consent) or a stray
    print must never write into the client's JSON-RPC stream, nor read from it.
    """
    if sys.platform == "win32":
        return sys.stdin.buffer, sys.stdout.buffer
    sys.stdout.flush()
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return os.fdopen(wire_in, "rb", buffering=0), os.fdopen(wire_out, "wb")


def main(url: str) -> int:
    """`mcp-tray bridge URL`: the quick pump while it can, then (if needed) the full bridge."""
    stdin, stdout = claim_stdio()
    handover = try_quick(url, stdin=stdin, out=stdout)
    if handover is None:
        return 0
    log.info("full bridge: %s", handover.reason)
    from app.bridge.run import run_bridge

    return run_bridge(url, handover=handover, out=stdout)
