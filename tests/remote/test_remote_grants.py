"""Grants made through the public URL: marked remote, basic tools by default, limited, logged, revocable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.auth.origins import parse_public_url
from app.server.ratelimit import Limit, RateLimits
from app.server.runner import ServerRunner
from app.store import db as store_db
from app.store.store import Store
from tests.conftest import parts_of, start_runner
from tests.remote.headers import PUBLIC, mint, via_proxy
from tests.support import owner
from tests.support.oauth import INITIALIZE, MCP_HEADERS, register
from tests.support.serve import REPO, app_command
from tests.support.signin import sign_in


@pytest.fixture
def public_server(data_dir: Path) -> Iterator[ServerRunner]:
    runner = start_runner(data_dir)
    runner.public.open(parse_public_url(PUBLIC))
    yield runner
    runner.close()


def store_of(server: ServerRunner) -> Store:
    assert server.parts is not None
    return parts_of(server).store


def test_migration_adds_the_remote_flag_to_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / store_db.DB_NAME
    conn = store_db.connect(path)
    first = store_db.MIGRATIONS[0]
    assert isinstance(first, str), "the first migration is plain SQL"
    for statement in store_db._statements(first):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO clients VALUES ('c', 'old', '[]', '{}', 1, NULL)")
    conn.execute("INSERT INTO grants (grant_id, client_id, scopes, resource, redirect_uri, created_at)"
                 " VALUES ('g', 'c', 'mcp', NULL, 'http://127.0.0.1/cb', 1)")
    with pytest.raises(sqlite3.OperationalError):  # version 1 has no such column
        conn.execute("SELECT remote FROM grants")
    conn.close()
    store = Store(tmp_path)
    try:
        row = store.db.conn.execute("SELECT remote FROM grants WHERE grant_id = 'g'").fetchone()
        assert row[0] == 0 and store.remote_grant_count() == 0
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == store_db.SCHEMA_VERSION
    finally:
        store.close()


def test_revoke_remote_revokes_only_remote_grants(public_server: ServerRunner) -> None:
    client_id = register(public_server.base_url, "both ways")
    remote_access, _ = mint(public_server, client_id, f"{PUBLIC}/mcp", remote=True)
    local = sign_in(public_server.base_url, "local only")
    rows = {t.client_name: t.remote for t in store_of(public_server).list_tokens()}
    assert rows == {"both ways": True, "local only": False}
    assert store_of(public_server).revoke_remote() == 1
    assert httpx.post(f"{public_server.base_url}/mcp", json=INITIALIZE, headers={
        **MCP_HEADERS, **via_proxy(), "Authorization": f"Bearer {remote_access}"}).status_code == 401
    assert httpx.post(f"{public_server.base_url}/mcp", json=INITIALIZE, headers={
        **MCP_HEADERS, "Authorization": f"Bearer {local.access_token}"}).status_code == 200
    events = store_of(public_server).recent_events()
    assert any(e.kind == "revoked" and e.detail == "remote access stopped" for e in events)


def test_remote_requests_are_marked_for_the_owner_and_make_remote_grants(
        public_server: ServerRunner, data_dir: Path) -> None:
    client_id = register(public_server.base_url, "tool hungry")
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/callback",
             "code_challenge": "a" * 43, "code_challenge_method": "S256", "scope": "mcp tools:files"}
    with httpx.Client(base_url=public_server.base_url, headers=via_proxy(), timeout=10) as http:
        location = http.get("/authorize", params=query).headers["location"]
        page = http.get("/consent?" + location.split("?", 1)[1])
        assert "through the public URL" in page.text
        [waiting] = owner.pending(data_dir)
        assert waiting["remote"] is True and waiting["requested_tool_groups"] == ["tools:files"]
        owner.answer(data_dir, waiting["code"], scopes=[])  # tool groups stay off unless the owner ticks them
        onward = http.get("/consent?" + location.split("?", 1)[1])
        assert onward.status_code == 303
    [(remote, scopes)] = store_of(public_server).db.conn.execute("SELECT remote, scopes FROM grants").fetchall()
    assert remote == 1 and scopes == "mcp"


def test_tokens_list_shows_remote_grants(public_server: ServerRunner, data_dir: Path) -> None:
    client_id = register(public_server.base_url, "Phone")
    mint(public_server, client_id, f"{PUBLIC}/mcp", remote=True)
    sign_in(public_server.base_url, "Desk")

    def cli(*args: str) -> str:
        done = subprocess.run(app_command(*args, "--data-dir", str(data_dir)), cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    listed = json.loads(cli("tokens", "list", "--json"))
    assert {t["client_name"]: t["remote"] for t in listed} == {"Phone": True, "Desk": False}
    lines = cli("tokens", "list").splitlines()
    assert lines[0].split()[-1] == "VIA"
    assert all(line.split()[-1] == ("remote" if "Phone" in line else "local") for line in lines[1:])
    assert "Revoked 1 remote grant(s)" in cli("tokens", "revoke", "--remote")
    assert {t["client_name"] for t in json.loads(cli("tokens", "list", "--json"))} == {"Desk"}


def test_remote_clients_are_rate_limited_and_logged(public_server: ServerRunner) -> None:
    parts = public_server.parts
    assert parts is not None
    parts.limiter.reset(RateLimits(remote_per_client=Limit(3, 0.001), remote_per_address=Limit(1000, 100)))
    client_id = register(public_server.base_url, "busy phone")
    access, _ = mint(public_server, client_id, f"{PUBLIC}/mcp", remote=True)
    local = sign_in(public_server.base_url, "desk")
    remote_headers = {**MCP_HEADERS, **via_proxy(), "Authorization": f"Bearer {access}"}
    answers = [httpx.post(f"{public_server.base_url}/mcp", json=INITIALIZE, headers=remote_headers).status_code
               for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]
    limited = httpx.post(f"{public_server.base_url}/mcp", json=INITIALIZE, headers=remote_headers)
    assert int(limited.headers["retry-after"]) >= 1 and "remote client" in limited.json()["error_description"]
    for _ in range(5):  # the same limits never touch local clients
        assert httpx.post(f"{public_server.base_url}/mcp", json=INITIALIZE, headers={
            **MCP_HEADERS, "Authorization": f"Bearer {local.access_token}"}).status_code == 200
    assert parts.store.later.flush()  # the activity line is written off the event loop
    logged = [e for e in parts.store.recent_events() if e.kind == "remote request"]
    assert len(logged) == 1 and "203.0.113.7" in logged[0].detail and PUBLIC in logged[0].detail


def test_remote_callers_are_limited_per_address(public_server: ServerRunner) -> None:
    parts = public_server.parts
    assert parts is not None
    parts.limiter.reset(RateLimits(remote_per_address=Limit(2, 0.001)))
    url = public_server.base_url + "/.well-known/oauth-authorization-server"
    codes = [httpx.get(url, headers=via_proxy(caller="198.51.100.1")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert httpx.get(url, headers=via_proxy(caller="198.51.100.2")).status_code == 200
