"""`mcp-tray bridge URL` under the mcp SDK's stdio client, against the real server: the whole OAuth life.

The bridge runs as its own process with HOME set to a fresh folder and $BROWSER set to a script
that approves the consent page and logs each visit, so the tests can count how often a person
would have been asked.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import keyring
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client

from app.bridge.cached_sign_in import SERVICE, canonical_url
from app.bridge.storage import Record
from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.conftest import parts_of
from tests.support.bridge import BridgeRun, add_via_bridge, real_keyring_or_skip
from tests.support.serve import REPO, ServeProcess, app_command

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NO_KEYRING = "is kept in memory only"


def _stored(url: str) -> Record:
    return Record.parse(keyring.get_password(SERVICE, canonical_url(url)))


def _stored_tokens(url: str) -> dict[str, Any]:
    tokens = _stored(url).tokens
    assert tokens is not None, "the bridge stored no tokens"
    return tokens


def _stored_client(url: str) -> dict[str, Any]:
    client = _stored(url).client_info
    assert client is not None, "the bridge stored no client registration"
    return client


@pytest.mark.keyring
@pytest.mark.parametrize("path", ["/mcp", "/sse"])
async def test_signs_in_once_then_second_start_reuses_keyring_and_no_file_holds_tokens(
        server: ServerRunner, tmp_path: Path, path: str) -> None:
    real_keyring_or_skip()
    url = f"http://127.0.0.1:{server.port}{path}"
    run = BridgeRun(tmp_path)
    try:
        assert await add_via_bridge(run, url) == (["add"], "5")
        assert run.consents() == 1
        assert await add_via_bridge(run, url) == (["add"], "5")
        assert run.consents() == 1, "the second start must reuse the stored sign-in"
        assert NO_KEYRING not in run.stderr()

        record = _stored(url)
        assert record.client_info and record.tokens
        secrets = [record.tokens["access_token"], record.tokens["refresh_token"]]
        found = subprocess.run(["secret-tool", "search", "--all", "service", SERVICE], capture_output=True,
                               text=True, timeout=30)
        assert f"attribute.username = {canonical_url(url)}" in found.stdout + found.stderr
        files = [p for p in run.home.rglob("*") if p.is_file()]
        assert files, "the bridge process ran with this HOME (its log is there)"
        for file in files:
            data = file.read_bytes()
            assert not any(s.encode() in data for s in secrets), f"a token leaked into {file}"
    finally:
        keyring.delete_password(SERVICE, canonical_url(url))


async def _session_calls(run: BridgeRun, url: str, between: list[Callable[[], object] | float]) -> list[str]:
    """One bridge process: add(2, 3) before and after each step in `between` (a callable or seconds to wait)."""
    answers = []
    with open(run.stderr_path, "a") as errlog:
        async with stdio_client(run.params(url), errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            answers.append(text_of(await session.call_tool("add", {"a": 2, "b": 3})))
            for step in between:
                if callable(step):
                    step()
                else:
                    await anyio.sleep(step)
                result = await session.call_tool("add", {"a": 2, "b": 3})
                assert not result.is_error, result
                answers.append(text_of(result))
    return answers


@pytest.fixture
def short_lived_server(data_dir: Path) -> object:
    """A server whose access tokens live 4 seconds (Settings.load clamps to 60 s; tests build Settings directly)."""
    from app.config import Settings
    from tests.conftest import start_runner

    runner = start_runner(data_dir, settings=Settings(access_token_ttl=4))
    yield runner
    runner.close()


@pytest.mark.keyring
async def test_refreshes_after_the_access_token_expires_in_session_and_across_restart(
        short_lived_server: ServerRunner, tmp_path: Path) -> None:
    real_keyring_or_skip()
    server = short_lived_server
    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path)
    try:
        assert await _session_calls(run, url, [5.0]) == ["5", "5"]
        assert run.consents() == 1
        first_refresh = _stored_tokens(url)["refresh_token"]
        time.sleep(5)  # the stored access token is now expired: the next start must refresh, not ask
        assert await add_via_bridge(run, url) == (["add"], "5")
        assert run.consents() == 1
        assert _stored_tokens(url)["refresh_token"] != first_refresh
        issued = [t for t in parts_of(server).store.list_tokens(include_inactive=True) if t.kind == "access"]
        assert len(issued) >= 3, "one access token from the sign-in and one per refresh"
    finally:
        keyring.delete_password(SERVICE, canonical_url(url))


async def test_recovers_after_revoke_asking_once(server: ServerRunner, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path, keyring=False)
    store = parts_of(server).store
    assert await _session_calls(run, url, [store.revoke_all, 1.0]) == ["5", "5", "5"]
    assert run.consents() == 2, run.stderr()
    assert "Traceback" not in run.stderr()


async def test_recovers_over_sse_after_revoke_from_the_cli(data_dir: Path, tmp_path: Path) -> None:
    # The server runs as `mcp-tray serve` and the revocation comes from `mcp-tray tokens revoke --all`,
    # another process: the bridge's SSE stream is cut, and it reconnects, asks once, and carries on.
    run = BridgeRun(tmp_path, keyring=False)

    def revoke_all() -> None:
        done = subprocess.run(app_command("tokens", "revoke", "--all", "--data-dir", str(data_dir)),
                              cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    with ServeProcess(data_dir) as serve:
        assert await _session_calls(run, f"{serve.base}/sse", [revoke_all, 1.0]) == ["5", "5", "5"]
    assert run.consents() == 2, run.stderr()
    assert "closed the connection (SSE); reconnecting" in run.stderr()
    assert "Traceback" not in run.stderr()


async def test_registers_again_after_its_client_was_removed(server: ServerRunner, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path, keyring=False)
    store = parts_of(server).store

    def remove_bridge_client() -> None:
        (client,) = [c for c in store.list_clients() if c.client_name == "MCP Tray bridge"]
        assert store.remove_client(client.client_id)

    assert await _session_calls(run, url, [remove_bridge_client]) == ["5", "5"]
    assert run.consents() == 2
    assert "registering again" in run.stderr()
    assert len([c for c in store.list_clients() if c.client_name == "MCP Tray bridge"]) == 1


@pytest.mark.keyring
async def test_second_start_after_client_removed_registers_again(server: ServerRunner, tmp_path: Path) -> None:
    real_keyring_or_skip()
    url = f"http://localhost:{server.port}/mcp"
    run = BridgeRun(tmp_path)
    store = parts_of(server).store
    try:
        assert await add_via_bridge(run, url) == (["add"], "5")
        old = _stored_client(url)["client_id"]
        assert store.remove_client(old)
        assert await add_via_bridge(run, url) == (["add"], "5")
        assert run.consents() == 2
        assert _stored_client(url)["client_id"] != old
    finally:
        keyring.delete_password(SERVICE, canonical_url(url))


async def test_without_keyring_works_in_memory_and_says_so(server: ServerRunner, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path, keyring=False)
    assert await add_via_bridge(run, url) == (["add"], "5")
    assert await add_via_bridge(run, url) == (["add"], "5")
    assert run.consents() == 2, "nothing persisted, so the second start asks again"
    assert run.stderr().count(NO_KEYRING) == 2
    for file in run.home.rglob("*"):
        if file.is_file():
            assert b"refresh_token" not in file.read_bytes(), f"sign-in data written to {file}"


async def test_falls_back_to_sse_when_the_server_refuses_streamable_http(tmp_path: Path) -> None:
    from tests.support.sse_only import sse_only_server

    run = BridgeRun(tmp_path, keyring=False)
    with sse_only_server() as url:
        assert await add_via_bridge(run, url) == (["add"], "5")
    assert "does not speak streamable HTTP; using the SSE transport" in run.stderr()
    assert run.consents() == 0


async def test_unreachable_server_is_one_clear_sentence(tmp_path: Path) -> None:
    run = BridgeRun(tmp_path, keyring=False)
    with pytest.raises(Exception):  # noqa: B017 - the SDK client reports the bridge's JSON-RPC error its own way
        await add_via_bridge(run, "http://127.0.0.1:9/mcp")
    err = run.stderr()
    assert "cannot connect" in err and "is the server running?" in err
    assert "Traceback" not in err


def test_bad_url_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "app", "bridge", "ftp://example"], capture_output=True, text=True,
                          env=BridgeRun(tmp_path, keyring=False).env, cwd=str(Path(__file__).parents[2]), timeout=60)
    assert done.returncode == 2 and "not an http(s) URL" in done.stderr and done.stdout == ""


@pytest.mark.keyring
async def test_taken_callback_port_registers_with_a_new_one(server: ServerRunner, tmp_path: Path) -> None:
    real_keyring_or_skip()
    import socket
    from urllib.parse import urlsplit

    url = f"http://127.0.0.1:{server.port}/mcp"
    run = BridgeRun(tmp_path)
    try:
        assert await add_via_bridge(run, url) == (["add"], "5")
        old_redirect = _stored_client(url)["redirect_uris"][0]
        parts_of(server).store.revoke_all()
        with socket.socket() as squatter:
            # The bridge's old callback socket may linger in TIME_WAIT; that must not stop the squatter.
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", urlsplit(old_redirect).port))
            squatter.listen()
            assert await add_via_bridge(run, url) == (["add"], "5")
        assert run.consents() == 2
        assert _stored_client(url)["redirect_uris"][0] != old_redirect
    finally:
        keyring.delete_password(SERVICE, canonical_url(url))
