"""Caddy and nginx, real and running packaging/remote's configs, in front of `serve --public-url`.

The public-looking name mcp.example.test resolves to loopback for the test's clients only (their
own resolution overrides, no hosts file); Caddy signs with its internal CA, nginx with a
certificate made here. The SDK client and mcp-remote complete OAuth through the HTTPS URL and
call add(2, 3); tokens stay on the side they were minted on; Stop closes the public URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.auth import OAuthClientProvider
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl

from app.auth.origins import parse_public_url
from app.remote.ingress import OwnProxy
from app.store.store import Store
from bench.support.mcp_session import text_of
from tests.conftest import parts_of, start_runner
from tests.remote.proxies import TEST_HOST, Caddy, Nginx, Proxy, client_env, resolve_in_this_process
from tests.support import owner
from tests.support.clients import mcp_remote_command, mcp_remote_env
from tests.support.consent import answer_consent, query_of
from tests.support.memory_storage import MemoryStorage
from tests.support.oauth import INITIALIZE, MCP_HEADERS, run_flow
from tests.support.serve import ServeProcess
from tests.support.signin import sign_in

pytestmark = pytest.mark.e2e

Setup = tuple[Proxy, ServeProcess, Path]


def _setup(kind: type[Proxy], tmp: Path) -> Iterator[Setup]:
    data_dir = tmp / "data"
    data_dir.mkdir()
    from tests.support.serve import free_port

    port = free_port()
    proxy = kind(tmp / kind.name, port)  # type: ignore[call-arg]  # every kind takes (work, upstream port); Proxy none
    try:
        serve = ServeProcess(data_dir, port, public_url=proxy.public_url)
    except BaseException:
        proxy.stop()
        raise
    # Sign-ins through the proxy are answered as the owner of this data dir (tests/support/owner.py).
    owner.remember(int(urlsplit(proxy.public_url).port or 443), data_dir)
    owner.remember(port, data_dir)
    yield proxy, serve, data_dir
    serve.stop()
    proxy.stop()


@pytest.fixture(scope="module", params=[Caddy, Nginx], ids=["caddy", "nginx"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A proxy and `serve --public-url` behind it, for the whole module (one of each kind)."""
    yield from _setup(request.param, tmp_path_factory.mktemp(request.param.name))


@pytest.fixture
def resolved(stack: Setup, monkeypatch: pytest.MonkeyPatch) -> Setup:
    resolve_in_this_process(monkeypatch, stack[0])
    return stack




