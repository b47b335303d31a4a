"""/register cannot be used to fill the disk: one global budget, bounded metadata, stale rows pruned.

Any local process may register, from any 127.x.y.z address it likes, and everything it sends
is stored.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import register as register_module
from app.auth.register import MAX_BODY, MAX_DEPTH, MAX_ITEMS, MAX_STRING
from app.server.ratelimit import RateLimits
from app.server.runner import ServerRunner
from app.store import activity
from app.store.kinds import EventKind
from app.store.sql import Conn
from app.store.store import PENDING_TTL, Store
from tests.conftest import parts_of, start_runner
from tests.support.oauth import obtain_tokens

REDIRECT = "http://127.0.0.1:1/cb"


def metadata(**extra: Any) -> dict[str, Any]:
    """A valid registration, with `extra` fields added or replaced."""
    return {"client_name": "bounds", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", **extra}


def post(base: str, body: object, source: str = "127.0.0.1") -> httpx.Response:
    """POST /register from the loopback address `source`."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10) as http:
        return http.post(f"{base}/register", content=content, headers={"Content-Type": "application/json"})


def test_one_budget_for_every_source_address(server: ServerRunner) -> None:
    # Each request from a new 127.0.x.y address: with a budget per address, every one got through.
    budget = RateLimits().register_global
    started = time.monotonic()
    statuses = [post(server.base_url, metadata(), f"127.0.{1 + i // 250}.{1 + i % 250}").status_code
                for i in range(int(budget.burst) + 20)]
    refilled = int((time.monotonic() - started) * budget.per_second)  # one more per 10 s of test time
    assert budget.burst <= statuses.count(201) <= budget.burst + refilled, statuses  # before: every one
    assert set(statuses) == {201, 429}


@pytest.mark.parametrize(("body", "says"), [
    (metadata(client_name="n" * (MAX_STRING + 1)), "client_name is longer than"),
    (metadata(software_id="s" * (MAX_STRING + 1)), "software_id is longer than"),
    (metadata(redirect_uris=[f"http://127.0.0.1:{p}/cb" for p in range(1, MAX_ITEMS + 2)]), "redirect_uris has more"),
    (metadata(contacts=["a@example.com"] * (MAX_ITEMS + 1)), "contacts has more"),
    (metadata(jwks={"keys": [{"k": "v" * 2000}] * 9}), f"at most {MAX_BODY // 1024} KiB"),
    (metadata(jwks={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}), f"nested more than {MAX_DEPTH}"),
])
def test_oversized_metadata_is_refused_and_nothing_is_stored(server: ServerRunner, body: Any, says: str) -> None:
    answer = post(server.base_url, body)
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"] == "invalid_client_metadata" and says in answer.json()["error_description"]
    assert parts_of(server).store.list_clients() == []


def test_metadata_within_the_bounds_is_stored(server: ServerRunner) -> None:
    answer = post(server.base_url, metadata(client_name="n" * MAX_STRING, contacts=["a@example.com"] * MAX_ITEMS))
    assert answer.status_code == 201, answer.text[:300]


@pytest.mark.parametrize("depth", [40, 5000])
def test_deeply_nested_json_is_a_400_not_a_500(server: ServerRunner, depth: int) -> None:
    body = b'{"client_name": "deep", "redirect_uris": ["' + REDIRECT.encode() + b'"], "jwks": ' + \
        b"[" * depth + b"]" * depth + b"}"
    answer = post(server.base_url, body)
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"] == "invalid_client_metadata" and "Traceback" not in answer.text
    assert parts_of(server).stats.snapshot().last_error is None


def _age(store: Store, client_id: str, seconds: float) -> None:
    store.db.conn.execute("UPDATE clients SET created_at = created_at - ? WHERE client_id = ?", (seconds, client_id))


def test_registrations_never_approved_within_a_day_are_pruned_at_start(data_dir: Path) -> None:
    runner = start_runner(data_dir)
    try:
        base = runner.base_url
        stale = post(base, metadata(client_name="never approved")).json()["client_id"]
        fresh = post(base, metadata(client_name="just registered")).json()["client_id"]
        approved = obtain_tokens(base, "approved long ago").client_id
        store = parts_of(runner).store
        for client_id in (stale, approved):
            _age(store, client_id, PENDING_TTL + 3600)
    finally:
        runner.close()
    again = start_runner(data_dir)
    try:
        kept = {c.client_id for c in parts_of(again).store.list_clients()}
        assert stale not in kept and {fresh, approved} <= kept
    finally:
        again.close()


def test_a_registration_prunes_when_a_prune_is_due(server: ServerRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = post(server.base_url, metadata(client_name="never approved")).json()["client_id"]
    store = parts_of(server).store
    _age(store, stale, PENDING_TTL + 1)
    assert post(server.base_url, metadata()).status_code == 201  # not due yet: kept
    assert stale in {c.client_id for c in store.list_clients()}
    monkeypatch.setattr(register_module, "PRUNE_INTERVAL", 0.0)
    assert post(server.base_url, metadata()).status_code == 201
    assert stale not in {c.client_id for c in store.list_clients()}


def test_activity_keeps_only_the_newest_rows(data_dir: Path) -> None:
    store = Store(data_dir)
    try:
        now = time.time()

        def flood(conn: Conn) -> None:
            for i in range(activity.KEEP + activity.PRUNE_EVERY - 1):
                conn.execute("INSERT INTO events (at, kind, client_id, detail) VALUES (?, 'unknown client', NULL, ?)",
                             (now, f"flood {i}"))

        store.db.tx(flood)
        store.log_event(EventKind.REMOTE_REQUEST, None, "the line that triggers the prune")
        count = store.db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        assert count == activity.KEEP
        newest = store.recent_events(1)[0]
        assert newest.kind == EventKind.REMOTE_REQUEST and newest.detail == "the line that triggers the prune"
    finally:
        store.close()
