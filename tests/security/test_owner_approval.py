"""Only the owner can say yes (issue 11): the probe as another account, lifetimes, and the owner-only CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.server.runner import ServerRunner
from tests.conftest import parts_of
from tests.support import owner
from tests.support.consent import answer_consent, query_of
from tests.support.oauth import OAuthClient, pkce_pair

PROBE = Path(__file__).with_name("attacker_probe.py")
OTHER_USER = "mcptray-other"


@pytest.fixture(scope="session")
def other_account() -> str:
    """A second OS account (created once; the tests run as root on the CI machine)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root and runuser to create and use a second OS account")
    if subprocess.run(["id", OTHER_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-m", OTHER_USER], check=True)
    return OTHER_USER


def _probe(base_url: str, *, user: str | None) -> dict[str, object]:
    # The probe needs nothing of ours: the system Python of the other account runs it from a copy it can read.
    python = "/usr/bin/python3" if user else sys.executable
    script = Path("/tmp") / f"mcp-tray-probe-{os.getpid()}.py"
    shutil.copyfile(PROBE, script)
    script.chmod(0o644)
    command = [python, str(script), base_url]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    script.unlink()
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_another_account_gets_no_code_and_no_token(server: ServerRunner, data_dir: Path, other_account: str) -> None:
    result = _probe(server.base_url, user=other_account)
    assert result["got_code"] is False and result["got_token"] is False, result
    steps = result["steps"]
    assert isinstance(steps, list) and "post 405" in steps and "authorize 302" in steps, result
    # The owner sees the request waiting, and nothing was granted.
    assert [p["client"] for p in owner.pending(data_dir)] == ["Claude Desktop"]
    assert server.parts is not None and parts_of(server).store.list_tokens() == []


def test_the_same_probe_as_the_owner_account_gets_nothing_either(server: ServerRunner) -> None:
    """A script of the owner's own account cannot approve through the web either: only the tray or the CLI."""
    result = _probe(server.base_url, user=None)
    assert result["got_code"] is False and result["got_token"] is False, result


def test_the_cli_refuses_a_data_dir_of_another_account(server: ServerRunner, data_dir: Path) -> None:
    client = OAuthClient(server.base_url)
    try:
        _, challenge = pkce_pair()
        assert client.http.get(client.authorize_url(challenge)).status_code == 302
    finally:
        client.close()
    [waiting] = owner.pending(data_dir)
    os.chown(data_dir, 65534, -1)  # the data dir now belongs to `nobody`
    try:
        refused = owner.owner_cli(data_dir, "approve", waiting["code"])
        assert refused.code == 2 and "belongs to another account" in refused.err
        assert owner.owner_cli(data_dir, "approvals", "list").code == 2
    finally:
        os.chown(data_dir, os.getuid(), -1)
    assert [p["code"] for p in owner.pending(data_dir)] == [waiting["code"]]  # still waiting, untouched


def test_a_grant_for_one_hour_ends_after_one_hour_with_its_refresh_token(server: ServerRunner, data_dir: Path) -> None:
    client = OAuthClient(server.base_url)
    try:
        verifier, challenge = pkce_pair()


        code = query_of(answer_consent(client.authorize_url(challenge), lifetime="1h"))["code"]
        tokens = client.exchange(code, verifier).json()
        assert tokens["expires_in"] <= 3600
        assert server.parts is not None
        refresh_row = next(t for t in parts_of(server).store.list_tokens() if t.kind == "refresh")
        assert refresh_row.expires_at <= time.time() + 3600 + 1  # not the usual 30 days
        assert client.mcp(tokens["access_token"]).status_code == 200
        server.parts.store.db.conn.execute("UPDATE grants SET expires_at = ?", (time.time() - 1,))  # an hour later
        assert client.mcp(tokens["access_token"]).status_code == 401
        assert client.refresh(tokens["refresh_token"]).status_code == 400
    finally:
        client.close()


def test_until_revoked_keeps_the_usual_token_lifetimes(server: ServerRunner) -> None:
    client = OAuthClient(server.base_url)
    try:
        verifier, challenge = pkce_pair()


        code = query_of(answer_consent(client.authorize_url(challenge), lifetime="forever"))["code"]
        assert client.exchange(code, verifier).status_code == 200
        assert server.parts is not None
        refresh_row = next(t for t in parts_of(server).store.list_tokens() if t.kind == "refresh")
        assert refresh_row.expires_at > time.time() + 29 * 24 * 3600
    finally:
        client.close()


def test_one_app_cannot_flood_sign_in_requests(server: ServerRunner, data_dir: Path) -> None:
    """Each request costs a look at the listening sockets and a write: an app gets 10 at once, then 1 per 5 s."""
    flood = OAuthClient(server.base_url, name="Flood")
    other = OAuthClient(server.base_url, name="Claude Desktop")
    try:
        statuses = []
        for _ in range(12):
            _, challenge = pkce_pair()
            statuses.append(flood.http.get(flood.authorize_url(challenge)))
        assert [r.status_code for r in statuses[:10]] == [302] * 10
        refused = statuses[10]
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "location" not in refused.headers and "Too many sign-in requests" in refused.text
        _, challenge = pkce_pair()
        assert other.http.get(other.authorize_url(challenge)).status_code == 302  # another app is not held up
    finally:
        flood.close()
        other.close()
