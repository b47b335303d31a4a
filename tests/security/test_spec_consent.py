"""SPEC-CHECKLIST C1-C5 for the waiting room, and "only the owner can say yes" (issue 11) over HTTP.

The page a client opens shows the request and waits; the grant is made by the owner's CLI here
(tests/support/owner.py) and in the tray window in tests/ui/test_approval_window.py; chromium
drives the page in test_consent_browser.py.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx

from app.auth.scopes import describe
from app.server.runner import ServerRunner
from app.store.approvals import PER_CLIENT_PENDING, TOTAL_PENDING
from app.store.store import Store
from tests.support import owner
from tests.support.consent import collect, match_code, open_waiting_page, query_of
from tests.support.oauth import REDIRECT, OAuthClient, pkce_pair


def waiting_page(client: OAuthClient, **extra: str) -> tuple[str, str]:
    """(waiting page URL, its HTML) for a fresh authorization request."""
    _, challenge = pkce_pair()
    answer = client.http.get(client.authorize_url(challenge, **extra))
    assert answer.status_code == 302, answer.text
    url = urljoin(client.base, answer.headers["location"])
    page = client.http.get(url)
    assert page.status_code == 200
    return url, page.text


def test_C1_waiting_page_shows_client_identity_redirect_scopes_and_the_code_the_owner_sees(
    server: ServerRunner, data_dir: Path
) -> None:
    client = OAuthClient(server.base_url, name="Claude <Desktop> & co", redirect="http://localhost:20761/oauth/callback")
    try:
        _, page = waiting_page(client, scope="mcp offline_access tools:files")
    finally:
        client.close()
    assert html.escape("Claude <Desktop> & co") in page and "<Desktop>" not in page
    assert "localhost:20761" in page and "no program is listening there right now" in page
    assert html.escape(describe("mcp")) in page and html.escape(describe("offline_access")) in page
    assert "unverified: this name was chosen by the program itself" in page
    assert "tools:files" in page and "stay off unless you turn them on" in page
    assert "in the MCP Tray window that just opened" in page  # the tray app's server: its window asks the owner
    [waiting] = owner.pending(data_dir)
    assert waiting["code"] == match_code(page) and waiting["client"] == "Claude <Desktop> & co"
    assert waiting["answer_goes_to"] == "localhost:20761"


def test_C2_nothing_on_the_page_approves_only_the_owner_does(client: OAuthClient, data_dir: Path) -> None:
    """The probe of issue 11: a script copies the page's fields and POSTs an approval with an Origin it picks."""
    url, page = waiting_page(client, scope="mcp tools:time tools:files tools:plugins")
    forged = {"request": "x", "csrf_token": "y", "action": "approve",
              "scope": ["tools:time", "tools:files", "tools:plugins"]}
    for headers in ({"Origin": client.base, "Sec-Fetch-Site": "same-origin"}, {"Origin": "https://evil.example"}, {}):
        # 405 from the page; 403 when the outer guard already refuses a foreign Origin.
        answer = client.http.post(url, data=forged, headers=headers)
        assert answer.status_code in (403, 405) and "location" not in answer.headers
        assert client.http.post("/consent", data=forged, headers=headers).status_code in (403, 405)
    # Still waiting: the page, its status and the owner's list all say so; no code anywhere.
    assert client.http.get(url).status_code == 200
    status_url = re.search(r'data-status-url="([^"]+)"', page)
    assert status_url is not None
    assert client.http.get(html.unescape(status_url[1])).json() == {"status": "pending"}
    assert [p["code"] for p in owner.pending(data_dir)] == [match_code(page)]
    # The owner approves without ticking a tool group: the client's request is not a grant.
    owner.answer(data_dir, match_code(page), scopes=[])
    assert client.http.get(html.unescape(status_url[1])).json() == {"status": "answered"}
    query = query_of(collect(client.http, url))
    assert query["state"] == "st4te" and query["iss"] == client.base
    again = client.http.get(url)
    assert again.status_code == 200 and "location" not in again.headers  # the code goes out once
    # No cookies are used at all, so there is no cookie to steal or ride on.
    assert "set-cookie" not in again.headers


