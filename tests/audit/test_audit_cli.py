"""`mcp-tray audit list|export|verify` against a data dir with a real server's rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from app.commands.audit_cli import parse_since
from app.server.runner import ServerRunner
from app.store.db import DB_NAME
from tests.commands.test_store_cli import cli
from tests.conftest import parts_of
from tests.support.oauth import obtain_tokens
from tests.tools.mcp_session import mcp_session

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_list_export_verify_and_a_tampered_row(server: ServerRunner, data_dir: Path, tmp_path: Path) -> None:
    tokens = obtain_tokens(server.base_url, name="cli audited")
    other = obtain_tokens(server.base_url, name="someone else")
    async with mcp_session(server.base_url, tokens.access_token) as (session, _):
        for i in range(3):
            await session.call_tool("add", {"a": i, "b": 1, "secret": "s3cr3t"})
    async with mcp_session(server.base_url, other.access_token) as (session, _):
        with pytest.raises(MCPError):  # HTTP 403: no tools:time
            await session.call_tool("now", {})
    assert (writer := parts_of(server).audit) is not None and writer.flush()

    listed = json.loads(cli(data_dir, "audit", "list", "--json").stdout)
    assert [r["name"] for r in listed] == ["now", "add", "add", "add"]
    mine = json.loads(cli(data_dir, "audit", "list", "--json", "--client", tokens.client_id).stdout)
    assert {r["client_name"] for r in mine} == {"cli audited"} and len(mine) == 3
    only_now = json.loads(cli(data_dir, "audit", "list", "--json", "--tool", "now").stdout)
    assert [r["client_id"] for r in only_now] == [other.client_id]
    assert len(json.loads(cli(data_dir, "audit", "list", "--json", "--since", "1h").stdout)) == 4
    table = cli(data_dir, "audit", "list").stdout
    assert "cli audited" in table and "s3cr3t" not in table
    bad_since = cli(data_dir, "audit", "list", "--since", "yesterday")
    assert bad_since.returncode == 2 and "30m, 1h or 7d" in bad_since.stderr

    out = tmp_path / "audit.jsonl"
    assert cli(data_dir, "audit", "export", "--jsonl", str(out)).returncode == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == sorted(r["id"] for r in listed) and "s3cr3t" not in out.read_text()

    ok = cli(data_dir, "audit", "verify")
    assert ok.returncode == 0 and "OK: 4 row(s)" in ok.stdout
    second = sorted(r["id"] for r in listed)[1]
    with sqlite3.connect(data_dir / DB_NAME) as conn:
        conn.execute("UPDATE audit SET arguments = '{\"a\": 99}' WHERE id = ?", (second,))
    broken = cli(data_dir, "audit", "verify")
    assert broken.returncode == 1 and f"BROKEN at row {second}" in broken.stdout


def test_since_parses_units() -> None:
    assert parse_since("90s") == 90 and parse_since("1h") == 3600 and parse_since("7d") == 7 * 86400
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("1 fortnight")
