"""Public URL mode against the real server: the way in, the trusted-proxy rule and token audiences.

Here the test plays the proxy (it connects from loopback and sets the headers Caddy sets); the
real Caddy and nginx in front of `mcp-tray serve` are in test_reverse_proxies.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.auth.origins import PublicUrlError, parse_proxies, parse_public_url
from app.server.runner import ServerRunner
from tests.conftest import parts_of, start_runner
from tests.remote.headers import PUBLIC, PUBLIC_HOST, mint, via_proxy
from tests.support.oauth import INITIALIZE, MCP_HEADERS, register
from tests.support.serve import app_command
from tests.support.signin import sign_in

METADATA = "/.well-known/oauth-authorization-server"


@pytest.fixture
def public_server(data_dir: Path) -> Iterator[ServerRunner]:
    """A server with remote access on for https://mcp.example.test (proxies: loopback)."""
    runner = start_runner(data_dir)
    runner.public.open(parse_public_url(PUBLIC))
    yield runner
    runner.close()


def mcp(server: ServerRunner, token: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server.base_url}/mcp", json=INITIALIZE, timeout=10,
                      headers={**MCP_HEADERS, "Authorization": f"Bearer {token}", **(headers or {})})


def test_metadata_follows_the_way_in(public_server: ServerRunner) -> None:
    public = httpx.get(public_server.base_url + METADATA, headers=via_proxy()).json()
    assert public["issuer"] == PUBLIC and public["token_endpoint"] == f"{PUBLIC}/token"
    resource = httpx.get(public_server.base_url + "/.well-known/oauth-protected-resource/mcp",
                         headers=via_proxy()).json()
    assert resource == {**resource, "resource": f"{PUBLIC}/mcp", "authorization_servers": [PUBLIC]}
    # Local clients see loopback, as before.
    assert httpx.get(public_server.base_url + METADATA).json()["issuer"] == public_server.base_url
    # The 401 challenge points at the public metadata.
    challenge = httpx.post(f"{public_server.base_url}/mcp", json=INITIALIZE,
                           headers={**MCP_HEADERS, **via_proxy()}).headers["www-authenticate"]
    assert f'resource_metadata="{PUBLIC}/.well-known/oauth-protected-resource/mcp"' in challenge


def test_rfc7239_forwarded_header_is_read_from_a_trusted_proxy(public_server: ServerRunner) -> None:
    headers = {"Forwarded": f'for="[2001:db8::7]:4711";proto=https;host="{PUBLIC_HOST}"'}
    assert httpx.get(public_server.base_url + METADATA, headers=headers).json()["issuer"] == PUBLIC


def test_public_host_without_https_proxy_is_refused(public_server: ServerRunner) -> None:
    straight = httpx.get(public_server.base_url + METADATA, headers={"Host": PUBLIC_HOST})
    assert straight.status_code == 403 and straight.json()["error"] == "https_required"
    plain = httpx.get(public_server.base_url + METADATA, headers=via_proxy(proto="http"))
    assert plain.status_code == 403 and "HTTPS only" in plain.json()["error_description"]
    events = parts_of(public_server).store.recent_events()
    assert any(e.kind == "remote refused" and "https_required" in e.detail for e in events)


def test_public_host_from_an_untrusted_peer_is_refused(data_dir: Path) -> None:
    runner = start_runner(data_dir)
    try:
        runner.public.trusted = parse_proxies(["10.9.9.9"])  # the proxy lives elsewhere; loopback is not it
        runner.public.open(parse_public_url(PUBLIC))
        refused = httpx.get(runner.base_url + METADATA, headers=via_proxy())
        assert refused.status_code == 403 and refused.json()["error"] == "untrusted_proxy"
        # Forwarded headers from an untrusted peer are ignored, not believed.
        local = httpx.get(runner.base_url + METADATA, headers={"X-Forwarded-Host": PUBLIC_HOST,
                                                               "X-Forwarded-Proto": "https"})
        assert local.status_code == 200 and local.json()["issuer"] == runner.base_url
    finally:
        runner.close()


