"""Another process holding the database's write lock does not stall the server (issue 12, item 4).

A second connection (as the CLI would) holds `BEGIN IMMEDIATE` on the file for a few seconds. Every
request made meanwhile, tool calls with a token used for the first time included (whose
`last_used_at` must be written), is answered before the lock is released.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import pytest

from app.server.runner import ServerRunner
from app.store.db import DB_NAME
from tests.conftest import parts_of
from tests.support.oauth import OAuthClient, rpc_result

HOLD = 4.0  # seconds the other connection keeps the write lock
ASK_FOR = 1.5  # seconds into the hold during which requests are started


@pytest.mark.sqlite_only  # SQLite's file lock; on PostgreSQL every check runs on a worker thread (app/store/quick.py)
def test_requests_are_answered_while_another_connection_holds_the_write_lock(
    server: ServerRunner, client: OAuthClient
) -> None:
    warm = client.login()
    session = client.session(warm.access_token)
    fresh = client.login()  # never used yet: its first call queues a last_used_at write
    store = parts_of(server).store
    before = store.check_token(fresh.access_token)
    assert before is not None and before.last_used_at is None

    locked, released = threading.Event(), threading.Event()
    locked_at: list[float] = []
    released_at: list[float] = []

    def hold_lock() -> None:
        conn = sqlite3.connect(store.data_dir / DB_NAME, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE events SET detail = detail WHERE id = (SELECT MAX(id) FROM events)")
        locked_at.append(time.monotonic())
        locked.set()
        time.sleep(HOLD)
        released_at.append(time.monotonic())
        conn.execute("COMMIT")
        conn.close()
        released.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(10)
    answered: list[tuple[str, float, int]] = []
    try:
        while not answered or time.monotonic() < locked_at[0] + ASK_FOR:
            for name, token in (("warm", warm.access_token), ("fresh", fresh.access_token)):
                answer = client.call_add(token, session if name == "warm" else client.session(token))
                assert answer.status_code == 200 and not rpc_result(answer)["result"]["isError"]
                answered.append((name, time.monotonic(), answer.status_code))
            health = httpx.get(f"{server.base_url}/health", timeout=10)
            answered.append(("health", time.monotonic(), health.status_code))
    finally:
        holder.join()
    assert released.is_set() and released_at
    # Everything was answered while the lock was still held (the old server waited for it on every
    # first use of a token, and with it every other client).
    assert all(at < released_at[0] for _, at, _ in answered), (answered, released_at)
    assert {status for _, _, status in answered} == {200}
    # The deferred write lands once the lock is gone.
    assert store.later.flush()
    after = store.check_token(fresh.access_token)
    assert after is not None and after.last_used_at is not None
