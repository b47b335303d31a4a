"""One token cannot fill the server's shared MCP session cap: each grant has a quota of sessions.

The SDK keeps at most 10,000 sessions for everyone together, then refuses new ones; before the
quota one token could open them all and lock every other client out.
"""

from __future__ import annotations

import threading

import httpx

from app.server.runner import ServerRunner
from app.server.session_quota import PER_GRANT
from tests.support.oauth import MCP_HEADERS, OAuthClient, rpc_result


def _works(client: OAuthClient, token: str, session_id: str) -> int:
    answer = client.call_add(token, session_id)
    if answer.status_code == 200:
        assert rpc_result(answer)["result"]["content"][0]["text"] == "5"
    return answer.status_code


def test_a_grant_past_its_quota_loses_its_oldest_idle_sessions_and_others_still_open_theirs(
    server: ServerRunner, client: OAuthClient
) -> None:
    token = client.login().access_token
    opened = [client.session(token) for _ in range(PER_GRANT + 5)]
    assert len(set(opened)) == PER_GRANT + 5  # every one was accepted when it was opened
    statuses = [_works(client, token, sid) for sid in opened]
    assert statuses == [404] * 5 + [200] * PER_GRANT  # on main: all 200
    other = OAuthClient(server.base_url, name="Another app")
    try:
        other_token = other.login().access_token
        mine = [other.session(other_token) for _ in range(3)]
        assert [_works(other, other_token, sid) for sid in mine] == [200, 200, 200]
    finally:
        other.close()


def test_a_session_with_an_open_stream_is_not_evicted(server: ServerRunner, client: OAuthClient) -> None:
    token = client.login().access_token
    streaming, idle = client.session(token), client.session(token)
    headers = {**MCP_HEADERS, "Accept": "text/event-stream", "Authorization": f"Bearer {token}",
               "Mcp-Session-Id": streaming, "MCP-Protocol-Version": "2025-06-18"}
    opened = threading.Event()
    stop = threading.Event()

    def listen() -> None:  # the standalone GET stream a client keeps open for server messages
        with httpx.stream("GET", f"{server.base_url}/mcp", headers=headers, timeout=30) as stream:
            assert stream.status_code == 200
            opened.set()
            stop.wait(30)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(10)
    try:
        assert _works(client, token, idle) == 200  # now the streaming session is the least recently used
        for _ in range(PER_GRANT - 1):  # one more than fits: the idle one goes, the streaming one stays
            client.session(token)
        assert _works(client, token, idle) == 404
        assert _works(client, token, streaming) == 200
    finally:
        stop.set()
        thread.join(10)
