"""SPEC-CHECKLIST C1-C5 (consent page) over HTTP; test_consent_browser.py drives it in chromium."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from app.auth.scopes import describe
from tests.security.oauth import OAuthClient, pkce
from tests.support.consent import form_fields, query_of


def consent_page(client: OAuthClient, **extra: str) -> tuple[str, str]:
    """(consent URL, page HTML) for a fresh authorization request."""
    _, challenge = pkce()
    answer = client.http.get(client.authorize_url(challenge, **extra))
    assert answer.status_code == 302
    url = urljoin(client.base, answer.headers["location"])
    page = client.http.get(url)
    assert page.status_code == 200
    return url, page.text


def test_C1_consent_shows_client_redirect_host_port_and_scopes(server: object) -> None:
    client = OAuthClient(
        server.base_url,
        name="Claude <Desktop> & co",  # type: ignore[attr-defined]
        redirect="http://localhost:20761/oauth/callback",
    )
    try:
        _, page = consent_page(client, scope="mcp offline_access")
    finally:
        client.close()
    assert html.escape("Claude <Desktop> & co") in page and "<Desktop>" not in page
    assert "localhost:20761" in page
    assert html.escape(describe("mcp")) in page and "offline_access" in page


def test_C2_approve_needs_csrf_token_tied_to_request_and_same_origin(client: OAuthClient) -> None:
    url, page = consent_page(client)
    fields = form_fields(page)
    origin = {"Origin": client.base, "Sec-Fetch-Site": "same-origin"}
    _, other_page = consent_page(client)
    other_csrf = form_fields(other_page)["csrf_token"]
    for bad_fields, headers in (
        ({**fields, "csrf_token": ""}, origin),
        ({k: v for k, v in fields.items() if k != "csrf_token"}, origin),
        ({**fields, "csrf_token": other_csrf}, origin),  # a token for another pending request
        (fields, {"Origin": "https://evil.example"}),
        (fields, {"Sec-Fetch-Site": "cross-site"}),
    ):
        answer = client.http.post("/consent", data={**bad_fields, "action": "approve"}, headers=headers)
        assert answer.status_code == 403 and "location" not in answer.headers, (bad_fields, headers)
    good = client.http.post("/consent", data={**fields, "action": "approve"}, headers=origin)
    assert good.status_code == 303 and query_of(good.headers["location"])["code"]
    again = client.http.post("/consent", data={**fields, "action": "approve"}, headers=origin)
    assert again.status_code == 400 and "location" not in again.headers  # answered once only
    # No cookies are used at all, so there is no cookie to steal or ride on.
    assert "set-cookie" not in client.http.get(url).headers


def test_C3_consent_cannot_be_framed(client: OAuthClient) -> None:
    _, challenge = pkce()
    page = client.http.get(urljoin(client.base, client.http.get(client.authorize_url(challenge)).headers["location"]))
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    error_page = client.http.get("/consent?request=forged.x")
    assert error_page.status_code == 400 and error_page.headers["x-frame-options"] == "DENY"


def test_C4_deny_returns_access_denied_and_no_code(client: OAuthClient) -> None:
    code, _, query = client.code("deny")
    assert code == "" and query["error"] == "access_denied" and query["state"] == "st4te"


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


def test_C5_real_submit_buttons_in_post_form(client: OAuthClient) -> None:
    _, page = consent_page(client)
    parsed = _Forms()
    parsed.feed(page)
    assert parsed.forms == [{"method": "post", "action": "/consent"}]
    by_value = {b["value"]: b for b in parsed.buttons}
    for value in ("approve", "deny"):
        assert by_value[value]["type"] == "submit" and by_value[value]["name"] == "action"
    assert re.search(r"<script", page, re.I) is None  # works with no JavaScript at all
