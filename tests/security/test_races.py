"""Races: concurrent refreshes with one refresh token, requests racing a revocation, and rate limits (429)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from app.server.ratelimit import Limit, RateLimits
from app.server.runner import ServerRunner
from app.store.store import hash_secret
from tests.conftest import parts_of
from tests.support.oauth import MCP_HEADERS, OAuthClient


def _refresh_all(base_url: str, client_id: str, refresh_token: str, n: int) -> list[httpx.Response]:
    """`n` threads, each with its own connection, send the same refresh at the same moment."""
    start = threading.Barrier(n)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}

    def one() -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            start.wait()
            return http.post("/token", data=form)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: one(), range(n)))


def test_50_concurrent_refreshes_all_get_the_one_new_pair(server: ServerRunner, client: OAuthClient) -> None:
    """All 50 answers carry the same new pair (each retry within the window gets it); one pair is minted.

    "Consistent" afterwards means: the grant holds exactly the original pair and the one new pair,
    the spent refresh token was rotated once, the new pair works, and no request answered 5xx.
    """
    tokens = client.login()
    answers = _refresh_all(server.base_url, client.client_id, tokens.refresh_token, 50)
    assert [a.status_code for a in answers] == [200] * 50, {a.text for a in answers}
    pairs = {(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}
    assert len(pairs) == 1
    access, refresh = pairs.pop()
    store = parts_of(server).store
    check = store.check_token(tokens.refresh_token)
    assert check is not None
    grant_id = check.grant_id
    rows = [t for t in store.list_tokens(include_inactive=True) if t.grant_id == grant_id]
    assert sorted(t.kind for t in rows) == ["access", "access", "refresh", "refresh"]
    spent, fresh = store.check_token(tokens.refresh_token), store.check_token(refresh)
    assert spent is not None and fresh is not None
    assert spent.rotated_at is not None and fresh.rotated_at is None and not fresh.revoked
    assert fresh.token_hash == hash_secret(refresh) and fresh.grant_id == grant_id
    assert client.mcp(access).status_code == 200
    assert client.refresh(refresh).status_code == 200  # the new refresh token rotates in turn
    assert parts_of(server).stats.snapshot().last_error is None


def _hammer_until_revoked(client: OAuthClient, token: str, revoke: Callable[[], object]) -> None:
    """Four threads call /mcp with `token` during `revoke()`; nothing started after it returns passes."""
    results: list[tuple[float, int]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=client.base, timeout=10) as http:
            while not stop.is_set():
                started = time.monotonic()
                status = http.post(
                    "/mcp",
                    json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                    headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
                ).status_code
                with lock:
                    results.append((started, status))

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(worker)
        deadline = time.monotonic() + 20
        while len(results) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)  # the token demonstrably works before it is revoked
        revoke()
        returned = time.monotonic()
        time.sleep(0.5)
        stop.set()
    before = [s for t, s in results if t < returned]
    after = [s for t, s in results if t > returned]
    assert after and set(after) == {401}, after
    # The requests before revocation did reach the server (the session-less ping is 400, not 401).
    assert any(s != 401 for s in before)


def test_no_request_succeeds_after_revoke_endpoint_returns(client: OAuthClient) -> None:
    tokens = client.login()
    _hammer_until_revoked(client, tokens.access_token, lambda: client.revoke(tokens.refresh_token).raise_for_status())


def test_no_request_succeeds_after_store_revocation_returns(server: ServerRunner, client: OAuthClient) -> None:
    tokens = client.login()
    store = parts_of(server).store
    check = store.check_token(tokens.access_token)
    assert check is not None
    _hammer_until_revoked(client, tokens.access_token, lambda: store.revoke_tokens([check.token_id]))


def test_register_rate_limited_with_retry_after(server: ServerRunner) -> None:
    parts_of(server).limiter.reset(RateLimits(register_global=Limit(3, 0.5)))
    body = {"client_name": "x", "redirect_uris": ["http://127.0.0.1:1/cb"]}
    statuses = [httpx.post(f"{server.base_url}/register", json=body) for _ in range(5)]
    assert [s.status_code for s in statuses] == [201, 201, 201, 429, 429]
    limited = statuses[-1]
    assert limited.json()["error"] == "too_many_requests"
    assert 1 <= int(limited.headers["retry-after"]) <= 3
    assert len(parts_of(server).store.list_clients()) == 3
    time.sleep(int(limited.headers["retry-after"]))
    assert httpx.post(f"{server.base_url}/register", json=body).status_code == 201


def test_token_rate_limited_per_client_and_per_address(server: ServerRunner, client: OAuthClient) -> None:
    other = OAuthClient(server.base_url, name="Other")
    try:
        parts = server.parts
        assert parts is not None
        parts.limiter.reset(RateLimits(token_per_client=Limit(3, 0.01), token_per_address=Limit(8, 0.01)))
        garbage = [client.refresh("x").status_code for _ in range(4)]
        assert garbage == [400, 400, 400, 429]
        # another client from the same address still has its own budget...
        assert [other.refresh("x").status_code for _ in range(3)] == [400, 400, 400]
        # ...until the address budget (8) runs out for everyone
        assert other.refresh("x").status_code == 429
        answer = client.http.post("/token", data={"client_id": "third", "grant_type": "refresh_token"})
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
        parts.limiter.reset(RateLimits())
        assert client.login().access_token  # the default limits leave normal use alone
    finally:
        other.close()
