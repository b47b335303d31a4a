"""The passkey store and its rules, and the passkey endpoints' refusals, without a browser.

Enrolment links and challenges are single use, bound to what they were made for, and expire; the
endpoints answer on the public way in only, from the public origin, and are rate limited. (The
ceremonies themselves run in real chromium: test_passkeys.py.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.auth.origins import parse_public_url
from app.auth.passkey_enrol import NO_REMOTE, enrolment_link
from app.server.ratelimit import Limit, RateLimits
from app.server.runner import ServerRunner
from app.store.passkeys import PasskeyError, clean_name
from app.store.store import Store
from tests.conftest import parts_of, start_runner
from tests.remote.headers import PUBLIC, via_proxy
from tests.support.oauth import register


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    yield s
    s.close()


def test_enrolment_link_is_for_one_origin_and_works_once(store: Store) -> None:
    link = enrolment_link(store, "  my   phone ", PUBLIC)
    assert link.startswith(f"{PUBLIC}/passkeys/enroll?t=")
    token = link.split("t=", 1)[1]
    enrolment = store.passkeys.enrolment(token, PUBLIC)
    assert enrolment.name == "my phone" and enrolment.expires_at > time.time() + 250
    with pytest.raises(PasskeyError, match=r"is for https://mcp\.example\.test"):
        store.passkeys.enrolment(token, "https://other.example.test")
    assert token not in str(store.db.conn.execute("SELECT * FROM passkey_enrolments").fetchall())  # hash only
    key = store.passkeys.add(enrolment, "mcp.example.test", b"cred-1", b"public-key", 0)
    assert [p.name for p in store.passkeys.list("mcp.example.test")] == ["my phone"]
    with pytest.raises(PasskeyError, match="already used"):
        store.passkeys.enrolment(token, PUBLIC)
    with pytest.raises(PasskeyError, match="already used"):
        store.passkeys.add(enrolment, "mcp.example.test", b"cred-2", b"public-key", 0)
    assert store.passkeys.list("other.example.test") == []
    assert store.passkeys.by_credential(b"cred-1", "mcp.example.test") == key
    assert store.passkeys.by_credential(b"cred-1", "other.example.test") is None


def test_expired_and_unknown_enrolments_are_refused(store: Store) -> None:
    token = store.passkeys.mint_enrolment("late", PUBLIC, ttl=-1)
    with pytest.raises(PasskeyError, match="expired"):
        store.passkeys.enrolment(token, PUBLIC)
    with pytest.raises(PasskeyError, match="not valid"):
        store.passkeys.enrolment("made-up", PUBLIC)


def test_no_public_url_means_nothing_to_enrol_for(store: Store) -> None:
    with pytest.raises(PasskeyError) as exc:
        enrolment_link(store, "phone", "")
    assert str(exc.value) == NO_REMOTE
    with pytest.raises(PasskeyError, match="https"):
        enrolment_link(store, "phone", "http://mcp.example.test")
    for bad in ("", "   ", "x" * 61):
        with pytest.raises(PasskeyError):
            clean_name(bad)


def test_challenges_are_bound_single_use_and_expire(store: Store) -> None:
    passkeys = store.passkeys
    challenge = passkeys.issue("approve", "approval-a", 120)
    assert passkeys.redeem("approve", "approval-b", challenge) is None  # another request
    assert passkeys.redeem("register", "approval-a", challenge) is None  # another purpose
    assert passkeys.redeem("approve", "approval-a", challenge) == ""
    assert passkeys.redeem("approve", "approval-a", challenge) is None  # used once
    old = passkeys.issue("approve", "approval-a", -1)
    assert passkeys.redeem("approve", "approval-a", old) is None  # expired
    session = passkeys.issue("session", "approval-a", 300, passkey_id="k1")
    assert passkeys.peek("session", "approval-a", session) == "k1"  # looking does not use it
    assert passkeys.redeem("session", "approval-a", session) == "k1"
    assert passkeys.peek("session", "approval-a", session) is None


def test_removing_a_passkey_ends_its_sessions(store: Store) -> None:
    token = store.passkeys.mint_enrolment("phone", PUBLIC)
    key = store.passkeys.add(store.passkeys.enrolment(token, PUBLIC), "mcp.example.test", b"c", b"k", 0)
    session = store.passkeys.issue("session", "approval-a", 300, passkey_id=key.id)
    assert store.passkeys.remove(key.id) == key
    assert store.passkeys.redeem("session", "approval-a", session) is None
    assert store.passkeys.remove(key.id) is None
    kinds = [e.kind for e in store.recent_events(10)]
    assert "passkey added" in kinds and "passkey removed" in kinds


@pytest.fixture
def public_server(data_dir: Path) -> Iterator[ServerRunner]:
    runner = start_runner(data_dir)
    runner.public.open(parse_public_url(PUBLIC))
    yield runner
    runner.close()


def _remote_wait(server: ServerRunner) -> str:
    """A remote sign-in request waiting for the owner; its waiting page's `wait` token."""
    client_id = register(server.base_url, "far client")
    answer = httpx.get(f"{server.base_url}/authorize", headers=via_proxy(), params={
        "response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/callback",
        "code_challenge": "x" * 43, "code_challenge_method": "S256", "state": "s", "resource": f"{PUBLIC}/mcp"})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"].split("wait=", 1)[1]


def test_endpoints_need_the_public_origin(public_server: ServerRunner) -> None:
    wait = _remote_wait(public_server)
    url = f"{public_server.base_url}/passkeys/approve/options"
    for origin in (None, "http://127.0.0.1:6274", "https://evil.example"):
        headers = via_proxy() | ({"Origin": origin} if origin else {})
        answer = httpx.post(url, json={"wait": wait}, headers=headers)
        assert answer.status_code == 403, (origin, answer.text)
    right = httpx.post(url, json={"wait": wait}, headers=via_proxy() | {"Origin": PUBLIC})
    assert right.status_code == 409 and right.json()["error"] == "no_passkey"  # no passkey registered
    bad = httpx.post(url, content=b"{not json", headers=via_proxy() | {"Origin": PUBLIC})
    assert bad.status_code == 400
    no_credential = httpx.post(f"{public_server.base_url}/passkeys/approve/verify", json={"wait": wait},
                               headers=via_proxy() | {"Origin": PUBLIC})
    assert no_credential.status_code in (400, 409)


def test_passkey_endpoints_are_rate_limited(public_server: ServerRunner) -> None:
    assert public_server.parts is not None
    parts_of(public_server).limiter.reset(RateLimits(passkey_per_address=Limit(3, 0.001)))
    wait = _remote_wait(public_server)
    answers = [httpx.post(f"{public_server.base_url}/passkeys/approve/options", json={"wait": wait},
                          headers=via_proxy() | {"Origin": PUBLIC}) for _ in range(5)]
    assert [a.status_code for a in answers] == [409, 409, 409, 429, 429]
    assert int(answers[3].headers["retry-after"]) >= 1 and "Too many passkey" in answers[3].json()["error_description"]
    # Another caller address has its own budget.
    other = httpx.post(f"{public_server.base_url}/passkeys/approve/options", json={"wait": wait},
                       headers=via_proxy(caller="198.51.100.9") | {"Origin": PUBLIC})
    assert other.status_code == 409
