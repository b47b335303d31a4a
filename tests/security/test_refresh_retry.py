"""A lost refresh answer does not cost a sign-in: the retry window of /token, against the real server."""

from __future__ import annotations

from app.server.runner import ServerRunner
from app.store.store import hash_secret
from app.store.token_rules import RETRY_WINDOW
from tests.conftest import parts_of
from tests.support.oauth import OAuthClient


def _age_rotation(server: ServerRunner, refresh_token: str, seconds: float) -> None:
    """Move the rotation of a spent refresh token back in time (as if `seconds` had passed)."""
    store = parts_of(server).store
    store.db.tx(lambda c: c.execute("UPDATE tokens SET rotated_at = rotated_at - ? WHERE token_hash = ?",
                                    (seconds, hash_secret(refresh_token))))


def test_a_retry_within_the_window_gets_the_same_pair(client: OAuthClient) -> None:
    first = client.login()
    answer = client.refresh(first.refresh_token)
    retry = client.refresh(first.refresh_token)  # the first answer was "lost"
    assert answer.status_code == retry.status_code == 200
    pair = answer.json()
    again = retry.json()
    assert (again["access_token"], again["refresh_token"]) == (pair["access_token"], pair["refresh_token"])
    assert again["token_type"] == "Bearer" and again["scope"] == pair["scope"]
    assert client.mcp(pair["access_token"]).status_code == 200
    assert client.mcp(first.access_token).status_code == 200  # the old access token lives out its time, as before
    assert client.refresh(pair["refresh_token"]).status_code == 200


def test_a_retry_after_the_window_revokes_every_token_of_the_grant(server: ServerRunner, client: OAuthClient) -> None:
    first = client.login()
    pair = client.refresh(first.refresh_token).json()
    _age_rotation(server, first.refresh_token, RETRY_WINDOW + 1)
    late = client.refresh(first.refresh_token)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    for access in (first.access_token, pair["access_token"]):
        assert client.mcp(access).status_code == 401
    assert client.refresh(pair["refresh_token"]).json()["error"] == "invalid_grant"


def test_another_client_with_the_spent_token_is_refused_and_revokes(server: ServerRunner, client: OAuthClient) -> None:
    first = client.login()
    pair = client.refresh(first.refresh_token).json()
    thief = OAuthClient(server.base_url, name="Thief")
    try:
        stolen = thief.refresh(first.refresh_token)
    finally:
        thief.close()
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert client.mcp(pair["access_token"]).status_code == 401
    assert client.refresh(first.refresh_token).json()["error"] == "invalid_grant"  # the owner's retry too: it is over
