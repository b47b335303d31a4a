"""The outer guard and the bearer check, in process: an ASGI stack driven by httpx's ASGITransport."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.auth.bearer import GRANT_KEY, BearerGuard, LiveConnections
from app.auth.origins import ServerIdentity
from app.server.guard import MAX_BODY, Guard
from app.server.stats import ServerStats
from app.store.quick import BusyError
from app.store.rows import IssuedTokens, TokenCheck
from app.store.store import Store, hash_secret
from app.store.token_rules import Audience, Refused, anywhere

PORT = 8787  # never bound: requests go straight into the ASGI app
BASE = f"http://127.0.0.1:{PORT}"


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The protected app: says who the bearer guard let in."""
    user = scope.get("user")
    token = getattr(user, "access_token", None)
    await JSONResponse({"client_id": getattr(token, "client_id", None), "grant": scope.get(GRANT_KEY),
                        "path": scope["path"]})(scope, receive, send)


def _stack(store: Store) -> Guard:
    identity = ServerIdentity(PORT)
    bearer = BearerGuard(echo, store, identity, LiveConnections(), "/mcp")
    return Guard(bearer, identity, ServerStats())


def _issue(store: Store, resource: str | None = f"{BASE}/mcp") -> IssuedTokens:
    store.add_client("c1", "App", ["http://127.0.0.1/cb"], {"client_id": "c1"})
    pending = store.approvals.create(client_id="c1", scopes=["mcp"], redirect_uri="http://127.0.0.1/cb",
                                   request={"resource": resource, "code_challenge": "x", "redirect_explicit": True})
    store.approvals.answer(pending.approval_id, approve=True, scopes=["mcp"])
    delivery = store.approvals.deliver(pending.approval_id, 60)
    assert delivery is not None and delivery.code is not None
    issued = store.redeem_code(hash_secret(delivery.code), 600, 6000)
    assert isinstance(issued, IssuedTokens)
    return issued


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = Store(data_dir)
    yield opened
    opened.close()


def _send(app: Guard, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
            return await http.request(method, path, **kwargs)

    return anyio.run(go)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the outer guard ---------------------------------------------------------------------------


def test_a_foreign_host_is_refused_with_an_oauth_error(store: Store) -> None:
    answer = _send(_stack(store), "GET", "/mcp", headers={"Host": "evil.example"})
    assert answer.status_code == 421
    assert answer.json() == {"error": "invalid_host",
                             "error_description": "This server only answers to its loopback address"}
    assert answer.headers["cache-control"] == "no-store"


def test_a_foreign_origin_is_refused_and_a_loopback_page_gets_cors(store: Store) -> None:
    foreign = _send(_stack(store), "POST", "/mcp", headers={"Origin": "https://evil.example"}, content=b"{}")
    assert foreign.status_code == 403 and foreign.json()["error"] == "forbidden_origin"
    preflight = _send(_stack(store), "OPTIONS", "/mcp", headers={
        "Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:6274"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    refused = _send(_stack(store), "GET", "/mcp", headers={"Origin": "http://localhost:6274"})
    assert refused.status_code == 401  # the bearer check still runs, and its answer carries CORS headers
    assert refused.headers["access-control-allow-origin"] == "http://localhost:6274"
    assert "WWW-Authenticate" in refused.headers["access-control-expose-headers"]


def test_bodies_are_bounded(store: Store) -> None:
    big = _send(_stack(store), "POST", "/mcp", headers={"Content-Length": str(MAX_BODY + 1)}, content=b"x")
    assert big.status_code == 413 and big.json()["error"] == "request_too_large"
    bad = _send(_stack(store), "POST", "/mcp", headers={"Content-Length": "ten"}, content=b"x")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"


# -- the bearer check ----------------------------------------------------------------------------


def test_no_token_gets_the_challenge(store: Store) -> None:
    answer = _send(_stack(store), "POST", "/mcp", content=b"{}")
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_request", "error_description": "Authentication required"}
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and f'resource_metadata="{BASE}/.well-known/' in challenge
    assert "error=" not in challenge


@pytest.mark.parametrize("case", ["unknown", "refresh", "revoked", "expired", "elsewhere"])
def test_each_refused_token_says_why(store: Store, case: str) -> None:
    issued = _issue(store, resource="https://other.example/mcp" if case == "elsewhere" else f"{BASE}/mcp")
    token = {"unknown": "mcpat_nope", "refresh": issued.refresh_token}.get(case, issued.access_token)
    if case == "revoked":
        store.revoke_all()
    if case == "expired":
        store.db.tx(lambda c: c.execute("UPDATE tokens SET expires_at = 1"))
    answer = _send(_stack(store), "POST", "/mcp", headers=_bearer(token), content=b"{}")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    expected = {"unknown": "is not valid", "refresh": "is not valid", "revoked": "was revoked",
                "expired": "has expired", "elsewhere": "another resource"}[case]
    assert expected in answer.json()["error_description"]
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_a_valid_token_reaches_the_app_and_its_use_is_noted_later(store: Store) -> None:
    issued = _issue(store)
    answer = _send(_stack(store), "POST", "/mcp", headers=_bearer(issued.access_token), content=b"{}")
    check = store.check_token(issued.access_token)
    assert check is not None
    assert answer.status_code == 200 and answer.json() == {"client_id": "c1", "grant": check.grant_id, "path": "/mcp"}
    assert store.later.flush()
    used = store.check_token(issued.access_token)
    assert used is not None and used.last_used_at is not None


class _BusyStore(Store):
    """A store whose no-wait read always reports a lock, and whose waiting read waits for `release`."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.release = threading.Event()
        self.waiting = threading.Event()

    def check_access(self, token: str, audience: Audience = anywhere, wait: bool = True) -> TokenCheck | Refused:
        if not wait:
            raise BusyError("database is locked")
        self.waiting.set()
        assert self.release.wait(10)
        return super().check_access(token, audience)


def test_a_check_that_must_wait_waits_off_the_loop(data_dir: Path) -> None:
    """While one request's token check waits for the database, the loop answers other requests."""
    store = _BusyStore(data_dir)
    issued = _issue(store)
    app = _stack(store)
    order: list[str] = []

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
            async def waiting_call() -> None:
                answer = await http.post("/mcp", headers=_bearer(issued.access_token), content=b"{}")
                order.append(f"call {answer.status_code}")

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiting_call)
                await anyio.to_thread.run_sync(store.waiting.wait, 10)
                answer = await http.post("/mcp", content=b"{}")  # the loop is free: this one is answered
                order.append(f"other {answer.status_code}")
                store.release.set()

    try:
        anyio.run(go)
    finally:
        store.close()
    assert order == ["other 401", "call 200"]
