"""Step-up instead of a silent miss: a token lacking tools:files calling read_file gets 403
insufficient_scope naming the scope (MCP 2025-11-25); once the owner extends the sign-in, the same
client's next call goes through. Audited as "refused scope"."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.server.runner import ServerRunner
from app.store import audit
from tests.commands.test_store_cli import cli
from tests.conftest import parts_of
from tests.support.oauth import MCP_HEADERS, obtain_tokens
from tests.tools.mcp_session import mcp_session, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

READ = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "read_file", "arguments": {"path": "Notes/todo.txt"}}}


@pytest.fixture
def shared(server: ServerRunner, tmp_path: Path) -> Path:
    folder = tmp_path / "Notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("buy milk\n", encoding="utf-8")
    server.tools.enable("read_file")
    server.tools.add_folder(folder)
    return folder


def post(base: str, token: str, body: object) -> httpx.Response:
    return httpx.post(f"{base}/mcp", json=body, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
                      timeout=10)


async def test_missing_scope_gets_the_403_challenge_and_extending_the_grant_lets_it_through(
        server: ServerRunner, shared: Path, data_dir: Path) -> None:
    tokens = obtain_tokens(server.base_url, name="needs files")
    assert "tools:files" not in tokens.scope.split()
    refused = post(server.base_url, tokens.access_token, READ)
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge
    scope = challenge.split('scope="', 1)[1].split('"', 1)[0].split()
    assert "tools:files" in scope and set(tokens.scope.split()) <= set(scope)
    assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert refused.json()["error"] == "insufficient_scope"
    assert "milk" not in refused.text

    assert (writer := parts_of(server).audit) is not None and writer.flush()
    row = parts_of(server).store.audit.rows()[0]
    assert (row.name, row.outcome, row.client_id) == ("read_file", audit.REFUSED_SCOPE, tokens.client_id)

    # Calls the token may make are not touched, nor are other requests.
    assert post(server.base_url, tokens.access_token, {**READ, "params": {"name": "add", "arguments": {
        "a": 1, "b": 2}}}).status_code != 403

    grant = parts_of(server).store.check_token(tokens.access_token)
    assert grant is not None
    done = cli(data_dir, "tokens", "extend", grant.grant_id, "--scope", "tools:files")
    assert done.returncode == 0 and "tools:files" in done.stdout
    async with mcp_session(server.base_url, tokens.access_token) as (session, _):  # the same token
        result = await session.call_tool("read_file", {"path": "Notes/todo.txt"})
        assert not result.is_error and json.loads(text_of(result))["text"] == "buy milk\n"
        assert "read_file" in [t.name for t in (await session.list_tools()).tools]


async def test_a_tool_name_spelled_with_json_escapes_gets_the_challenge_too(
        server: ServerRunner, shared: Path) -> None:
    tokens = obtain_tokens(server.base_url, name="escapes")
    body = json.dumps(READ).replace('"read_file"', '"read\\u005ffile"').encode()
    assert b"read_file" not in body and json.loads(body) == READ
    refused = httpx.post(f"{server.base_url}/mcp", content=body, timeout=10, headers={
        **MCP_HEADERS, "Content-Type": "application/json", "Authorization": f"Bearer {tokens.access_token}"})
    assert refused.status_code == 403 and 'error="insufficient_scope"' in refused.headers["www-authenticate"]


async def test_sse_keeps_the_tool_error_that_names_the_permission(server: ServerRunner, shared: Path) -> None:
    tokens = obtain_tokens(server.base_url)
    async with mcp_session(server.base_url, tokens.access_token, "sse") as (session, _):
        refused = await session.call_tool("read_file", {"path": "Notes/todo.txt"})
    assert refused.is_error and "tools:files" in text_of(refused)
    assert (writer := parts_of(server).audit) is not None and writer.flush()
    assert parts_of(server).store.audit.rows()[0].outcome == audit.REFUSED_SCOPE


def test_tokens_extend_refuses_bad_input(server: ServerRunner, data_dir: Path) -> None:
    tokens = obtain_tokens(server.base_url)
    assert server.parts is not None
    grant = parts_of(server).store.check_token(tokens.access_token)
    assert grant is not None
    bad_scope = cli(data_dir, "tokens", "extend", grant.grant_id, "--scope", "root")
    assert bad_scope.returncode == 2 and "unknown scope root" in bad_scope.stderr
    missing = cli(data_dir, "tokens", "extend", "nope", "--scope", "tools:time")
    assert missing.returncode == 1 and "no live sign-in" in missing.stderr
    by_token = cli(data_dir, "tokens", "extend", grant.token_id, "--scope", "tools:time")  # a token id works too
    assert by_token.returncode == 0 and "tools:time" in by_token.stdout
