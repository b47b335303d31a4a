"""The audit log of tool use: real server, real SDK clients over /mcp (2025 and 2026-07-28) and /sse."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from app.server.redact import REDACTED, summarize
from app.server.runner import ServerRunner
from app.store import audit
from app.store.audit import AuditEntry, AuditFilter
from app.store.db import DB_NAME
from app.store.store import Store
from tests.conftest import parts_of
from tests.support.oauth import obtain_tokens
from tests.tools.mcp_session import mcp_session, text_of

pytestmark = [pytest.mark.anyio]


def flushed_rows(server: ServerRunner) -> list[audit.AuditRow]:
    """The audit rows once the server's writer caught up, newest first."""
    assert server.parts is not None and parts_of(server).audit is not None
    assert (writer := parts_of(server).audit) is not None and writer.flush()
    return parts_of(server).store.audit.rows()


@pytest.mark.e2e
@pytest.mark.parametrize("transport", ["mcp", "sse"])
async def test_each_call_leaves_a_row_with_client_grant_and_outcome(server: ServerRunner, transport: str) -> None:
    tokens = obtain_tokens(server.base_url, name="audited client")
    async with mcp_session(server.base_url, tokens.access_token, transport) as (session, _):
        assert text_of(await session.call_tool("add", {"a": 2, "b": 3})) == "5"
        bad = await session.call_tool("add", {"a": "x", "b": 3})
        assert bad.is_error
        missing = await session.call_tool("no_such_tool", {})
        assert missing.is_error
    rows = flushed_rows(server)
    assert [(r.name, r.outcome) for r in rows] == [
        ("no_such_tool", audit.TOOL_ERROR), ("add", audit.TOOL_ERROR), ("add", audit.OK)]
    ok = rows[-1]
    grant = parts_of(server).store.check_token(tokens.access_token)
    assert grant is not None
    assert ok.client_id == tokens.client_id and ok.client_name == "audited client"
    assert ok.grant_id == grant.grant_id and ok.method == "tools/call"
    assert json.loads(ok.arguments) == {"a": 2, "b": 3}
    assert ok.duration_ms >= 0
    assert "Unknown tool" in rows[0].detail


@pytest.mark.e2e
async def test_a_2026_07_28_request_is_audited_too(server: ServerRunner) -> None:
    tokens = obtain_tokens(server.base_url)
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
            Client(streamable_http_client(f"{server.base_url}/mcp", http_client=http)) as client:
        result = await client.call_tool("add", {"a": 40, "b": 2})
        assert not result.is_error
    (row,) = flushed_rows(server)
    assert (row.name, row.outcome, row.client_id) == ("add", audit.OK, tokens.client_id)


@pytest.mark.e2e
async def test_secret_looking_arguments_are_redacted_in_the_row(server: ServerRunner) -> None:
    tokens = obtain_tokens(server.base_url)
    async with mcp_session(server.base_url, tokens.access_token) as (session, _):
        await session.call_tool("add", {"a": 1, "b": 2, "api_key": "hunter2", "password": "pw",
                                        "note": "x" * 1000, "path": "/home/me/" + "d/" * 100 + "f.txt"})
    (row,) = flushed_rows(server)
    assert "hunter2" not in row.arguments and '"pw"' not in row.arguments
    args = json.loads(row.arguments)
    assert args["api_key"] == REDACTED and args["password"] == REDACTED
    assert len(args["note"]) < 300 and args["note"].endswith("(+800 chars)")
    assert args["path"].endswith("f.txt")  # file paths are kept whole


def test_summary_redacts_by_name_and_by_value() -> None:
    summary = json.loads(summarize({
        "token": "abc", "clientSecret": "s", "auth": {"user": "me", "pin": "1234"},
        "text": "mcpat_abcdefghijklmnop", "header": "Bearer abc.def", "items": list(range(30)),
        "monkey": "banana", "keyboard": "qwerty"}))
    assert summary["token"] == summary["clientSecret"] == summary["auth"] == REDACTED
    assert summary["text"] == summary["header"] == REDACTED
    assert summary["monkey"] == "banana" and summary["keyboard"] == "qwerty"
    assert len(summary["items"]) == 21


def _entry(i: int, at: float = 1000.0) -> AuditEntry:
    return AuditEntry(at + i, "c1", "client", "g1", "tools/call", "add", json.dumps({"a": i}), "ok", "", 1.5)