async def sdk_add(url: str, storage: MemoryStorage) -> str:
    """The MCP SDK's OAuth client against `url`; its browser is the shared consent helper."""
    final: dict[str, str] = {}

    async def redirect_handler(authorization_url: str) -> None:
        assert authorization_url.startswith(url.rsplit("/", 1)[0] + "/authorize?")
        final.update(query_of(await anyio.to_thread.run_sync(answer_consent, authorization_url)))

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=final["code"], state=final.get("state"), iss=final.get("iss"))

    metadata = OAuthClientMetadata(client_name="SDK client far away", token_endpoint_auth_method="none",
                                   redirect_uris=[AnyUrl("http://127.0.0.1:33418/callback")],
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"])
    auth = OAuthClientProvider(url, metadata, storage, redirect_handler, callback_handler)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("add", {"a": 2, "b": 3})
        assert final.get("iss") == url.rsplit("/", 1)[0]  # RFC 9207: the https issuer
        return text_of(result)


def test_metadata_through_the_proxy_shows_the_https_issuer(resolved: Setup) -> None:
    proxy, serve, _ = resolved
    server = httpx.get(f"{proxy.public_url}/.well-known/oauth-authorization-server", timeout=10).json()
    assert server["issuer"] == proxy.public_url
    assert server["authorization_endpoint"] == f"{proxy.public_url}/authorize"
    resource = httpx.get(f"{proxy.public_url}/.well-known/oauth-protected-resource/mcp", timeout=10).json()
    assert resource["resource"] == f"{proxy.public_url}/mcp"
    # The same server still answers local clients as before.
    assert httpx.get(f"{serve.base}/.well-known/oauth-authorization-server").json()["issuer"] == serve.base


@pytest.mark.anyio
async def test_sdk_client_signs_in_through_the_proxy(resolved: Setup) -> None:
    proxy, _, data_dir = resolved
    storage = MemoryStorage()
    assert await sdk_add(f"{proxy.public_url}/mcp", storage) == "5"
    store = Store(data_dir)
    try:
        mine = [t for t in store.list_tokens() if t.client_name == "SDK client far away"]
        assert mine and all(t.remote and t.resource == f"{proxy.public_url}/mcp" for t in mine)
    finally:
        store.close()


def test_tokens_do_not_cross_between_the_proxy_and_loopback(resolved: Setup) -> None:
    proxy, serve, _ = resolved
    remote = run_flow(proxy.public_url, "remote flow")
    assert remote.add_result == 5
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {remote.access_token}"}
    on_loopback = httpx.post(f"{serve.base}/mcp", json=INITIALIZE, headers=headers)
    assert on_loopback.status_code == 401 and "public URL" in on_loopback.json()["error_description"]
    local = sign_in(serve.base, "desk client")
    through = httpx.post(f"{proxy.public_url}/mcp", json=INITIALIZE, timeout=10,
                         headers={**MCP_HEADERS, "Authorization": f"Bearer {local.access_token}"})
    assert through.status_code == 401 and "local address" in through.json()["error_description"]


def test_public_host_straight_to_the_server_port_is_refused(resolved: Setup) -> None:
    _, serve, _ = resolved
    for headers in ({"Host": TEST_HOST}, {"Host": f"{TEST_HOST}:443"}):
        answer = httpx.get(f"{serve.base}/.well-known/oauth-authorization-server", headers=headers)
        assert answer.status_code in (403, 421) and answer.json()["error"] in ("https_required", "invalid_host")


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/mcp", "/sse"])
async def test_mcp_remote_signs_in_through_the_proxy(stack: Setup, tmp_path: Path, path: str) -> None:
    proxy, _, _ = stack
    command = mcp_remote_command()
    if command is None:
        pytest.fail("mcp-remote is not installed; run `npm ci` (the test command does)")
    browser_log = tmp_path / "browser.log"
    env = client_env(proxy, mcp_remote_env(tmp_path, browser_log))
    params = StdioServerParameters(command=command, args=[f"{proxy.public_url}{path}"], env=env)
    with open(tmp_path / "mcp-remote.stderr", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
    assert text_of(result) == "5"
    opened = browser_log.read_text().splitlines()
    assert len(opened) == 1 and opened[0].startswith(f"{proxy.public_url}/authorize?")


def test_stop_closes_the_public_url_and_revokes_remote_grants(tmp_path: Path, data_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    runner = start_runner(data_dir)
    caddy = Caddy(tmp_path / "caddy", runner.port)
    owner.remember(int(urlsplit(caddy.public_url).port or 443), data_dir)
    try:
        resolve_in_this_process(monkeypatch, caddy)
        runner.remote.start(OwnProxy(parse_public_url(caddy.public_url)), runner.base_url, "8h")
        remote = run_flow(caddy.public_url, "phone")
        local = sign_in(runner.base_url, "desk")
        assert runner.remote.stop() == 1
        answer = httpx.get(f"{caddy.public_url}/.well-known/oauth-authorization-server", timeout=10)
        assert answer.status_code == 421 and answer.json()["error"] == "remote_access_off"
        assert runner.parts is not None
        assert (check := parts_of(runner).store.check_token(remote.access_token)) is not None and check.revoked
        assert httpx.post(f"{runner.base_url}/mcp", json=INITIALIZE, headers={
            **MCP_HEADERS, "Authorization": f"Bearer {local.access_token}"}).status_code == 200
    finally:
        caddy.stop()
        runner.close()
