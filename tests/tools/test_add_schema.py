"""The seed's `add`: both arguments plain JSON numbers in tools/list (the MCP Inspector then shows number
fields, not code editors), and add(2, 3) answers "5" as the seed does, over the real server."""

from __future__ import annotations

import pytest

from app.server.runner import ServerRunner
from tests.support.oauth import obtain_tokens
from tests.tools.mcp_session import mcp_session, text_of

pytestmark = [pytest.mark.anyio]


@pytest.mark.e2e
async def test_add_takes_two_numbers_and_answers_like_the_seed(server: ServerRunner) -> None:
    tokens = obtain_tokens(server.base_url)
    async with mcp_session(server.base_url, tokens.access_token) as (session, _):
        listed = {t.name: t for t in (await session.list_tools()).tools}
        schema = listed["add"].input_schema
        assert schema["required"] == ["a", "b"]
        for name in ("a", "b"):
            argument = {k: v for k, v in schema["properties"][name].items() if k != "title"}
            assert argument == {"type": "number"}
        assert text_of(await session.call_tool("add", {"a": 2, "b": 3})) == "5"
        assert text_of(await session.call_tool("add", {"a": 2.5, "b": 0.25})) == "2.75"
        assert text_of(await session.call_tool("add", {"a": -1, "b": 1})) == "0"
        assert text_of(await session.call_tool("add", {"a": 0.1, "b": 0.2})) == str(0.1 + 0.2)
        assert text_of(await session.call_tool("add", {"a": 1e300, "b": 0})) == str(1e300)  # not 301 digits
        refused = await session.call_tool("add", {"a": "two", "b": 3})
        assert refused.is_error


async def test_add_runs_on_the_loop_without_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in `add` is a coroutine: the SDK awaits it on the server's loop instead of handing a
    plain function to a worker thread (a hop that cost more than the rest of a call)."""
    import anyio.to_thread

    from app.tools.registry import ToolRegistry

    def no_thread(*args: object, **kwargs: object) -> None:
        raise AssertionError("add went to a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_thread)
    tool = ToolRegistry(plugins=False).lookup("add", frozenset())
    assert await tool.run({"a": 2, "b": 3}, None) == 5  # type: ignore[arg-type]  # add takes no context
