"""Approving in hosted mode after signing in at a real OpenID Provider (npm's certified oidc-provider).

Caddy (TLS, its internal CA) in front of `mcp-tray serve --public-url ... --oidc-issuer ...`, the
provider on loopback (tests/support/oidc_provider.mjs, devInteractions' login form), Debian's
chromium driving both, a client signing in through the public URL. Allowed: alice@example.com and
the domain example.com; admin@example.com is an admin; mallory@evil.example is not allowed, and
carol@example.com's email is not verified. Each test uses a fresh browser context (no provider
session carried over).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from app.store.store import Store
from tests.remote.proxies import resolve_in_this_process
from tests.support import owner
from tests.support.consent import query_of
from tests.support.oauth import OAuthClient, rpc_result
from tests.support.oidc import OidcProvider
from tests.support.public_browser import PublicServer, public_server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PROVIDER_NAME = "Example SSO"
FLOW_COOKIE = "__Host-mcp_tray_oidc_flow"


@dataclass
class Hosted:
    """The server through its public URL, the provider, and the browser each test opens a context of."""

    server: PublicServer
    provider: OidcProvider
    browser: Browser


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    tmp = tmp_path_factory.mktemp("oidc")
    with contextlib.ExitStack() as stack:
        providers: list[OidcProvider] = []

        def serve_args(public_url: str) -> list[str]:
            provider = OidcProvider(tmp / "provider", f"{public_url}/oidc/callback")
            stack.callback(provider.stop)
            providers.append(provider)
            return ["--oidc-issuer", provider.issuer, "--oidc-client-id", provider.client_id,
                    "--oidc-client-secret-file", str(provider.secret_file), "--oidc-name", PROVIDER_NAME,
                    "--allow-email", "alice@example.com", "--allow-domain", "example.com",
                    "--admin-email", "admin@example.com"]

        server = stack.enter_context(public_server(tmp, serve_args))
        browser = server.playwright.chromium.launch(**server.chromium)
        stack.callback(browser.close)
        yield Hosted(server, providers[0], browser)


@pytest.fixture
def page(hosted: Hosted, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    resolve_in_this_process(monkeypatch, hosted.server.caddy)
    context: BrowserContext = hosted.browser.new_context(viewport={"width": 720, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def _start_sign_in(hosted: Hosted, page: Page, name: str) -> tuple[OAuthClient, str, str]:
    return hosted.server.start_sign_in(page, name, "from-afar")


def _sign_in_at_provider(page: Page, account: str) -> None:
    """devInteractions: the login form (any password), then the consent form."""
    page.wait_for_selector("input[name=login]")
    assert page.url.startswith("http://127.0.0.1:")
    page.fill("input[name=login]", account)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.locator("input[name=prompt][value=consent]").count():
        page.click("button[type=submit]")
    page.wait_for_load_state()


def _approval(hosted: Hosted, wait: str) -> tuple[str, str | None]:
    found = hosted.server.approval(wait)
    return found.status, found.approver


def _grant_approvers(hosted: Hosted) -> list[str]:
    store = Store(hosted.server.data_dir)
    try:
        return [str(r[0]) for r in store.db.conn.execute("SELECT approver FROM grants").fetchall()]
    finally:
        store.close()


def test_an_allowed_person_signs_in_at_the_provider_and_approves(hosted: Hosted, page: Page) -> None:
    client, verifier, wait = _start_sign_in(hosted, page, "Claude on a team laptop")
    try:
        link = page.locator("#oidc-sign-in")
        assert link.inner_text() == f"Sign in with {PROVIDER_NAME} to approve"
        assert page.locator("#passkey").count() == 0  # no passkey enrolled: only the sign-in is offered
        assert f"Apart from the answer above (signing in with {PROVIDER_NAME})" in page.locator(".foot").inner_text()
        assert page.locator(".match-label").inner_text() == (
            f"Approve it below (signing in with {PROVIDER_NAME}), or on the server with `mcp-tray approve` "
            "and this code")
        callbacks: list[str] = []
        page.on("request", lambda r: callbacks.append(r.url) if "/oidc/callback" in r.url else None)
        link.click()
        flow = [c for c in page.context.cookies(hosted.server.public) if c["name"] == FLOW_COOKIE]
        assert len(flow) == 1 and flow[0]["httpOnly"] and flow[0]["secure"] and flow[0]["sameSite"] == "Lax"
        _sign_in_at_provider(page, "alice")
        page.wait_for_selector("#oidc-choices")
        assert "alice@example.com" in page.locator("#signed-in").inner_text()
        assert "Claude on a team laptop" in page.locator("h1").inner_text()
        boxes = page.locator("input[name=scope]")
        assert boxes.count() >= 1 and all(not boxes.nth(i).is_checked() for i in range(boxes.count()))
        assert page.locator("#lifetime").input_value() == "30d"
        page.select_option("#lifetime", "1d")
        page.click("#choice-allow")
        assert hosted.server.site.got_callback.wait(15), "the page did not go on to the client"
        query = query_of(hosted.server.site.hits[-1])
        assert query["state"] == "from-afar" and query["iss"] == hosted.server.public
        tokens = client.exchange(query["code"], verifier)
        assert tokens.status_code == 200, tokens.text
        access = tokens.json()["access_token"]
        assert tokens.json()["scope"].split() == ["mcp", "offline_access"]  # tool groups stayed off
        answer = client.call_add(access, client.session(access))
        assert answer.status_code == 200 and rpc_result(answer)["result"]["content"][0]["text"] == "5"
        assert _approval(hosted, wait) == ("delivered", "oidc:alice@example.com")
        assert "oidc:alice@example.com" in _grant_approvers(hosted)

        # The same callback again, in the browser (its flow cookie is gone): 400, nothing more.
        assert len(callbacks) == 1
        replay = page.goto(callbacks[0])
        assert replay is not None and replay.status == 400
        assert "no sign-in is in progress" in page.locator(".lead").inner_text()
        # Replayed with the flow cookie it had: the provider refuses the used code, 400 again.
        again = httpx.get(callbacks[0], cookies={FLOW_COOKIE: flow[0]["value"]}, timeout=20)
        assert again.status_code == 400 and "refused the sign-in code" in again.text

        # Each person lists their own grants on the command line.
        mine = owner.owner_cli(hosted.server.data_dir, "tokens", "list", "--user", "alice@example.com", "--json")
        assert mine.code == 0, mine.err
        rows = json.loads(mine.out)
        assert rows and {r["approver"] for r in rows} == {"oidc:alice@example.com"}
        assert {r["client_name"] for r in rows} == {"Claude on a team laptop"}
        theirs = owner.owner_cli(hosted.server.data_dir, "tokens", "list", "--user", "mallory@evil.example")
        assert theirs.code == 0 and "No active tokens approved by mallory@evil.example." in theirs.out
    finally:
        client.close()


def test_a_person_who_may_not_approve_is_refused_and_nothing_is_granted(hosted: Hosted, page: Page) -> None:
    before = _grant_approvers(hosted)
    client, _, wait = _start_sign_in(hosted, page, "Mallory's tool")
    try:
        page.click("#oidc-sign-in")
        refused = []
        page.on("response", lambda r: refused.append(r.status) if "/oidc/callback" in r.url else None)
        _sign_in_at_provider(page, "mallory")
        page.wait_for_selector("h1")
        assert refused == [403]
        assert page.locator("h1").inner_text() == "You may not approve here"
        assert "mallory@evil.example" in page.locator(".lead").inner_text()
        assert "Nothing was approved" in page.locator(".lead").inner_text()
        # No session was given: the choices page and the answer both refuse.
        choices = page.goto(f"{hosted.server.public}/oidc/approve?wait={wait}")
        assert choices is not None and choices.status == 403
        assert _approval(hosted, wait) == ("pending", None)
        assert _grant_approvers(hosted) == before
        store = Store(hosted.server.data_dir)
        try:
            assert any(e.kind == "oidc refused" and "mallory@evil.example" in e.detail
                       for e in store.recent_events(20))
        finally:
            store.close()
    finally:
        client.close()


def test_an_unverified_email_in_an_allowed_domain_is_refused(hosted: Hosted, page: Page) -> None:
    client, _, wait = _start_sign_in(hosted, page, "Carol's tool")
    try:
        page.click("#oidc-sign-in")
        _sign_in_at_provider(page, "carol")
        page.wait_for_selector("h1")
        assert "no verified email" in page.locator(".lead").inner_text()
        assert _approval(hosted, wait) == ("pending", None)
    finally:
        client.close()


def test_a_callback_with_another_state_is_refused(hosted: Hosted, page: Page) -> None:
    client, _, wait = _start_sign_in(hosted, page, "State check")
    try:
        page.click("#oidc-sign-in")
        page.wait_for_selector("input[name=login]")  # the flow cookie is set; now a forged answer arrives
        forged = page.goto(f"{hosted.server.public}/oidc/callback?code=made-up&state=not-the-one")
        assert forged is not None and forged.status == 400
        assert "(state)" in page.locator(".lead").inner_text()
        # On loopback (the server itself) there is nothing to sign in for: the CLI answers there.
        local = httpx.get(f"{hosted.server.serve.base}/oidc/login?wait={wait}", timeout=20)
        assert local.status_code == 403 and "public URL only" in local.text
        # A callback without any flow, and a POST answer without a session: refused as well.
        none = httpx.get(f"{hosted.server.public}/oidc/callback?code=x&state=y", timeout=20)
        assert none.status_code == 400
        answer = httpx.post(f"{hosted.server.public}/oidc/approve", data={"wait": wait, "action": "allow"},
                            headers={"Origin": hosted.server.public}, timeout=20)
        assert answer.status_code == 403
        assert _approval(hosted, wait) == ("pending", None)
    finally:
        client.close()


def test_the_answer_needs_the_pages_csrf_token_and_deny_is_recorded(hosted: Hosted, page: Page) -> None:
    client, _, wait = _start_sign_in(hosted, page, "Denied tool")
    try:
        page.click("#oidc-sign-in")
        _sign_in_at_provider(page, "alice")
        page.wait_for_selector("#oidc-choices")
        # The session cookie and the right Origin, but not the page's form token: refused. The
        # same with the token from another origin.
        cookies = {c["name"]: c["value"] for c in page.context.cookies(hosted.server.public)}
        assert "__Host-mcp_tray_oidc" in cookies
        csrf = page.locator("input[name=csrf]").input_value()
        forged = httpx.post(f"{hosted.server.public}/oidc/approve", data={"wait": wait, "action": "allow"},
                            headers={"Origin": hosted.server.public}, cookies=cookies, timeout=20)
        assert forged.status_code == 403 and "stale or was not made by this server" in forged.text
        cross = httpx.post(f"{hosted.server.public}/oidc/approve", data={"wait": wait, "action": "allow", "csrf": csrf},
                           headers={"Origin": "https://evil.example"}, cookies=cookies, timeout=20)
        assert cross.status_code == 403
        assert _approval(hosted, wait) == ("pending", None)
        page.click("#choice-deny")
        page.wait_for_url(f"http://127.0.0.1:{hosted.server.site.port}/callback?*")
        assert query_of(page.url)["error"] == "access_denied"
        assert _approval(hosted, wait)[1] == "oidc:alice@example.com"
    finally:
        client.close()


def test_account_lists_own_grants_and_revokes_them_and_an_admin_sees_all(hosted: Hosted, page: Page) -> None:
    page.goto(f"{hosted.server.public}/account")  # not signed in yet: off to the provider first
    _sign_in_at_provider(page, "alice")
    page.wait_for_selector("#grants")
    assert page.locator("#account-email").inner_text() == "alice@example.com"
    items = page.locator("#grants li[data-grant]")
    assert items.count() >= 1
    assert all("Claude on a team laptop" in items.nth(i).inner_text() for i in range(items.count()))
    grant = items.first.get_attribute("data-grant")
    assert grant

    browser = page.context.browser
    assert browser is not None
    context = browser.new_context()
    try:
        admin = context.new_page()
        admin.goto(f"{hosted.server.public}/account")
        _sign_in_at_provider(admin, "admin")
        admin.wait_for_selector("#grants")
        assert admin.locator("h1").inner_text() == "Every sign-in (admin)"
        shown = admin.locator(f"#grants li[data-grant='{grant}']")
        assert "approved by oidc:alice@example.com" in shown.inner_text()
        # Not among the admin's own grants on the CLI's --user list.
        listed = owner.owner_cli(hosted.server.data_dir, "tokens", "list", "--user", "admin@example.com")
        assert "No active tokens approved by admin@example.com." in listed.out
    finally:
        context.close()

    items.first.locator("button").click()
    page.wait_for_selector("#notice")
    assert page.locator(f"#grants li[data-grant='{grant}']").count() == 0
    store = Store(hosted.server.data_dir)
    try:
        assert store.db.conn.execute("SELECT revoked_at FROM grants WHERE grant_id = ?", (grant,)).fetchone()[0]
    finally:
        store.close()
    # Without the account session (another client), revoking is refused.
    other = httpx.post(f"{hosted.server.public}/account/revoke", data={"grant": grant, "csrf": "y"},
                       headers={"Origin": hosted.server.public}, timeout=20)
    assert other.status_code == 403