def test_proxy_that_hides_the_public_name_is_refused(public_server: ServerRunner) -> None:
    answer = httpx.get(public_server.base_url + METADATA, headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.status_code == 421 and answer.json()["error"] == "proxied_loopback"


def test_closed_public_url_is_refused_clearly(public_server: ServerRunner) -> None:
    public_server.public.close()
    answer = httpx.get(public_server.base_url + METADATA, headers=via_proxy())
    assert answer.status_code == 421 and answer.json()["error"] == "remote_access_off"
    assert httpx.get(public_server.base_url + METADATA).status_code == 200


def test_remote_access_is_off_by_default(server: ServerRunner) -> None:
    answer = httpx.get(server.base_url + METADATA, headers=via_proxy())
    assert answer.status_code == 421 and answer.json()["error"] == "invalid_host"


def test_token_audiences_are_per_way_in(public_server: ServerRunner) -> None:
    client_id = register(public_server.base_url, "audiences")
    remote_access, remote_refresh = mint(public_server, client_id, f"{PUBLIC}/mcp", remote=True)
    assert mcp(public_server, remote_access, via_proxy()).status_code == 200
    on_loopback = mcp(public_server, remote_access)
    assert on_loopback.status_code == 401 and "public URL" in on_loopback.json()["error_description"]
    local = sign_in(public_server.base_url, "local app")
    assert mcp(public_server, local.access_token).status_code == 200
    through_proxy = mcp(public_server, local.access_token, via_proxy())
    assert through_proxy.status_code == 401 and "local address" in through_proxy.json()["error_description"]
    # A token with no resource (minted before grants were bound) works on loopback only.
    legacy, _ = mint(public_server, client_id, None)
    assert mcp(public_server, legacy).status_code == 200
    assert mcp(public_server, legacy, via_proxy()).status_code == 401
    # Refresh tokens too: a loopback one is useless at the public /token, and back.
    for refresh, headers in ((local.refresh_token, via_proxy()), (remote_refresh, {})):
        cid = local.client_id if refresh == local.refresh_token else client_id
        answer = httpx.post(f"{public_server.base_url}/token", headers=headers, data={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": cid})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_authorize_through_the_public_url_binds_the_grant(public_server: ServerRunner) -> None:
    client_id = register(public_server.base_url, "remote app")
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/callback",
             "code_challenge": "a" * 43, "code_challenge_method": "S256", "state": "s"}
    answer = httpx.get(f"{public_server.base_url}/authorize", params=query, headers=via_proxy())
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(f"{PUBLIC}/consent?wait=")
    parts = public_server.parts
    assert parts is not None

    def request_of(location: str) -> dict[str, object]:
        found = parts.store.approvals.get(parts.signer.approval_id(location.split("wait=", 1)[1]))
        assert found is not None
        return found.request

    pending = request_of(answer.headers["location"])
    assert pending["remote"] and pending["issuer"] == PUBLIC and pending["resource"] == PUBLIC
    local = httpx.get(f"{public_server.base_url}/authorize", params=query)
    pending = request_of(local.headers["location"])
    assert not pending["remote"] and pending["resource"] == public_server.base_url
    # A resource naming the public URL is refused on loopback, and the loopback one remotely.
    wrong = httpx.get(f"{public_server.base_url}/authorize", params={**query, "resource": PUBLIC + "/mcp"})
    assert "invalid_target" in wrong.headers["location"]
    wrong = httpx.get(f"{public_server.base_url}/authorize", headers=via_proxy(),
                      params={**query, "resource": public_server.base_url + "/mcp"})
    assert "invalid_target" in wrong.headers["location"]


@pytest.mark.parametrize(("text", "words"), [
    ("http://mcp.example.test", "https://"),
    ("https://mcp.example.test/mcp", "no path"),
    ("https://localhost:8443", "loopback"),
    ("https://", "no host"),
])
def test_bad_public_urls_are_explained(text: str, words: str) -> None:
    with pytest.raises(PublicUrlError, match=words):
        parse_public_url(text)


def test_public_url_ports() -> None:
    assert parse_public_url("https://MCP.example.test:443/").origin == PUBLIC
    assert parse_public_url("https://mcp.example.test:8443").origin == PUBLIC + ":8443"
    with pytest.raises(PublicUrlError, match="trusted-proxy"):
        parse_proxies(["not-an-address"])


def test_serve_refuses_a_bad_public_url_clearly(data_dir: Path) -> None:
    import subprocess

    done = subprocess.run(app_command("serve", "--data-dir", str(data_dir), "--port", "0",
                                      "--public-url", "http://mcp.example.test"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "must start with https://" in done.stderr and "Traceback" not in done.stderr


def test_a_new_list_of_trusted_proxies_counts_for_addresses_already_judged() -> None:
    from app.server.public import PublicEntry

    entry = PublicEntry()
    assert entry.trusts("127.0.0.1") and not entry.trusts("10.0.0.5")  # judged, and remembered
    entry.trusted = parse_proxies(["10.0.0.0/8"])  # the owner changed Settings while serving
    assert entry.trusts("10.0.0.5") and not entry.trusts("127.0.0.1")
    assert entry.trusts("::ffff:10.0.0.5") and not entry.trusts("not an address")
