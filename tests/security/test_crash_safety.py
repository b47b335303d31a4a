"""kill -9 during a burst of sign-ins and refreshes: the store survives, nothing committed is lost."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx

from app.store.db import DB_NAME
from app.store.store import Store
from tests.support import oauth
from tests.support.oauth import INITIALIZE, MCP_HEADERS, OAuthClient
from tests.support.serve import ServeProcess, free_port

BURST_SECONDS = 1.5
WORKERS = 4


def _burst(client: OAuthClient, issued: list[dict[str, str]], stop: threading.Event) -> None:
    """Sign in, refresh three times, repeat; keep every token response the server answered 200."""
    while not stop.is_set():
        try:
            tokens = client.login()
            issued.append(tokens.raw)
            refresh = tokens.refresh_token
            for _ in range(3):
                answer = client.refresh(refresh)
                if answer.status_code != 200:
                    break
                issued.append(answer.json())
                refresh = answer.json()["refresh_token"]
        except (httpx.HTTPError, AssertionError, KeyError, ValueError):
            return  # the server died under us; what it answered before counts


def test_kill_9_during_burst_loses_no_committed_grant(data_dir: Path, backend: str) -> None:
    port = free_port()
    server = ServeProcess(data_dir, port)
    steady = OAuthClient(server.base, name="Steady client")
    workers = [OAuthClient(server.base, name=f"Burst {i}") for i in range(WORKERS)]
    try:
        before = steady.login()
        issued: list[list[dict[str, str]]] = [[] for _ in workers]
        stop = threading.Event()
        threads = [threading.Thread(target=_burst, args=(w, out, stop)) for w, out in zip(workers, issued, strict=True)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while sum(len(out) for out in issued) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.05)  # a slow machine: wait until the burst is really going
        time.sleep(BURST_SECONDS)
        server.kill()  # mid-burst: requests are in flight
        stop.set()
        for thread in threads:
            thread.join(30)
    finally:
        for c in (steady, *workers):
            c.close()
    responses = [r for out in issued for r in out]
    assert len(responses) >= WORKERS, "the burst never got going"

    if backend == "sqlite":  # (PostgreSQL's own recovery is its business; what matters is below)
        with sqlite3.connect(data_dir / DB_NAME) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []

    restarted = ServeProcess(data_dir, port)
    store = Store(data_dir)
    try:
        for response in responses:  # every pair the server answered 200 for was committed
            access = store.check_token(response["access_token"])
            assert access is not None and access.kind == "access" and not access.revoked  # grant intact
            refresh = store.check_token(response["refresh_token"])
            # a refresh token is either live or was spent by a later refresh (rotation), never lost
            assert refresh is not None and refresh.kind == "refresh"
            assert not refresh.revoked or refresh.rotated_at is not None
        with httpx.Client(base_url=restarted.base, timeout=20) as http:
            # clients with valid tokens keep working: the steady one and each burst's newest access token
            newest = [out[-1]["access_token"] for out in issued if out]
            for token in (before.access_token, *newest):
                answer = http.post(
                    "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"}
                )
                assert answer.status_code == 200, answer.text
            # and the steady client can still refresh
            refreshed = oauth.refresh(restarted.base, steady.client_id, before.refresh_token, http=http)
            assert refreshed.status_code == 200
    finally:
        store.close()
        assert restarted.stop()[0] == 0
