"""Allow / Ask / Block enforced by the server, for every transport and protocol era, with the audit row
each case leaves. The owner answers here through the server's in-process channel (as the tray does);
tests/ui/test_prompt_window.py answers in the real window, test_calls_cli.py from another process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp.types import CallToolResult

from app.config import Settings
from app.server.runner import ServerRunner
from app.store import audit
from app.store.held import HOUR, ONCE
from bench.support.mcp_session import text_of
from tests.audit.helpers import TRANSPORTS, any_client, wait_held
from tests.conftest import parts_of, start_runner
from tests.support.oauth import obtain_tokens

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
def asking(data_dir: Path) -> Iterator[ServerRunner]:
    """A server whose `add` is set to Ask, answering timeouts after 2 s, at most 2 held per sign-in."""
    runner = start_runner(data_dir, settings=Settings(ask_timeout=2, max_held_per_grant=2))
    runner.tools.set_policy("add", "ask")
    yield runner
    runner.close()


def last_row(server: ServerRunner) -> audit.AuditRow:
    assert (writer := parts_of(server).audit) is not None and writer.flush()
    return parts_of(server).store.audit.rows()[0]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_allow_once_runs_the_call_and_asks_again_next_time(asking: ServerRunner, transport: str) -> None:
    tokens = obtain_tokens(asking.base_url, name="asker")
    async with any_client(asking.base_url, tokens.access_token, transport) as client:
        async with anyio.create_task_group() as tg:
            results: list[CallToolResult] = []

            async def go() -> None:
                results.append(await client.call_tool("add", {"a": 2, "b": 3, "password": "pw"}))

            tg.start_soon(go)
            (held,) = await wait_held(asking.held.waiting)
            assert (held.tool, held.client_name) == ("add", "asker")
            assert json.loads(held.arguments) == {"a": 2, "b": 3, "password": "pw"}  # the owner sees all
            assert asking.held.answer(held.call_id, True, ONCE) is not None
        assert text_of(results[0]) == "5"
        row = last_row(asking)
        assert (row.outcome, row.name, row.client_id) == (audit.OK, "add", tokens.client_id)
        assert "pw" not in row.arguments and row.duration_ms > 0
        async with anyio.create_task_group() as tg:  # once means once: the next call is held again
            tg.start_soon(client.call_tool, "add", {"a": 1, "b": 1})
            (again,) = await wait_held(asking.held.waiting)
            asking.held.answer(again.call_id, True, ONCE)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_deny_returns_the_declined_error(asking: ServerRunner, transport: str) -> None:
    tokens = obtain_tokens(asking.base_url)
    async with any_client(asking.base_url, tokens.access_token, transport) as client:
        async with anyio.create_task_group() as tg:
            results: list[CallToolResult] = []

            async def go() -> None:
                results.append(await client.call_tool("add", {"a": 2, "b": 3}))

            tg.start_soon(go)
            (held,) = await wait_held(asking.held.waiting)
            asking.held.answer(held.call_id, False)
    assert results[0].is_error
    assert "declined" in text_of(results[0])
    assert last_row(asking).outcome == audit.DENIED


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_answer_returns_the_timeout_error(asking: ServerRunner, transport: str) -> None:
    tokens = obtain_tokens(asking.base_url)
    async with any_client(asking.base_url, tokens.access_token, transport) as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.is_error and "did not answer within 2 s" in text_of(result)
    assert last_row(asking).outcome == audit.NO_ANSWER
    assert asking.held.waiting() == [] and parts_of(asking).store.held.pending() == []


async def test_allow_for_an_hour_lets_the_next_call_run_without_asking(asking: ServerRunner) -> None:
    tokens = obtain_tokens(asking.base_url)
    other = obtain_tokens(asking.base_url, name="another client")
    async with any_client(asking.base_url, tokens.access_token, "mcp") as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "add", {"a": 2, "b": 3})
            (held,) = await wait_held(asking.held.waiting)
            asking.held.answer(held.call_id, True, HOUR)
        with anyio.fail_after(1.5):  # well under the 2 s timeout: nothing waits for anyone
            assert text_of(await client.call_tool("add", {"a": 4, "b": 4})) == "8"
    assert last_row(asking).outcome == audit.OK
    async with any_client(asking.base_url, other.access_token, "mcp") as client:  # only for that client
        assert "did not answer" in text_of(await client.call_tool("add", {"a": 1, "b": 1}))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_block_refuses_at_once(asking: ServerRunner, transport: str) -> None:
    asking.tools.set_policy("add", "block")
    tokens = obtain_tokens(asking.base_url)
    async with any_client(asking.base_url, tokens.access_token, transport) as client:
        with anyio.fail_after(1.5):
            result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.is_error and "blocked" in text_of(result)
    assert last_row(asking).outcome == audit.BLOCKED


async def test_a_sign_in_cannot_flood_the_owner(asking: ServerRunner) -> None:
    tokens = obtain_tokens(asking.base_url)
    async with any_client(asking.base_url, tokens.access_token, "mcp") as client:
        async with anyio.create_task_group() as tg:
            for i in range(2):
                tg.start_soon(client.call_tool, "add", {"a": i, "b": 0})
            held = await wait_held(asking.held.waiting, 2)
            with anyio.fail_after(1.5):
                third = await client.call_tool("add", {"a": 9, "b": 9})
            assert third.is_error and "already waiting" in text_of(third)
            assert last_row(asking).outcome == audit.REFUSED
            for call in held:
                asking.held.answer(call.call_id, False)


async def test_a_client_that_leaves_while_held_is_recorded_and_its_call_forgotten(data_dir: Path) -> None:
    # A long timeout, so the only way the call ends here is the client leaving.
    asking = start_runner(data_dir, settings=Settings(ask_timeout=120))
    asking.tools.set_policy("add", "ask")
    try:
        await _leave_while_held(asking)
    finally:
        asking.close()


async def _leave_while_held(asking: ServerRunner) -> None:
    tokens = obtain_tokens(asking.base_url)
    with anyio.move_on_after(30):
        async with any_client(asking.base_url, tokens.access_token, "sse") as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "add", {"a": 1, "b": 1})
                await wait_held(asking.held.waiting)
                tg.cancel_scope.cancel()  # the client gives up and closes its connection
    assert asking.parts is not None
    store = parts_of(asking).store
    with anyio.fail_after(30):  # the call ends on the server's side a moment after the client left
        while asking.held.waiting() or store.held.pending() or not store.audit.rows():
            await anyio.sleep(0.05)
    assert last_row(asking).outcome == audit.CANCELLED
