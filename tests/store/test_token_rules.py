"""The token rules in the store: typed refusals, and the refresh retry window with its sealed pair."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.store.rows import IssuedTokens
from app.store.sealed import unseal
from app.store.store import Store, hash_secret
from app.store.token_rules import RETRY_WINDOW, Reason, Refused
from tests.support.postgres import everything_stored


def _code(store: Store, client_id: str = "c1", lifetime: float | None = None) -> str:
    if store.client_info(client_id) is None:
        store.add_client(client_id, "App", ["http://127.0.0.1/cb"], {"client_id": client_id})
    pending = store.approvals.create(client_id=client_id, request={"code_challenge": "x", "redirect_explicit": True},
                                   scopes=["mcp"], redirect_uri="http://127.0.0.1/cb")
    assert store.approvals.answer(pending.approval_id, approve=True, scopes=["mcp"], lifetime=lifetime) is not None
    delivery = store.approvals.deliver(pending.approval_id, 60)
    assert delivery is not None and delivery.code is not None
    return delivery.code


def _pair(store: Store, client_id: str = "c1") -> IssuedTokens:
    issued = store.redeem_code(hash_secret(_code(store, client_id)), 3600, 7200, client_id=client_id)
    assert isinstance(issued, IssuedTokens)
    return issued


def _rotate(store: Store, token: str, client_id: str = "c1", now: float | None = None) -> IssuedTokens | Refused:
    return store.rotate_refresh(token, client_id, ["mcp"], 3600, 7200, now=now)


def _all_dead(store: Store, *tokens: str) -> bool:
    checks = [store.check_token(t) for t in tokens]
    return all(c is not None and c.revoked for c in checks)


def test_a_retry_within_the_window_gets_the_very_same_pair(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    second = _rotate(store, first.refresh_token)
    again = _rotate(store, first.refresh_token, now=time.time() + RETRY_WINDOW - 1)
    assert isinstance(second, IssuedTokens) and isinstance(again, IssuedTokens)
    assert (again.access_token, again.refresh_token) == (second.access_token, second.refresh_token)
    assert again.scopes == second.scopes and 0 < again.access_expires_in <= second.access_expires_in
    assert len(store.list_tokens(include_inactive=True)) == 4  # the first pair and one new pair, no third
    assert store.check_access(second.access_token) == store.check_access(again.access_token)
    assert not isinstance(store.check_access(again.access_token), Refused)


def test_after_the_window_a_reuse_revokes_the_grant(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    second = _rotate(store, first.refresh_token)
    assert isinstance(second, IssuedTokens)
    late = _rotate(store, first.refresh_token, now=time.time() + RETRY_WINDOW + 1)
    assert late == Refused(Reason.REPLAYED)
    assert _all_dead(store, first.access_token, first.refresh_token, second.access_token, second.refresh_token)
    assert [e.kind for e in store.recent_events(2)] == ["refresh reused", "revoked"]


def test_another_client_with_the_spent_token_is_refused_and_the_grant_revoked(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    _pair(store, "c2")  # a second, honest client
    second = _rotate(store, first.refresh_token)
    assert isinstance(second, IssuedTokens)
    assert _rotate(store, first.refresh_token, client_id="c2") == Refused(Reason.REPLAYED)
    assert _all_dead(store, second.access_token, second.refresh_token)


def test_another_client_with_a_live_token_is_only_refused(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    _pair(store, "c2")
    assert _rotate(store, first.refresh_token, client_id="c2") == Refused(Reason.WRONG_CLIENT)
    assert isinstance(_rotate(store, first.refresh_token), IssuedTokens)


def test_a_retry_after_the_new_refresh_token_was_spent_is_a_replay(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    second = _rotate(store, first.refresh_token)
    assert isinstance(second, IssuedTokens)
    third = _rotate(store, second.refresh_token)
    assert isinstance(third, IssuedTokens)
    # The client got the second pair (it spent it), so the first token coming back is not a lost answer.
    assert _rotate(store, first.refresh_token) == Refused(Reason.REPLAYED)
    assert _all_dead(store, third.access_token, third.refresh_token)


def test_a_retry_after_the_owner_revoked_is_refused(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    assert isinstance(_rotate(store, first.refresh_token), IssuedTokens)
    store.revoke_all()
    assert _rotate(store, first.refresh_token) == Refused(Reason.REVOKED)


def test_a_retry_for_another_audience_is_refused_without_revoking(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    second = _rotate(store, first.refresh_token)
    assert isinstance(second, IssuedTokens)
    elsewhere = store.rotate_refresh(first.refresh_token, "c1", ["mcp"], 3600, 7200,
                                     audience=lambda resource: "issued for the other way in")
    assert elsewhere == Refused(Reason.WRONG_RESOURCE, "issued for the other way in")
    assert not isinstance(store.check_access(second.access_token), Refused)


def test_the_sealed_pair_is_useless_without_the_spent_token(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    second = _rotate(store, first.refresh_token)
    assert isinstance(second, IssuedTokens)
    boxes = store.db.conn.execute("SELECT token_hash, retry_box FROM tokens WHERE retry_box IS NOT NULL").fetchall()
    store.close()
    assert [r["token_hash"] for r in boxes] == [hash_secret(first.refresh_token)]
    box = bytes(boxes[0]["retry_box"])
    for secret in (second.access_token, second.refresh_token):
        for form in (secret, hash_secret(secret)):
            assert form.encode() not in box
    assert unseal(second.refresh_token, boxes[0]["token_hash"], box) is None  # any other token is the wrong key
    assert unseal(first.access_token, boxes[0]["token_hash"], box) is None
    assert unseal(first.refresh_token, hash_secret("another row"), box) is None  # bound to its own row
    opened = unseal(first.refresh_token, boxes[0]["token_hash"], box)
    assert opened is not None and opened.refresh_token == second.refresh_token
    raw = everything_stored(data_dir)
    for secret in (first.refresh_token, second.access_token, second.refresh_token):
        assert secret.encode() not in raw


def test_50_concurrent_refreshes_through_the_store_mint_one_pair(data_dir: Path) -> None:
    store = Store(data_dir)
    first = _pair(store)
    start = threading.Barrier(50)

    def one(_: int) -> IssuedTokens | Refused:
        start.wait()
        return _rotate(store, first.refresh_token)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(50)))
    assert all(isinstance(a, IssuedTokens) for a in answers)
    assert len({(a.access_token, a.refresh_token) for a in answers if isinstance(a, IssuedTokens)}) == 1
    assert len(store.list_tokens(include_inactive=True)) == 4
    assert [e.kind for e in store.recent_events(100)].count("refreshed") == 1


def test_codes_say_why_they_are_refused(data_dir: Path) -> None:
    store = Store(data_dir)
    code = _code(store)
    assert store.find_code(code, "c2") == Refused(Reason.WRONG_CLIENT)
    assert store.find_code(code, "c1", lambda resource: "not here") == Refused(Reason.WRONG_RESOURCE, "not here")
    assert store.find_code("nope", "c1") == Refused(Reason.UNKNOWN)
    store.db.tx(lambda c: c.execute("UPDATE codes SET expires_at = 0"))
    assert store.redeem_code(hash_secret(code), 60, 600, client_id="c1") == Refused(Reason.EXPIRED)
    fresh = _code(store)
    issued = store.redeem_code(hash_secret(fresh), 60, 600, client_id="c1")
    assert isinstance(issued, IssuedTokens)
    assert store.find_code(fresh, "c1") == Refused(Reason.REPLAYED)
    assert _all_dead(store, issued.access_token, issued.refresh_token)
    assert [e.kind for e in store.recent_events(2)] == ["code replayed", "revoked"]


def test_access_tokens_say_why_they_are_refused(data_dir: Path) -> None:
    store = Store(data_dir)
    issued = _pair(store)
    assert store.check_access("mcpat_unknown") == Refused(Reason.UNKNOWN)
    assert store.check_access(issued.refresh_token) == Refused(Reason.UNKNOWN)  # not an access token
    assert store.check_access(issued.access_token, lambda r: "elsewhere") == Refused(Reason.WRONG_RESOURCE, "elsewhere")
    store.db.tx(lambda c: c.execute("UPDATE tokens SET expires_at = 1 WHERE kind = 'access'"))
    assert store.check_access(issued.access_token) == Refused(Reason.EXPIRED)
    store.revoke_all()
    assert store.check_access(issued.access_token) == Refused(Reason.REVOKED)


def test_last_used_is_written_off_the_callers_thread(data_dir: Path) -> None:
    store = Store(data_dir)
    issued = _pair(store)
    check = store.check_access(issued.access_token)
    assert not isinstance(check, Refused) and check.last_used_at is None
    store.touch(check)
    store.touch(check)  # within the resolution: one write
    assert store.later.flush()
    after = store.check_token(issued.access_token)
    assert after is not None and after.last_used_at is not None
    assert abs(after.last_used_at - time.time()) < 60


@pytest.mark.sqlite_only
def test_the_event_loops_check_sees_every_change_at_once(data_dir: Path) -> None:
    """The no-wait check remembers a token's row, but never past a commit by anyone or the token's end."""
    store, other = Store(data_dir), Store(data_dir)
    issued, kept = _pair(store), _pair(store)
    for _ in range(3):  # remembered: the same answer
        check = store.check_access(issued.access_token, wait=False)
        assert not isinstance(check, Refused)
    assert store.check_access(issued.access_token, lambda r: "elsewhere", wait=False) == Refused(
        Reason.WRONG_RESOURCE, "elsewhere")  # the audience is judged on every call, remembered or not
    assert not isinstance(check, Refused)
    assert other.revoke_tokens([check.token_id]) == [check.token_id]  # another connection of this process
    assert store.check_access(issued.access_token, wait=False) == Refused(Reason.REVOKED)
    assert not isinstance(store.check_access(kept.access_token, wait=False), Refused)
    revoke = "import pathlib, sys; from app.store.store import Store; Store(pathlib.Path(sys.argv[1])).revoke_all()"
    subprocess.run([sys.executable, "-c", revoke, str(data_dir)], check=True, timeout=60)  # another process
    assert store.check_access(kept.access_token, wait=False) == Refused(Reason.REVOKED)


@pytest.mark.sqlite_only
def test_the_event_loops_check_sees_a_grant_run_out_with_no_commit(data_dir: Path) -> None:
    store = Store(data_dir)
    issued = store.redeem_code(hash_secret(_code(store, lifetime=1.0)), 3600, 7200, client_id="c1")
    assert isinstance(issued, IssuedTokens)
    assert not isinstance(store.check_access(issued.access_token, wait=False), Refused)
    time.sleep(1.2)
    assert isinstance(store.check_access(issued.access_token, wait=False), Refused)


@pytest.mark.sqlite_only
def test_unknown_tokens_are_not_remembered(data_dir: Path) -> None:
    store = Store(data_dir)
    _pair(store)
    for n in range(50):
        assert store.check_access(f"mcpat_unknown{n}", wait=False) == Refused(Reason.UNKNOWN)
    assert all(not r.answers for r in store.quick._by_thread.values())
