"""Approving away from the desk with a passkey, for real: Caddy (TLS, its internal CA) in front of
`mcp-tray serve --public-url`, Debian's chromium with a CDP virtual authenticator (user verification
on), the owner's enrolment link from `mcp-tray passkeys add`, and a client signing in through the
public URL that gets its code and calls add(2, 3).

The server, Caddy and chromium's trust in Caddy's root: tests/support/public_browser.py. The tests run in file order:
the first one has no passkey yet, the last one removes it.
Set UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/passkey-*.png from this run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from app.store.store import Store
from tests.remote.proxies import TEST_HOST, resolve_in_this_process
from tests.support import owner
from tests.support.consent import query_of
from tests.support.oauth import OAuthClient, pkce_pair, rpc_result
from tests.support.public_browser import PublicServer, public_server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSKEY_NAME = "Pixel in my pocket"

# Runs inside the page: a passkey step against our endpoints, returning the assertion (not sent).
ASSERTION_JS = """
async (wait) => {
  const b = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((t.length + 3) % 4)),
                                    c => c.charCodeAt(0)).buffer;
  const e = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_')
                       .replace(/=+$/, '');
  const r = await fetch('/passkeys/approve/options', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                       body: JSON.stringify({wait})});
  if (!r.ok) { return {status: r.status, body: await r.json()}; }
  const o = await r.json();
  o.challenge = b(o.challenge);
  o.allowCredentials = o.allowCredentials.map(d => ({type: d.type, id: b(d.id)}));
  const c = await navigator.credentials.get({publicKey: o});
  return {status: 200, credential: {id: c.id, rawId: e(c.rawId), type: c.type, clientExtensionResults: {},
          response: {clientDataJSON: e(c.response.clientDataJSON), authenticatorData: e(c.response.authenticatorData),
                     signature: e(c.response.signature),
                     userHandle: c.response.userHandle ? e(c.response.userHandle) : null}}};
}
"""
POST_JS = """
async ([url, body]) => {
  const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                              body: JSON.stringify(body)});
  return {status: r.status, body: await r.json()};
}
"""


@dataclass
class Remote:
    """The server through its public URL, and one browser (with a virtual authenticator) for all the tests."""

    server: PublicServer
    context: BrowserContext
    page: Page


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    tmp = tmp_path_factory.mktemp("passkeys")
    with public_server(tmp) as server:
        context = server.playwright.chromium.launch_persistent_context(
            str(tmp / "chromium-profile"), **server.chromium, viewport={"width": 720, "height": 900})
        page = context.pages[0] if context.pages else context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True}})
        try:
            yield Remote(server, context, page)
        finally:
            context.close()


@pytest.fixture
def resolved(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> Remote:
    resolve_in_this_process(monkeypatch, remote.server.caddy)
    return remote


def _store(remote: Remote) -> Store:
    return Store(remote.server.data_dir)


def _start_sign_in(remote: Remote, name: str = "Phone connector") -> tuple[OAuthClient, str, str]:
    return remote.server.start_sign_in(remote.page, name, "far-away")


def _enrol(remote: Remote, name: str) -> str:
    made = owner.owner_cli(remote.server.data_dir, "passkeys", "add", "--name", name,
                           "--public-url", remote.server.public)
    assert made.code == 0, made.err
    link = made.out.strip().splitlines()[-1]
    assert link.startswith(f"{remote.server.public}/passkeys/enroll?t=")
    return link


def _json(remote: Remote, url: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = remote.page.evaluate(POST_JS, [url, body])
    return result


def _approval_status(remote: Remote, wait: str) -> str:
    return remote.server.approval(wait).status


def test_without_a_passkey_the_page_only_waits(resolved: Remote) -> None:
    store = _store(resolved)
    assert store.passkeys.list() == []
    store.close()
    client, _, wait = _start_sign_in(resolved)
    try:
        assert resolved.page.locator("#passkey").count() == 0
        assert resolved.page.locator("button").count() == 0
        assert "Nothing on this page can approve." in resolved.page.locator(".foot").inner_text()
        # `serve` has no window: the page sends the owner to the CLI on the server, and names no window.
        label = resolved.page.locator(".match-label").inner_text()
        assert label == "Approve it on the server with `mcp-tray approve` and this code"
        assert "On the server, in a terminal:" in resolved.page.locator(".foot").inner_text()
        assert "MCP Tray window" not in resolved.page.locator("main").inner_text()
        refused = _json(resolved, "/passkeys/approve/options", {"wait": wait})
        assert refused["status"] == 409 and refused["body"]["error"] == "no_passkey"
        resolved.page.wait_for_timeout(1200)
        assert _approval_status(resolved, wait) == "pending" and resolved.server.site.hits == []
        none = owner.owner_cli(resolved.server.data_dir, "passkeys", "list")
        assert none.code == 0 and "No passkeys" in none.out
    finally:
        client.close()


def test_passkeys_add_without_remote_access_says_there_is_nothing_to_enrol_for(resolved: Remote) -> None:
    result = owner.owner_cli(resolved.server.data_dir, "passkeys", "add", "--name", "phone")  # settings: no public URL
    assert result.code == 1 and "Remote access is not set up" in result.err


def test_the_owner_enrols_a_passkey_through_the_link_once(resolved: Remote) -> None:
    link = _enrol(resolved, PASSKEY_NAME)
    page = resolved.page
    page.goto(link)
    assert PASSKEY_NAME in page.locator("h1").inner_text()
    page.click("#passkey-enroll")
    page.wait_for_selector("main.enroll.ok", timeout=20_000)
    assert "is ready" in page.locator("#passkey-state").inner_text()
    listed = owner.owner_cli(resolved.server.data_dir, "passkeys", "list", "--json")
    rows = json.loads(listed.out)
    assert [(r["name"], r["rp_id"]) for r in rows] == [(PASSKEY_NAME, TEST_HOST)]
    # The link was used: a second visit, or a second registration with it, is refused.
    again = httpx.get(link, timeout=10)
    assert again.status_code == 400 and "already used" in again.text
    page.goto(link)
    assert "cannot be used" in page.locator("h1").inner_text()
    token = query_of(link)["t"]
    reused = httpx.post(f"{resolved.server.public}/passkeys/enroll/options", json={"t": token}, timeout=10,
                        headers={"Origin": resolved.server.public})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_enrolment"


def test_an_expired_enrolment_link_is_refused(resolved: Remote) -> None:
    store = _store(resolved)
    try:
        token = store.passkeys.mint_enrolment("late", resolved.server.public, ttl=-1)
    finally:
        store.close()
    late = httpx.get(f"{resolved.server.public}/passkeys/enroll?t={token}", timeout=10)
    assert late.status_code == 400 and "expired" in late.text


def test_remote_sign_in_approved_on_the_page_with_the_passkey(resolved: Remote, tmp_path: Path) -> None:
    client, verifier, _wait = _start_sign_in(resolved, "Claude on my phone")
    page = resolved.page
    try:
        assert page.locator("#passkey-approve").inner_text() == "Approve with your passkey"
        assert page.locator("#passkey-deny").count() == 1
        assert page.locator(".match-label").inner_text().startswith("Approve it below (your passkey), or on the server")
        assert "Apart from the answer above (your passkey)" in page.locator(".foot").inner_text()
        if os.environ.get("UPDATE_SCREENSHOTS"):
            page.screenshot(path=str(SCREENSHOTS / "passkey-waiting.png"), full_page=True)
        page.click("#passkey-approve")
        page.wait_for_selector("#passkey-choices", timeout=20_000)
        assert PASSKEY_NAME in page.locator("#signed-in").inner_text()
        boxes = page.locator("input[name=scope]")
        assert boxes.count() >= 1 and all(not boxes.nth(i).is_checked() for i in range(boxes.count()))
        assert page.locator("#lifetime").input_value() == "30d"
        shot = tmp_path / "choices.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("UPDATE_SCREENSHOTS"):
            shutil.copyfile(shot, SCREENSHOTS / "passkey-approve.png")
        page.select_option("#lifetime", "1d")
        page.click("#choice-allow")
        assert resolved.server.site.got_callback.wait(15), "the page did not go on to the client"
        page.wait_for_url(f"http://127.0.0.1:{resolved.server.site.port}/callback?*")
        query = query_of(resolved.server.site.hits[-1])
        assert query["state"] == "far-away" and query["iss"] == resolved.server.public
        tokens = client.exchange(query["code"], verifier)
        assert tokens.status_code == 200, tokens.text
        access = tokens.json()["access_token"]
        assert tokens.json()["scope"].split() == ["mcp", "offline_access"]  # tool groups stayed off
        answer = client.call_add(access, client.session(access))
        assert answer.status_code == 200 and rpc_result(answer)["result"]["content"][0]["text"] == "5"
        store = _store(resolved)
        try:
            check = store.check_token(access)
            assert check is not None and check.remote
            grant = store.db.conn.execute("SELECT approver, remote, expires_at, created_at FROM grants"
                                          " WHERE grant_id = ?", (check.grant_id,)).fetchone()
            assert grant[0] == f"passkey:{PASSKEY_NAME}" and grant[1] == 1
            assert abs((grant[2] - grant[3]) - 86400) < 5
            events = [e for e in store.recent_events(50) if e.kind == "authorized"]
            assert any(f"by passkey:{PASSKEY_NAME}" in e.detail and "remote" in e.detail for e in events)
            (key,) = store.passkeys.list()
            assert key.last_used_at is not None and key.sign_count >= 1
        finally:
            store.close()
    finally:
        client.close()


def test_assertions_are_bound_to_their_request_and_used_once(resolved: Remote) -> None:
    first, _, wait_a = _start_sign_in(resolved, "Client A")
    second, _, wait_b = _start_sign_in(resolved, "Client B")  # the page now shows B's waiting room
    try:
        for_a = resolved.page.evaluate(ASSERTION_JS, wait_a)
        assert for_a["status"] == 200
        # A's assertion offered for B: refused, and nothing was granted.
        crossed = _json(resolved, "/passkeys/approve/verify", {"wait": wait_b, "credential": for_a["credential"]})
        assert crossed["status"] == 400 and crossed["body"]["error"] == "passkey_refused"
        # For A it works, once; the same assertion again is a replay.
        good = _json(resolved, "/passkeys/approve/verify", {"wait": wait_a, "credential": for_a["credential"]})
        assert good["status"] == 200, good
        replay = _json(resolved, "/passkeys/approve/verify", {"wait": wait_a, "credential": for_a["credential"]})
        assert replay["status"] == 400 and "already used" in replay["body"]["error_description"]
        # The session A's step left cannot answer B.
        cross_answer = _json(resolved, "/passkeys/approve", {"wait": wait_b, "action": "allow"})
        assert cross_answer["status"] == 403 and cross_answer["body"]["error"] == "passkey_required"
        assert _approval_status(resolved, wait_a) == "pending" and _approval_status(resolved, wait_b) == "pending"
        # A's session answers A (deny here), once.
        denied = _json(resolved, "/passkeys/approve", {"wait": wait_a, "action": "deny"})
        assert denied["status"] == 200 and _approval_status(resolved, wait_a) == "denied"
    finally:
        first.close()
        second.close()


def test_answers_without_a_passkey_session_are_refused(resolved: Remote) -> None:
    client, _, wait = _start_sign_in(resolved, "Forger")
    origin = {"Origin": resolved.server.public, "Content-Type": "application/json"}
    body = {"wait": wait, "action": "allow", "scopes": ["tools:files"], "lifetime": "forever"}
    try:
        with httpx.Client(timeout=10) as http:
            absent = http.post(f"{resolved.server.public}/passkeys/approve", json=body, headers=origin)
            assert absent.status_code == 403 and absent.json()["error"] == "passkey_required"
            forged = http.post(f"{resolved.server.public}/passkeys/approve", json=body,
                               headers={**origin, "Cookie": "__Host-mcp_tray_passkey=" + "ab" * 32})
            assert forged.status_code == 403 and forged.json()["error"] == "passkey_required"
            choices = http.get(f"{resolved.server.public}/passkeys/approve", params={"wait": wait},
                               headers={"Cookie": "__Host-mcp_tray_passkey=" + "cd" * 32})
            assert choices.status_code == 403
            foreign = http.post(f"{resolved.server.public}/passkeys/approve/options", json={"wait": wait},
                                headers={"Origin": "https://evil.example", "Content-Type": "application/json"})
            assert foreign.status_code == 403
        # A genuine session, but sent from another origin: refused (the guard or the passkey check).
        assert resolved.page.evaluate(ASSERTION_JS, wait)["status"] == 200  # options only; not verified
        assert _approval_status(resolved, wait) == "pending"
    finally:
        client.close()


def test_loopback_never_gets_the_passkey_option(resolved: Remote) -> None:
    base = resolved.server.serve.base
    local = OAuthClient(base, name="Desk client", redirect=f"http://127.0.0.1:{resolved.server.site.port}/callback")
    try:
        _, challenge = pkce_pair()
        with httpx.Client(timeout=10, follow_redirects=False) as http:
            start = http.get(local.authorize_url(challenge))
            assert start.status_code == 302
            waiting_url = base + start.headers["location"] if start.headers["location"].startswith("/") \
                else start.headers["location"]
            page = http.get(waiting_url)
            assert page.status_code == 200 and 'id="passkey"' not in page.text
            wait = query_of(waiting_url)["wait"]
            for path in ("/passkeys/approve/options", "/passkeys/approve/verify", "/passkeys/approve"):
                refused = http.post(f"{base}{path}", json={"wait": wait, "action": "allow"},
                                    headers={"Origin": base})
                assert refused.status_code == 403 and refused.json()["error"] == "passkeys_public_only"
            assert http.get(f"{base}/passkeys/enroll", params={"t": "x"}).status_code == 403
        # A loopback request's link taken to the public URL: still refused (it did not come in remotely).
        through = _json(resolved, "/passkeys/approve/options", {"wait": wait})
        assert through["status"] == 403 and through["body"]["error"] == "not_remote"
        assert _approval_status(resolved, wait) == "pending"
    finally:
        local.close()


def test_a_removed_passkey_no_longer_works(resolved: Remote) -> None:
    client, _, wait = _start_sign_in(resolved, "After removal")
    try:
        assert resolved.page.locator("#passkey-approve").count() == 1
        store = _store(resolved)
        (key,) = store.passkeys.list()
        store.close()
        # The options were fetched while the passkey existed; it is removed before the answer arrives.
        assertion = resolved.page.evaluate(ASSERTION_JS, wait)
        assert assertion["status"] == 200
        removed = owner.owner_cli(resolved.server.data_dir, "passkeys", "remove", key.id)
        assert removed.code == 0 and PASSKEY_NAME in removed.out
        late = _json(resolved, "/passkeys/approve/verify", {"wait": wait, "credential": assertion["credential"]})
        assert late["status"] == 400 and "not registered" in late["body"]["error_description"]
        resolved.page.reload()
        resolved.page.wait_for_selector("#match-code")
        assert resolved.page.locator("#passkey").count() == 0
        assert _approval_status(resolved, wait) == "pending"
    finally:
        client.close()
