"""Revoking a token closes the SSE and streamable-HTTP streams opened with it (CLI, store, /revoke)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.server.runner import ServerRunner
from tests.conftest import parts_of
from tests.support.oauth import MCP_HEADERS, OAuthClient

REPO = Path(__file__).resolve().parents[2]
CLOSE_WITHIN = 5.0  # seconds; the watcher polls every 0.25 s, this only bounds a hang


class OpenStream:
    """A GET event stream read in a thread; `closed` is set when the server ends it."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.status = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(base_url, path, headers), daemon=True)
        self._thread.start()
        if not self.opened.wait(10):
            raise AssertionError(f"{path} did not open")

    def _run(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        try:
            with (
                httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=60)) as http,
                http.stream("GET", path, headers=headers) as stream,
            ):
                self.status = stream.status_code
                self.opened.set()
                for _ in stream.iter_raw():
                    pass
        except httpx.HTTPError as exc:  # a cut connection is also a close
            self.error = exc
        finally:
            self.opened.set()
            self.closed.set()


def _streams(client: OAuthClient, token: str) -> list[OpenStream]:
    auth = {"Authorization": f"Bearer {token}"}
    session = client.session(token)
    sse = OpenStream(client.base, "/sse", {**auth, "Accept": "text/event-stream"})
    get = OpenStream(
        client.base,
        "/mcp",
        {**MCP_HEADERS, **auth, "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"},
    )
    for stream in (sse, get):
        assert stream.status == 200
    time.sleep(0.6)  # longer than the watcher's interval: an unrevoked stream stays open
    assert not any(s.closed.is_set() for s in (sse, get))
    return [sse, get]


def _revoke_cli(server: ServerRunner, client: OAuthClient, token: str) -> None:
    check = parts_of(server).store.check_token(token)
    assert check is not None
    done = subprocess.run(
        [sys.executable, "-m", "app", "tokens", "revoke", check.token_id, "--data-dir", str(server.data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def _revoke_store(server: ServerRunner, client: OAuthClient, token: str) -> None:
    store = parts_of(server).store
    check = store.check_token(token)
    assert check is not None and store.revoke_tokens([check.token_id]) == [check.token_id]


def _revoke_endpoint(server: ServerRunner, client: OAuthClient, token: str) -> None:
    assert client.revoke(token).status_code == 200


@pytest.mark.parametrize("revoke", [_revoke_cli, _revoke_store, _revoke_endpoint], ids=["cli", "store", "endpoint"])
def test_revocation_closes_sse_and_streamable_http_streams(
    server: ServerRunner, client: OAuthClient, revoke: Callable[[ServerRunner, OAuthClient, str], None]
) -> None:
    bystander = client.login()
    tokens = client.login()
    victims = _streams(client, tokens.access_token)
    survivors = _streams(client, bystander.access_token)
    revoke(server, client, tokens.access_token)
    revoked_at = time.monotonic()
    for stream in victims:
        assert stream.closed.wait(CLOSE_WITHIN), "stream still open after revocation"
    assert time.monotonic() - revoked_at < CLOSE_WITHIN
    assert client.mcp(tokens.access_token).status_code == 401
    # another sign-in's streams are untouched
    assert not any(s.closed.is_set() for s in survivors)
    assert parts_of(server).live.count() >= 2
