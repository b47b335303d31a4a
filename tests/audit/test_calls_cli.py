"""Headless: `mcp-tray serve` holds an Ask call, says so on stderr, and `mcp-tray calls ...` answers it
from another process; over /mcp, /sse and a 2026-07-28 request."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp.types import CallToolResult

from app.config import Settings
from app.store import audit
from app.store.store import Store
from bench.support.mcp_session import text_of
from tests.audit.helpers import TRANSPORTS, any_client
from tests.commands.test_store_cli import cli
from tests.support.oauth import obtain_tokens
from tests.support.serve import ServeProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def pending(data_dir: Path) -> list[dict[str, object]]:
    """`mcp-tray calls pending --json`."""
    done = cli(data_dir, "calls", "pending", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


async def wait_pending(data_dir: Path) -> dict[str, object]:
    with anyio.fail_after(20):
        while True:
            calls = await anyio.to_thread.run_sync(pending, data_dir)
            if calls:
                return calls[0]
            await anyio.sleep(0.1)


def audit_outcomes(data_dir: Path) -> list[str]:
    store = Store(data_dir)
    try:
        return [r.outcome for r in store.audit.rows()]
    finally:
        store.close()


@pytest.fixture
def headless(data_dir: Path) -> ServeProcess:
    Settings(ask_timeout=30).save(data_dir)
    assert cli(data_dir, "tools", "policy", "add", "ask").returncode == 0
    return ServeProcess(data_dir)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_calls_allow_and_deny_from_another_process(headless: ServeProcess, data_dir: Path,
                                                         transport: str) -> None:
    with headless as serve:
        tokens = obtain_tokens(serve.base, name="headless asker")
        async with any_client(serve.base, tokens.access_token, transport) as client:
            results: list[CallToolResult] = []
            async with anyio.create_task_group() as tg:
                async def go() -> None:
                    results.append(await client.call_tool("add", {"a": 20, "b": 22, "api_token": "tok"}))

                tg.start_soon(go)
                held = await wait_pending(data_dir)
                assert held["tool"] == "add" and held["client_name"] == "headless asker"
                assert held["arguments"] == {"a": 20, "b": 22, "api_token": "tok"}
                table = cli(data_dir, "calls", "pending").stdout
                assert str(held["call_id"]) in table and "mcp-tray calls allow" in table
                done = cli(data_dir, "calls", "allow", str(held["call_id"]))
                assert done.returncode == 0 and "Allowed add once" in done.stdout
            assert text_of(results[0]) == "42"
            again = cli(data_dir, "calls", "allow", str(held["call_id"]))
            assert again.returncode == 1 and "is waiting" in again.stderr

            results.clear()
            async with anyio.create_task_group() as tg:
                async def go_deny() -> None:
                    results.append(await client.call_tool("add", {"a": 1, "b": 1}))

                tg.start_soon(go_deny)
                held = await wait_pending(data_dir)
                assert cli(data_dir, "calls", "deny", str(held["call_id"])).returncode == 0
            assert results[0].is_error and "declined" in text_of(results[0])
        code, err = serve.stop()
    assert code == 0
    assert f"mcp-tray calls allow {held['call_id']}" in err  # the held call was announced on stderr
    assert audit_outcomes(data_dir)[:2] == [audit.DENIED, audit.OK]


async def test_calls_allow_for_an_hour_from_the_cli(headless: ServeProcess, data_dir: Path) -> None:
    with headless as serve:
        tokens = obtain_tokens(serve.base)
        async with any_client(serve.base, tokens.access_token, "mcp") as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "add", {"a": 1, "b": 2})
                held = await wait_pending(data_dir)
                assert cli(data_dir, "calls", "allow", str(held["call_id"]), "--for", "1h").returncode == 0
            with anyio.fail_after(5):
                assert text_of(await client.call_tool("add", {"a": 2, "b": 2})) == "4"
            assert pending(data_dir) == []
    assert audit_outcomes(data_dir)[:2] == [audit.OK, audit.OK]


def test_tools_policy_cli(data_dir: Path) -> None:
    assert cli(data_dir, "tools", "policy", "now", "block").returncode == 0
    listed = json.loads(cli(data_dir, "tools", "list", "--json").stdout)["tools"]
    policies = {t["name"]: (t["policy"], t["default_policy"]) for t in listed}
    assert policies["now"] == ("block", "allow") and policies["add"] == ("allow", "allow")
    assert json.loads((data_dir / "tools.json").read_text())["policies"] == {"now": "block"}
    bad = cli(data_dir, "tools", "policy", "nope", "ask")
    assert bad.returncode == 1 and "no such tool" in bad.stderr
    assert cli(data_dir, "tools", "policy", "now", "maybe").returncode == 2
    assert cli(data_dir, "calls", "deny", "abcdef").returncode == 1
