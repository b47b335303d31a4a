"""`mcp-tray tokens` and `mcp-tray clients` against a server running in another process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.oauth import mcp_initialize, obtain_tokens, refresh, register
from tests.support.serve import REPO, ServeProcess, app_command


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `mcp-tray ARGS --data-dir D`."""
    return subprocess.run(app_command(*args, "--data-dir", str(data_dir)), cwd=REPO, capture_output=True,
                          text=True, timeout=30)


def test_tokens_revoke_makes_next_request_401(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        tokens = obtain_tokens(serve.base, name="Revoke me")
        assert mcp_initialize(serve.base, tokens.access_token).status_code == 200

        listed = json.loads(cli(data_dir, "tokens", "list", "--json").stdout)
        access = [t for t in listed if t["kind"] == "access" and t["client_name"] == "Revoke me"]
        assert len(access) == 1
        table = cli(data_dir, "tokens", "list").stdout
        assert "Revoke me" in table and access[0]["token_id"] in table
        assert tokens.access_token not in table  # the secret itself is never shown (nor stored)

        done = cli(data_dir, "tokens", "revoke", access[0]["token_id"])
        assert done.returncode == 0, done.stderr
        refused = mcp_initialize(serve.base, tokens.access_token)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        # The refresh token of the same sign-in died with it.
        again = refresh(serve.base, tokens.client_id, tokens.refresh_token)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert serve.stop()[0] == 0


def test_revoke_by_client_and_all(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        first = obtain_tokens(serve.base, name="First")
        second = obtain_tokens(serve.base, name="Second")
        assert cli(data_dir, "tokens", "revoke", "--client", first.client_id).returncode == 0
        assert mcp_initialize(serve.base, first.access_token).status_code == 401
        assert mcp_initialize(serve.base, second.access_token).status_code == 200
        assert cli(data_dir, "tokens", "revoke", "--all").returncode == 0
        assert mcp_initialize(serve.base, second.access_token).status_code == 401
        assert "No active tokens." in cli(data_dir, "tokens", "list").stdout


def test_unknown_token_id_is_an_error(data_dir: Path) -> None:
    done = cli(data_dir, "tokens", "revoke", "nope1234")
    assert done.returncode == 1 and "no token with ID nope1234" in done.stderr


def test_token_issued_before_restart_works_after(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        tokens = obtain_tokens(serve.base)
        port = serve.port
        assert serve.stop()[0] == 0
    with ServeProcess(data_dir, port=port) as serve:
        assert mcp_initialize(serve.base, tokens.access_token).status_code == 200
        refreshed = refresh(serve.base, tokens.client_id, tokens.refresh_token)
        assert refreshed.status_code == 200, refreshed.text


def test_clients_grouped_and_removed(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        ids = [register(serve.base, "Claude via mcp-remote") for _ in range(3)]
        other = obtain_tokens(serve.base, name="Other app")
        groups = json.loads(cli(data_dir, "clients", "list", "--json").stdout)
        by_name = {g["client_name"]: g for g in groups}
        assert sorted(by_name["Claude via mcp-remote"]["client_ids"]) == sorted(ids)
        assert by_name["Other app"]["active_tokens"] == 2
        assert "REGISTRATIONS" in cli(data_dir, "clients", "list").stdout

        done = cli(data_dir, "clients", "remove", other.client_id)
        assert done.returncode == 0, done.stderr
        assert mcp_initialize(serve.base, other.access_token).status_code == 401
        assert cli(data_dir, "clients", "remove", other.client_id).returncode == 1
