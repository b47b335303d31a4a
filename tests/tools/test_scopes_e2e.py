"""Scopes per tool group, through the real OAuth flow and a real MCP client: a token sees and calls only
the groups it was granted on the consent page; base tools need nothing special."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from app.server.runner import ServerRunner
from tests.support.consent import answer_consent, query_of
from tests.support.oauth import authorize_url, exchange, pkce_pair, register
from tests.tools.mcp_session import mcp_session, text_of, tool_names

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

FILE_TOOLS = ["list_files", "read_file", "search_files"]


def grant(base: str, ticked: list[str] | None, **authorize_extra: str) -> tuple[str, str]:
    """Register, authorize, answer consent with these checkboxes ticked; returns (access token, scope)."""
    client_id = register(base, "scope test client")
    verifier, challenge = pkce_pair()
    redirect = answer_consent(authorize_url(base, client_id, challenge, **authorize_extra), scopes=ticked)
    response = exchange(base, client_id, query_of(redirect)["code"], verifier)
    response.raise_for_status()
    return response.json()["access_token"], response.json().get("scope", "")


@pytest.fixture
def shared(server: ServerRunner, tmp_path: Path) -> Path:
    """A shared folder with one note, and the folder tools turned on by the user."""
    folder = tmp_path / "Notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("buy milk\n", encoding="utf-8")
    for name in FILE_TOOLS:
        server.tools.enable(name)
    server.tools.add_folder(folder)
    return folder


@pytest.mark.parametrize("transport", ["mcp", "sse"])
async def test_token_without_files_scope_neither_lists_nor_calls_file_tools(
        server: ServerRunner, shared: Path, transport: str) -> None:
    token, scope = grant(server.base_url, ticked=[])
    assert "tools:files" not in scope.split()
    async with mcp_session(server.base_url, token, transport) as (session, _):
        names = await tool_names(session)
        assert "add" in names
        assert not set(FILE_TOOLS) & set(names)
        if transport == "mcp":  # HTTP 403 insufficient_scope (step-up; tests/audit/test_step_up.py)
            with pytest.raises(MCPError):
                await session.call_tool("read_file", {"path": "Notes/todo.txt"})
        else:
            refused = await session.call_tool("read_file", {"path": "Notes/todo.txt"})
            assert refused.is_error
            assert "tools:files" in text_of(refused) and "milk" not in text_of(refused)
        added = await session.call_tool("add", {"a": 2, "b": 3})
        assert text_of(added) == "5"


@pytest.mark.parametrize("transport", ["mcp", "sse"])
async def test_token_with_files_scope_lists_and_reads(server: ServerRunner, shared: Path, transport: str) -> None:
    token, scope = grant(server.base_url, ticked=["tools:files"])
    assert "tools:files" in scope.split()
    async with mcp_session(server.base_url, token, transport) as (session, _):
        names = await tool_names(session)
        assert set(FILE_TOOLS) <= set(names)
        assert "now" not in names  # tools:time was not ticked
        result = await session.call_tool("read_file", {"path": "Notes/todo.txt"})
        assert not result.is_error
        assert json.loads(text_of(result))["text"] == "buy milk\n"


def test_waiting_page_and_owner_list_mark_what_the_client_asked_for(server: ServerRunner, data_dir: Path) -> None:
    import httpx

    from tests.support import owner
    from tests.support.consent import open_waiting_page

    client_id = register(server.base_url, "asks for files")
    _, challenge = pkce_pair()
    url = authorize_url(server.base_url, client_id, challenge, scope="mcp tools:files")
    with httpx.Client(timeout=10) as http:
        waiting_url, code = open_waiting_page(http, url)
        page = http.get(waiting_url).text
    assert "List, search and read files" in page  # the plain words for tools:files
    assert owner.find_pending(data_dir, code)["requested_tool_groups"] == ["tools:files"]


def test_person_can_untick_a_requested_group(server: ServerRunner) -> None:
    _, scope = grant(server.base_url, ticked=["tools:time"], scope="mcp tools:files")
    assert sorted(scope.split()) == ["mcp", "tools:time"]


def test_openid_scopes_of_mcp_remote_still_accepted(server: ServerRunner) -> None:
    _, scope = grant(server.base_url, ticked=None, scope="openid email profile")
    assert sorted(scope.split()) == ["email", "openid", "profile"]


async def test_no_scope_requested_gets_base_tools(server: ServerRunner) -> None:
    token, _ = grant(server.base_url, ticked=None)
    async with mcp_session(server.base_url, token) as (session, _):
        assert await tool_names(session) == ["add"]


def test_owner_cannot_grant_what_is_no_tool_group(server: ServerRunner, data_dir: Path) -> None:
    import httpx

    from tests.support import owner
    from tests.support.consent import open_waiting_page

    client_id = register(server.base_url, "forger")
    _, challenge = pkce_pair()
    with httpx.Client(timeout=10) as http:
        _, code = open_waiting_page(http, authorize_url(server.base_url, client_id, challenge))
    with pytest.raises(SystemExit):  # argparse refuses a scope that is not a tool group
        owner.owner_cli(data_dir, "approve", code, "--scope", "admin")
    assert owner.find_pending(data_dir, code)["code"] == code  # still waiting, nothing granted
