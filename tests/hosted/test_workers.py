"""Two workers on PostgreSQL behind real Caddy: sign-in, refresh races, revocation, shared limits, SSE.

Every client goes through Caddy's HTTPS URL; the workers share the supervisor's socket, so which
worker answers is the kernel's choice, and the JSON access log (pid per line) shows the spread.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from app.store.sql import Conn
from app.store.store import Store
from bench.support.mcp_session import text_of
from tests.hosted.stack import Stack, call_add, owner_on, sdk_sign_in_and_add, start_stack, streams_on_every_worker
from tests.remote.proxies import client_env, resolve_in_this_process
from tests.support.clients import mcp_remote_command, mcp_remote_env
from tests.support.oauth import refresh, run_flow
from tests.support.postgres import Cluster
from tests.support.serve import REPO, app_command

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(postgres_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Caddy and `serve --workers 2` on one database, for the whole module."""
    built = start_stack(postgres_cluster, tmp_path_factory.mktemp("hosted"), workers=2)
    yield built
    built.serve.stop()
    built.caddy.stop()


@pytest.fixture
def hosted(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The stack, with this test's clients resolving its name and its owner CLI on its database."""
    resolve_in_this_process(monkeypatch, stack.caddy)
    owner_on(monkeypatch, stack)
    return stack


def _pids(records: list[dict[str, object]]) -> set[object]:
    return {r["pid"] for r in records}


@pytest.mark.anyio
async def test_sdk_client_signs_in_and_calls_through_caddy(hosted: Stack) -> None:
    assert await sdk_sign_in_and_add(f"{hosted.public_url}/mcp", "SDK client, hosted") == "5"
    store = Store(hosted.data_dir)
    try:
        mine = [t for t in store.list_tokens() if t.client_name == "SDK client, hosted"]
        assert mine and all(t.remote for t in mine)  # in PostgreSQL, seen from this process
    finally:
        store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/mcp", "/sse"])
async def test_mcp_remote_signs_in_and_calls_through_caddy(hosted: Stack, tmp_path: Path, path: str) -> None:
    command = mcp_remote_command()
    if command is None:
        pytest.fail("mcp-remote is not installed; run `npm ci` (the test command does)")
    browser_log = tmp_path / "browser.log"
    env = client_env(hosted.caddy, mcp_remote_env(tmp_path, browser_log))
    params = StdioServerParameters(command=command, args=[f"{hosted.public_url}{path}"], env=env)
    with open(tmp_path / "mcp-remote.stderr", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(4):  # several calls: on /sse their posts reach any worker, the stream's owner answers
                result = await session.call_tool("add", {"a": 2, "b": 3})
                assert text_of(result) == "5"
    assert browser_log.read_text().splitlines()[0].startswith(f"{hosted.public_url}/authorize?")


def test_sse_posts_reach_the_worker_that_holds_the_stream(hosted: Stack) -> None:
    tokens = run_flow(hosted.public_url, "sse relay")
    opened = streams_on_every_worker(hosted.public_url, tokens.access_token, 2)
    try:
        for stream in opened:
            for n in range(3):  # each post on a fresh connection: any worker takes it, the owner answers
                with httpx.Client(timeout=15) as fresh:
                    answer = fresh.post(f"{hosted.public_url}{stream.endpoint}", headers={
                        "Authorization": f"Bearer {tokens.access_token}"}, json={
                        "jsonrpc": "2.0", "id": n, "method": "ping"})
                assert answer.status_code == 202, answer.text
                assert not stream.ended()  # the pong came back on the stream
    finally:
        for stream in opened:
            stream.close()
    time.sleep(0.5)
    posts = [r for r in hosted.serve.records() if r.get("logger") == "mcp_tray.access"
             and str(r.get("request", {}).get("path", "")).startswith("/messages/w")]
    relayed = [r for r in posts if r["request"]["peer"] is not None
               and f"/messages/w{hosted.serve.workers.index(int(r['pid']))}/" != r["request"]["path"]]
    assert relayed  # some posts came to the worker that did not hold their stream, and were passed on


def test_fifty_concurrent_refreshes_of_one_token_rotate_it_once(hosted: Stack) -> None:
    """Spread over both workers, one refresh rotates the token; the 49 others are retries within the
    window (issue 12: a lost answer must not force a new sign-in) and get that very pair."""
    tokens = run_flow(hosted.public_url, "refresh race")
    before = len(hosted.serve.served("POST", "/token"))
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: refresh(hosted.public_url, tokens.client_id, tokens.refresh_token),
                                range(50)))
    assert [a.status_code for a in answers] == [200] * 50, sorted(a.status_code for a in answers)
    assert len({(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}) == 1
    time.sleep(0.5)  # the access lines are written as the responses end
    served = hosted.serve.served("POST", "/token")[before:]
    assert len(served) >= 50 and len(_pids(served)) == 2  # both workers took part in the race


def test_cli_revocation_is_401_on_every_worker_and_closes_streams(hosted: Stack) -> None:
    tokens = run_flow(hosted.public_url, "revoke me")
    assert call_add(hosted.public_url, tokens.access_token).status_code == 200
    opened = streams_on_every_worker(hosted.public_url, tokens.access_token, 2)
    done = subprocess.run(app_command("tokens", "revoke", "--client", tokens.client_id, "--data-dir",
                                      str(hosted.data_dir)), cwd=REPO, env=hosted.env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    try:
        assert all(stream.ended() for stream in opened)  # every stream, on both workers (LISTEN/NOTIFY)
    finally:
        for stream in opened:
            stream.close()
    before = len(hosted.serve.served("POST", "/mcp"))
    for _ in range(12):  # fresh connections straight to the workers' port: both answer, both refuse
        assert call_add(hosted.serve.base, tokens.access_token).status_code == 401
    time.sleep(0.5)
    refused = [r for r in hosted.serve.served("POST", "/mcp")[before:] if r.get("status") == 401]
    assert len(refused) == 12 and len(_pids(refused)) == 2


def test_rate_limits_are_shared_by_the_workers(postgres_cluster: Cluster, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A tenth of the limits: /register allows 3 at once for everyone; per-worker buckets would allow 6.
    stack = start_stack(postgres_cluster, tmp_path, workers=2, MCP_TRAY_RATE_LIMIT_SCALE="0.1")
    try:
        resolve_in_this_process(monkeypatch, stack.caddy)
        body = {"client_name": "flood", "redirect_uris": ["http://127.0.0.1:33418/callback"],
                "token_endpoint_auth_method": "none"}
        # Which worker accepts a new connection is the kernel's choice: post until each has answered at
        # least 3 (per-worker buckets would then have let 6 through), at most 100 posts (the bucket
        # refills one every 100 s).
        codes: list[int] = []
        per_worker: dict[object, int] = {}
        while len(codes) < 100 and (len(per_worker) < 2 or min(per_worker.values()) < 3):
            with httpx.Client(timeout=15) as fresh:
                codes.append(fresh.post(f"{stack.serve.base}/register", json=body).status_code)
            if len(codes) % 6 == 0:
                time.sleep(0.3)  # the access lines are written as each answer ends
                per_worker = {pid: sum(1 for r in stack.serve.served("POST", "/register") if r["pid"] == pid)
                              for pid in _pids(stack.serve.served("POST", "/register"))}
        assert len(per_worker) == 2 and min(per_worker.values()) >= 3, per_worker
        assert codes.count(201) == 3 and codes.count(429) == len(codes) - 3, codes
    finally:
        stack.serve.stop()
        stack.caddy.stop()


def test_health_and_ready_on_every_worker(hosted: Stack) -> None:
    health = [httpx.get(f"{hosted.serve.base}/health", timeout=10) for _ in range(12)]
    assert all(h.status_code == 200 and h.json()["status"] == "ok" for h in health)
    assert {h.json()["pid"] for h in health} == set(hosted.serve.workers)
    ready = httpx.get(f"{hosted.public_url}/ready", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert "postgresql" not in ready.text and hosted.database not in ready.text


def _address_tokens(store: Store, tokens: float | None = None) -> float:
    """The shared per-address bucket's tokens; with `tokens`, set them first and stop its refill."""

    def run(conn: Conn) -> float:
        if tokens is not None:  # `at` an hour ahead: no refill while the test runs, so each take shows
            conn.execute("UPDATE rate_buckets SET tokens = ?, at = ? WHERE kind = 'remote-address'",
                         (tokens, time.time() + 3600))
        rows = conn.execute("SELECT tokens FROM rate_buckets WHERE kind = 'remote-address'").fetchall()
        assert len(rows) == 1, rows  # one caller address: Caddy's X-Forwarded-For
        return float(rows[0][0])

    return store.db.tx(run)


def test_a_relayed_sse_post_counts_once_in_the_per_address_limit(hosted: Stack) -> None:
    tokens = run_flow(hosted.public_url, "sse relay limit")
    opened = streams_on_every_worker(hosted.public_url, tokens.access_token, 2)
    store = Store(hosted.data_dir)
    posts = 0
    try:
        before = _address_tokens(store, 500.0)
        started = len(hosted.serve.records())
        for stream in opened:
            for n in range(3):  # fresh connections: some land on the worker without the stream, and are relayed
                with httpx.Client(timeout=15) as fresh:
                    answer = fresh.post(f"{hosted.public_url}{stream.endpoint}", headers={
                        "Authorization": f"Bearer {tokens.access_token}"}, json={
                        "jsonrpc": "2.0", "id": n, "method": "ping"})
                assert answer.status_code == 202, answer.text
                posts += 1
        spent = before - _address_tokens(store)
        time.sleep(0.5)
        records = hosted.serve.records()[started:]
        relayed = [r for r in records if r.get("logger") == "mcp_tray.access"
                   and str(r.get("request", {}).get("path", "")).startswith("/messages/w")
                   and f"/messages/w{hosted.serve.workers.index(int(r['pid']))}/" != r["request"]["path"]]
        assert relayed  # some posts were passed on to the stream's worker
        assert spent == posts, (spent, posts, len(relayed))  # each post once, relayed or not
    finally:
        store.db.tx(lambda conn: conn.execute("DELETE FROM rate_buckets WHERE kind = 'remote-address'"))
        store.close()
        for stream in opened:
            stream.close()
