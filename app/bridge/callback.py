"""The loopback redirect target (RFC 8252, OAuth 2.0 for Native Apps): http://127.0.0.1:PORT/callback.

A tiny HTTP/1.1 responder on anyio: it takes the first /callback that carries a `code` or an
`error` together with the `state` of the authorization request this bridge opened, answers the
browser with a short page, and hands the result to the waiting OAuth flow. Any local process can
reach this port, so an answer with another state (or none) is refused with a 400 and the
receiver keeps waiting: a forged `error=access_denied` cannot end the sign-in.
"""

from __future__ import annotations

import base64
import hmac
import html
import logging
import socket
from functools import cache
from string import Template
from urllib.parse import parse_qs, urlsplit

import anyio
from anyio.abc import Listener, SocketStream
from mcp.client.auth.exceptions import OAuthFlowError
from mcp.shared.auth import AuthorizationCodeResult

from app.resources import read_text

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
MAX_HEAD = 16 * 1024
READ_TIMEOUT = 10.0

_DONE = ("Signed in", "The MCP Tray bridge is signed in. You can close this tab and go back to your app.")
_DENIED = ("Not signed in", "Access was not granted ({error}). Your app will report that it cannot connect.")
_FOREIGN = ("Not this sign-in", "This answer does not belong to the sign-in MCP Tray is waiting for, so it was "
            "ignored. Finish signing in from the page your app opened.")


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (the registration records it as the redirect URI)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redirect_uri_for(port: int) -> str:
    """The redirect URI registered for this callback port."""
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


# The page carries its style and icon inline: this port closes once the answer is in, so a
# stylesheet fetched afterwards would not load. Nothing else may run or load.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"


@cache
def _template() -> tuple[Template, str, str]:
    icon = base64.b64encode(read_text("icons", "mcp-tray.svg").encode()).decode()
    return Template(read_text("web", "bridge_message.html")), read_text("web", "page.css"), (
        f"data:image/svg+xml;base64,{icon}")


def _page(title: str, text: str, status: str = "200 OK") -> bytes:
    """The browser's answer, in the look of the server's own pages (the consent and waiting pages)."""
    template, style, icon = _template()
    tone = "ok" if status.startswith("200") and title == _DONE[0] else "error"
    body = template.substitute(title=html.escape(title), message=html.escape(text), tone=tone, style=style,
                               icon=icon).encode()
    head = (f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            f"Content-Security-Policy: {PAGE_POLICY}\r\nX-Content-Type-Options: nosniff\r\n"
            "Referrer-Policy: no-referrer\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n").encode()
    return head + body


def state_of(authorization_url: str) -> str | None:
    """The `state` parameter of an authorization URL (None when it has none)."""
    values = parse_qs(urlsplit(authorization_url).query).get("state")
    return values[0] if values else None


class CallbackReceiver:
    """Serves /callback on a bound listener until the authorization response for `state` arrives.

    Until a state is known (`expect`), every answer is refused: none can be ours yet.
    """

    def __init__(self, state: str | None = None) -> None:
        self._done = anyio.Event()
        self._result: AuthorizationCodeResult | None = None
        self._error: str | None = None
        self._state = state

    def expect(self, state: str | None) -> None:
        """The state of the authorization request just opened in the browser."""
        self._state = state

    def _ours(self, state: str | None) -> bool:
        expected = self._state
        if expected is None or state is None:
            return False
        return hmac.compare_digest(expected.encode("utf-8"), state.encode("utf-8"))

    async def serve(self, listener: Listener[SocketStream]) -> None:
        """Accept connections until cancelled."""
        await listener.serve(self._handle)

    async def _handle(self, stream: SocketStream) -> None:
        async with stream:
            try:
                with anyio.fail_after(READ_TIMEOUT):
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
                        head += await stream.receive()
                await stream.send(self._answer(head))
            except (TimeoutError, anyio.EndOfStream, anyio.BrokenResourceError, OSError) as exc:
                log.debug("callback connection dropped: %s", exc)

    def _answer(self, head: bytes) -> bytes:
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.rpartition(" ")[0] or rest
        parts = urlsplit(target)
        if method != "GET" or parts.path != CALLBACK_PATH:
            return _page("Not found", "This address only receives the sign-in answer.", "404 Not Found")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self._done.is_set():
            return _page(*_DONE)
        if not self._ours(query.get("state")):
            log.warning("callback refused an answer with a state that is not this sign-in's")
            return _page(*_FOREIGN, "400 Bad Request")
        if "error" in query:
            self._error = query["error"] + (f": {query['error_description']}" if "error_description" in query else "")
            self._done.set()
            return _page(_DENIED[0], _DENIED[1].format(error=self._error))
        if "code" not in query:
            return _page("Missing code", "The sign-in answer had no code.", "400 Bad Request")
        self._result = AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))
        self._done.set()
        return _page(*_DONE)

    async def wait(self, timeout: float) -> AuthorizationCodeResult:
        """The authorization response; OAuthFlowError when it was an error or none came in time."""
        with anyio.move_on_after(timeout):
            await self._done.wait()
        if self._result is not None:
            return self._result
        if self._error is not None:
            raise OAuthFlowError(f"the sign-in was not approved ({self._error})")
        raise OAuthFlowError(f"no answer from the browser within {int(timeout)} seconds")