def test_tool_groups_are_off_unless_the_owner_turns_them_on(client: OAuthClient) -> None:
    verifier, challenge = pkce_pair()
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        url, code = open_waiting_page(http, client.authorize_url(challenge, scope="mcp tools:time tools:files"))
        owner.answer(owner.data_dir_for(url), code, scopes=["tools:time"])
        query = query_of(collect(http, url))
    tokens = client.exchange(query["code"], verifier).json()
    assert tokens["scope"] == "mcp tools:time"


def test_C3_waiting_page_cannot_be_framed_and_runs_only_our_script(client: OAuthClient) -> None:
    _, challenge = pkce_pair()
    page = client.http.get(urljoin(client.base, client.http.get(client.authorize_url(challenge)).headers["location"]))
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert re.search(r"<script>", page.text) is None  # no inline code: the one script is a file of ours
    error_page = client.http.get("/consent?wait=forged.x")
    assert error_page.status_code == 400 and error_page.headers["x-frame-options"] == "DENY"
    assert client.http.get("/consent/status?wait=forged.x").status_code == 400


def test_C4_deny_returns_access_denied_with_iss_and_no_code(client: OAuthClient) -> None:
    code, _, query = client.code("deny")
    assert code == "" and query["error"] == "access_denied" and query["state"] == "st4te"
    assert query["iss"] == client.base


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append(dict(attrs))
        elif tag == "button":
            self.buttons.append(dict(attrs))


def test_C5_no_form_and_no_button_and_it_works_without_javascript(client: OAuthClient, data_dir: Path) -> None:
    url, page = waiting_page(client)
    parsed = _Forms()
    parsed.feed(page)
    assert parsed.forms == [] and parsed.buttons == []
    assert "<noscript>" in page
    owner.answer(data_dir, match_code(page))
    assert "code" in query_of(collect(client.http, url))  # a reload is all a browser without scripts needs


def test_an_unanswered_request_expires_and_the_page_then_refuses(client: OAuthClient, data_dir: Path) -> None:
    url, page = waiting_page(client)
    store = Store(data_dir)  # ten minutes later:
    store.db.conn.execute("UPDATE approvals SET expires_at = ?", (time.time() - 1,))
    store.close()
    assert owner.pending(data_dir) == []
    late = owner.owner_cli(data_dir, "approve", match_code(page))
    assert late.code == 1 and "no longer waiting" in late.err
    query = query_of(collect(client.http, url))
    assert query["error"] == "access_denied" and "code" not in query


def test_a_client_cannot_bury_a_real_request(server: ServerRunner, data_dir: Path) -> None:
    flood = OAuthClient(server.base_url, name="Flood")
    real = OAuthClient(server.base_url, name="Claude Desktop")
    try:
        first_url, _ = waiting_page(flood)
        for _ in range(PER_CLIENT_PENDING + 5):
            waiting_page(flood)
        names = [p["client"] for p in owner.pending(data_dir)]
        assert names.count("Flood") == PER_CLIENT_PENDING  # its older requests were superseded
        assert query_of(collect(flood.http, first_url))["error"] == "access_denied"
        real_url, real_page = waiting_page(real)
        assert "Claude Desktop" in [p["client"] for p in owner.pending(data_dir)]
        owner.answer(data_dir, match_code(real_page))
        assert "code" in query_of(collect(real.http, real_url))
    finally:
        flood.close()
        real.close()


def test_past_the_total_cap_new_requests_are_refused_clearly(server: ServerRunner, data_dir: Path) -> None:
    clients = [OAuthClient(server.base_url, name=f"app {i}") for i in range(TOTAL_PENDING // PER_CLIENT_PENDING + 1)]
    try:
        made = 0
        for c in clients:
            for _ in range(PER_CLIENT_PENDING):
                if made < TOTAL_PENDING:
                    waiting_page(c)
                    made += 1
        _, challenge = pkce_pair()
        refused = clients[-1].http.get(clients[-1].authorize_url(challenge))
        assert refused.status_code == 302
        query = query_of(refused.headers["location"])
        assert refused.headers["location"].startswith(REDIRECT) and query["error"] == "temporarily_unavailable"
        assert len(owner.pending(data_dir)) == TOTAL_PENDING
    finally:
        for c in clients:
            c.close()
