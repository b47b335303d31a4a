"""The loopback callback: takes the code (or the refusal) from the browser's redirect, over a real socket.

Only the answer carrying the state of the bridge's own authorization request counts: any local
process can reach the port.
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from mcp.client.auth.exceptions import OAuthFlowError
from mcp.shared.auth import AuthorizationCodeResult

from app.bridge.callback import CallbackReceiver, state_of

pytestmark = pytest.mark.anyio


async def _visit(receiver: CallbackReceiver, paths: list[str], timeout: float = 5) -> tuple[list[int], object]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.listeners[0].extra(anyio.abc.SocketAttribute.local_port)
    statuses: list[int] = []
    outcome: object = None
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(receiver.serve, listener)
        async with httpx.AsyncClient(timeout=5) as http:
            for path in paths:
                statuses.append((await http.get(f"http://127.0.0.1:{port}{path}")).status_code)
        try:
            outcome = await receiver.wait(timeout)
        except OAuthFlowError as exc:
            outcome = exc
        tg.cancel_scope.cancel()
    return statuses, outcome


async def test_code_state_and_iss_reach_the_flow() -> None:
    paths = ["/favicon.ico", "/callback?code=c1&state=s1&iss=http%3A%2F%2Fx"]
    statuses, outcome = await _visit(CallbackReceiver("s1"), paths)
    assert statuses == [404, 200]
    assert outcome == AuthorizationCodeResult(code="c1", state="s1", iss="http://x")


async def test_refusal_in_the_browser_ends_the_flow_with_its_reason() -> None:
    statuses, outcome = await _visit(CallbackReceiver("s"), ["/callback?error=access_denied&state=s"])
    assert statuses == [200]
    assert isinstance(outcome, OAuthFlowError) and "access_denied" in str(outcome)


async def test_no_answer_in_time_is_a_clear_error() -> None:
    statuses, outcome = await _visit(CallbackReceiver("only"), ["/callback?state=only"], timeout=0.2)
    assert statuses == [400]
    assert isinstance(outcome, OAuthFlowError) and "no answer from the browser" in str(outcome)


async def test_forged_answers_with_another_state_are_refused_and_the_real_one_still_counts() -> None:
    # Another local process races the browser: a denial with a guessed state, one with no state,
    # and a code of its own. Each gets a 400 page; the receiver keeps waiting for its own answer.
    receiver = CallbackReceiver()
    receiver.expect(state_of("http://127.0.0.1:8787/authorize?client_id=c&state=the-real-state"))
    forged = ["/callback?error=access_denied&state=guess", "/callback?error=access_denied",
              "/callback?code=attacker-code&state=guess"]
    statuses, outcome = await _visit(receiver, [*forged, "/callback?code=c1&state=the-real-state"])
    assert statuses == [400, 400, 400, 200]
    assert outcome == AuthorizationCodeResult(code="c1", state="the-real-state", iss=None)


async def test_before_the_browser_is_opened_no_answer_is_taken() -> None:
    statuses, outcome = await _visit(CallbackReceiver(), ["/callback?error=access_denied&state=s"], timeout=0.2)
    assert statuses == [400]
    assert isinstance(outcome, OAuthFlowError) and "no answer from the browser" in str(outcome)


async def test_the_signed_in_page_looks_like_the_servers_pages() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.listeners[0].extra(anyio.abc.SocketAttribute.local_port)
    receiver = CallbackReceiver("s1")
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(receiver.serve, listener)
        async with httpx.AsyncClient(timeout=5) as http:
            page = await http.get(f"http://127.0.0.1:{port}/callback?code=c&state=s1")
        tg.cancel_scope.cancel()
    assert page.status_code == 200
    body = page.text
    assert '<main class="card ok"' in body and "<h1 id=\"title\">Signed in</h1>" in body
    assert ".card" in body and "data:image/svg+xml;base64," in body  # the consent page's style, inline
    assert "style-src 'unsafe-inline'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]
