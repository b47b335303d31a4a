"""/authorize is no open redirector (RFC 9700 4.11.2), and its refusals cannot flood the activity log.

Anyone can register a client with an https redirect to a site of theirs; a link to our
/authorize with a bad scope would then bounce the browser there, from a trusted origin.
"""

from __future__ import annotations

import httpx

from app.server.ratelimit import RateLimits
from app.server.runner import ServerRunner
from tests.conftest import parts_of
from tests.support.consent import answer_consent, query_of
from tests.support.oauth import authorize_url, pkce_pair, register

ELSEWHERE = "https://app.example/oauth/callback"


def _get(url: str) -> httpx.Response:
    return httpx.get(url, follow_redirects=False, timeout=10)


def test_errors_for_a_never_approved_https_redirect_show_our_page(server: ServerRunner) -> None:
    base = server.base_url
    client_id = register(base, "Looks legitimate", redirect=ELSEWHERE)
    _, challenge = pkce_pair()
    for bad in ({"scope": "no-such-scope"}, {"resource": "https://other.example/mcp"}):
        answer = _get(authorize_url(base, client_id, challenge, redirect=ELSEWHERE, **bad))
        assert answer.status_code == 400, (bad, answer.headers.get("location"))
        assert "location" not in answer.headers
        assert answer.headers["content-type"].startswith("text/html")
        assert "app.example" in answer.text and "never approved" in answer.text
    # A good request still goes on to the consent page.
    assert _get(authorize_url(base, client_id, challenge, redirect=ELSEWHERE)).status_code == 302


def test_an_approved_https_client_and_loopback_clients_still_get_their_error(server: ServerRunner) -> None:
    base = server.base_url
    approved = register(base, "Approved web app", redirect=ELSEWHERE)
    _, challenge = pkce_pair()
    assert "code" in query_of(answer_consent(authorize_url(base, approved, challenge, redirect=ELSEWHERE)))
    bounced = _get(authorize_url(base, approved, challenge, redirect=ELSEWHERE, scope="no-such-scope"))
    assert bounced.status_code == 302 and bounced.headers["location"].startswith(ELSEWHERE)
    assert query_of(bounced.headers["location"])["error"] == "invalid_scope"
    native = register(base, "Native app")  # http://127.0.0.1 redirect: the app itself is listening
    answer = _get(authorize_url(base, native, challenge, scope="no-such-scope"))
    assert answer.status_code == 302 and query_of(answer.headers["location"])["error"] == "invalid_scope"


def test_unknown_clients_cannot_flood_the_activity_log(server: ServerRunner) -> None:
    for i in range(100):
        assert _get(f"{server.base_url}/authorize?client_id=nobody-{i}").status_code == 400
    store = parts_of(server).store
    rows = [e for e in store.recent_events(1000) if e.kind == "unknown client"]
    assert 1 <= len(rows) <= RateLimits().authorize_activity.burst  # on main: 100