def test_a_batch_lands_as_given_in_one_statement(data_dir: Path) -> None:
    """The SQLite batch insert (one statement over a JSON array) keeps every value and type as given."""
    odd = [AuditEntry(1000.25, None, None, None, "tools/call", "add", "{}", "ok", "", 0.0),
           AuditEntry(1001.0, "c'1", 'n"ame \u00e9\u2603 \\ \n', "g1", "resources/read", "file:///x y",
                      '{"k": "\u00fc"}', "tool error", "line 1\nline 2 'q' \"dq\"", 12345.678),
           AuditEntry(1e10, "c", "", "g", "prompts/get", "p" * 200, "[]", "denied", "x" * 300, 3.0)]
    ids = Store(data_dir).audit.append(odd)
    rows = sorted(Store(data_dir).audit.rows(AuditFilter()), key=lambda r: r.id)
    assert [r.id for r in rows] == ids == sorted(ids)
    for row, entry in zip(rows, odd, strict=True):
        assert (row.at, row.client_id, row.client_name, row.grant_id, row.method, row.name, row.arguments,
                row.outcome, row.detail, row.duration_ms) == (entry.at, entry.client_id, entry.client_name,
                                                              entry.grant_id, entry.method, entry.name,
                                                              entry.arguments, entry.outcome, entry.detail,
                                                              round(entry.duration_ms, 3))
        assert isinstance(row.at, float) and isinstance(row.duration_ms, float)
    assert Store(data_dir).audit.verify().ok


def test_editing_a_row_makes_verify_name_it(data_dir: Path) -> None:
    store = Store(data_dir)
    store.audit.append([_entry(i) for i in range(5)])
    assert store.audit.verify().ok and store.audit.verify().checked == 5
    with sqlite3.connect(data_dir / DB_NAME) as conn:
        conn.execute("UPDATE audit SET outcome = 'denied' WHERE id = 3")
    result = store.audit.verify()
    assert not result.ok and result.broken_id == 3 and "edited" in result.reason
    store.close()


def test_deleting_a_middle_row_makes_verify_name_the_next(data_dir: Path) -> None:
    store = Store(data_dir)
    store.audit.append([_entry(i) for i in range(5)])
    with sqlite3.connect(data_dir / DB_NAME) as conn:
        conn.execute("DELETE FROM audit WHERE id = 2")
    result = store.audit.verify()
    assert not result.ok and result.broken_id == 3 and "removed" in result.reason
    store.close()


def test_retention_trims_by_age_and_by_count_and_the_chain_still_verifies(data_dir: Path) -> None:
    store = Store(data_dir)
    now = 10 * 86400.0
    store.audit.append([_entry(i, at=now - 5 * 86400) for i in range(3)])  # 5 days old
    store.audit.append([_entry(i, at=now) for i in range(10)])
    assert store.audit.trim(max_days=2, max_rows=100, now=now + 1) == 3
    assert store.audit.count() == 10
    assert store.audit.trim(max_days=2, max_rows=4, now=now + 1) == 6
    kept = store.audit.rows(AuditFilter())
    assert [r.id for r in kept] == [13, 12, 11, 10]
    assert store.audit.verify().ok
    store.audit.append([_entry(99, at=now)])  # new rows chain onto what is left
    assert store.audit.verify().ok and store.audit.verify().checked == 5
    store.close()


def test_filters(data_dir: Path) -> None:
    store = Store(data_dir)
    store.audit.append([_entry(1), AuditEntry(5.0, "c2", "other", "g2", "tools/call", "now", "{}", "denied", "", 1)])
    assert [r.name for r in store.audit.rows(AuditFilter(client_id="c2"))] == ["now"]
    assert [r.client_id for r in store.audit.rows(AuditFilter(name="add"))] == ["c1"]
    assert [r.name for r in store.audit.rows(AuditFilter(outcome="denied"))] == ["now"]
    assert [r.name for r in store.audit.rows(AuditFilter(since=100))] == ["add"]
    store.close()


@pytest.mark.e2e
async def test_resources_read_and_prompts_get_are_audited(server: ServerRunner) -> None:
    from mcp.shared.exceptions import MCPError

    tokens = obtain_tokens(server.base_url)
    async with mcp_session(server.base_url, tokens.access_token) as (session, _):
        with pytest.raises(MCPError):
            await session.read_resource("file:///etc/passwd")  # this server has no resources
        with pytest.raises(MCPError):
            await session.get_prompt("greet", {"name": "me", "password": "pw"})
    rows = flushed_rows(server)
    assert [(r.method, r.name, r.outcome) for r in rows] == [
        ("prompts/get", "greet", audit.ERROR), ("resources/read", "file:///etc/passwd", audit.ERROR)]
    assert json.loads(rows[0].arguments) == {"name": "me", "password": REDACTED}
    assert rows[0].detail and rows[0].client_id == tokens.client_id
