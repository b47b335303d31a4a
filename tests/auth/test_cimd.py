"""Client ID Metadata Documents: URL rules, refused addresses, document checks, and real https fetches."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from app.auth.cimd import (
    DEFAULT_TTL,
    MAX_TTL,
    MIN_TTL,
    CimdError,
    address_problem,
    cache_lifetime,
    check_client_id_url,
    looks_like_document_url,
    validate_document,
)
from app.auth.cimd_fetch import ALLOW_PRIVATE_ENV, EXTRA_CA_ENV, DocumentFetcher, FetchedDocument, FetchPolicy
from tests.support.cimd_server import DocumentServer, Route, TestCA, document_for

URL = "https://app.example.com/oauth/client.json"

# -- the client identifier URL (draft section 3) -----------------------------------------------------


@pytest.mark.parametrize("url", [URL, "https://example.com:8443/c.json", "https://example.com/c?v=1",
                                 "https://[2001:4860:4860::8888]/client"])
def test_valid_client_id_urls(url: str) -> None:
    assert check_client_id_url(url) is None


@pytest.mark.parametrize(("url", "why"), [
    ("http://app.example.com/client.json", "must use https"),
    ("ftp://app.example.com/client.json", "must use https"),
    ("https://app.example.com", "must have a path"),
    ("https://app.example.com/", "must have a path"),
    ("https://app.example.com/client.json#x", "fragment"),
    ("https://app.example.com/client.json#", "fragment"),
    ("https://user:pw@app.example.com/client.json", "user name or password"),
    ("https://user@app.example.com/client.json", "user name or password"),
    ("https://app.example.com/a/../client.json", ". or .."),
    ("https://app.example.com/./client.json", ". or .."),
    ("https://app.example.com/%2e%2E/client.json", ". or .."),
    ("https://app.example.com:0/client.json", "port 0"),
    ("https://app.example.com:99999/client.json", "not a valid URL"),
    ("https:///client.json", "no host"),
    (" https://app.example.com/client.json", "spaces"),
    ("https://app.example.com/client json", "spaces"),
    ("https://app.example.com/" + "a" * 2100, "longer than"),
])
def test_invalid_client_id_urls(url: str, why: str) -> None:
    problem = check_client_id_url(url)
    assert problem is not None and why in problem


def test_only_urls_are_treated_as_documents() -> None:
    assert looks_like_document_url(URL) and looks_like_document_url("HTTPS://x.example/c")
    assert looks_like_document_url("http://x.example/c")  # so it gets "must use https", not "unknown"
    assert not looks_like_document_url("0f3c9a2e-5b1d-4c7e-9a8b-1234567890ab")  # an id we issued


# -- addresses we never fetch from (draft 8.6, SSRF) ---------------------------------------------------


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("192.168.1.1", "private"),
    ("100.64.0.1", "private"),  # carrier-grade NAT
    ("169.254.169.254", "link-local"),  # cloud metadata endpoints live here
    ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("fc00::1", "private"), ("fd12:3456:789a::1", "private"),  # IPv6 unique local (ULA)
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("192.0.2.10", "private"), ("2001:db8::1", "private"),  # documentation ranges
    ("::ffff:127.0.0.1", "IPv4 address 127.0.0.1"), ("::ffff:10.0.0.1", "IPv4 address 10.0.0.1"),
    ("::ffff:169.254.169.254", "IPv4 address 169.254.169.254"),
    ("2002:7f00:1::", "IPv4 address 127.0.0.1"),  # 6to4 of loopback
    ("64:ff9b::a00:1", "IPv4 address 10.0.0.1"),  # NAT64 of a private address
    ("not-an-ip", "not an IP address"),
])
def test_refused_addresses(address: str, why: str) -> None:
    problem = address_problem(address)
    assert problem is not None and why in problem, problem


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_allowed(address: str) -> None:
    assert address_problem(address) is None


# -- caching by HTTP headers (draft 5.2, RFC 9111) -----------------------------------------------------


@pytest.mark.parametrize(("header", "ttl"), [
    (None, DEFAULT_TTL), ("", DEFAULT_TTL), ("public", DEFAULT_TTL),
    ("max-age=600", 600.0), ("public, max-age=3600", 3600.0), ('max-age="120"', 120.0),
    ("max-age=5", MIN_TTL), ("max-age=0", MIN_TTL), ("max-age=99999999", MAX_TTL),
    ("no-store", 0.0), ("max-age=600, no-store", 0.0), ("no-cache", 0.0), ("max-age=soon", 0.0),
])
def test_cache_lifetime(header: str | None, ttl: float) -> None:
    assert cache_lifetime(header) == ttl


# -- the document (draft section 4) ----------------------------------------------------------------


def _doc(**changes: object) -> bytes:
    doc = {k: v for k, v in {**document_for(URL), **changes}.items() if v is not None}
    return json.dumps(doc).encode()


def test_valid_document_gives_a_public_client() -> None:
    client = validate_document(URL, _doc(scope="mcp offline_access some:other:server", logo_uri="https://x/l.png"))
    assert client.client_id == URL and client.client_name == "CIMD Test Client"
    assert [str(u) for u in client.redirect_uris or []] == ["http://127.0.0.1:33418/callback"]
    assert client.token_endpoint_auth_method == "none" and client.client_secret is None
    assert client.scope == "mcp offline_access"  # a scope for another server is dropped, not refused
    assert str(client.logo_uri) == "https://x/l.png"


def test_missing_name_falls_back_to_the_host() -> None:
    assert validate_document(URL, _doc(client_name=None)).client_name == "app.example.com"
    assert validate_document(URL, _doc(client_name="   ")).client_name == "app.example.com"
    assert validate_document(URL, _doc(client_name="x" * 500)).client_name == "x" * 100


@pytest.mark.parametrize(("body", "why"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"[" * 5000 + b"]" * 5000, "not valid JSON"),  # deep nesting is refused, not a crash
    (_doc(client_id="https://app.example.com/other.json"), "must be exactly"),
    (_doc(client_id=URL + "/"), "must be exactly"),
    (_doc(client_id=URL.upper()), "must be exactly"),  # simple string comparison (RFC 3986 6.2.1)
    (_doc(client_id=None), "has no client_id"),
    (_doc(client_secret="s3cret"), "client_secret"),
    (_doc(client_secret_expires_at=0), "client_secret_expires_at"),
    (_doc(token_endpoint_auth_method="client_secret_basic"), "needs a shared secret"),
    (_doc(token_endpoint_auth_method="client_secret_post"), "needs a shared secret"),
    (_doc(token_endpoint_auth_method="client_secret_jwt"), "needs a shared secret"),
    (_doc(token_endpoint_auth_method="private_key_jwt"), "not supported"),
    (_doc(redirect_uris=None), "no redirect_uris"),
    (_doc(redirect_uris=[]), "no redirect_uris"),
    (_doc(redirect_uris="http://127.0.0.1/cb"), "list of strings"),
    (_doc(redirect_uris=["http://evil.example/cb"]), "not loopback"),
    (_doc(redirect_uris=["javascript:alert(1)"]), "not allowed"),
    (_doc(redirect_uris=["https://ok.example/cb#frag"]), "fragment"),
    (_doc(grant_types=["implicit"]), "grant_types"),
    (_doc(grant_types=["refresh_token"]), "grant_types"),
    (_doc(response_types=["token"]), "response_types"),
    (_doc(client_name=7), "client_name must be a string"),
    (_doc(scope=["mcp"]), "scope must be a string"),
])
def test_invalid_documents_say_why(body: bytes, why: str) -> None:
    with pytest.raises(CimdError) as caught:
        validate_document(URL, body)
    assert caught.value.code == "invalid_document" and why in caught.value.message, caught.value.message


# -- fetching over real https ----------------------------------------------------------------------


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def docs(ca: TestCA) -> Iterator[DocumentServer]:
    with DocumentServer(*ca.issue("localhost", "cimd.test", "127.0.0.1")) as server:
        yield server


def _fetcher(ca: TestCA, clock: FakeClock | None = None, **policy: object) -> DocumentFetcher:
    base = FetchPolicy(allow_private=True, extra_ca=ca.pem)
    return DocumentFetcher(FetchPolicy(**{**base.__dict__, **policy}), clock=clock or FakeClock())


def _get(fetcher: DocumentFetcher, url: str) -> FetchedDocument:
    async def run() -> FetchedDocument:
        return await fetcher.get(url)
    return anyio.run(run)


def _refused(fetcher: DocumentFetcher, url: str) -> CimdError:
    with pytest.raises(CimdError) as caught:
        _get(fetcher, url)
    return caught.value


def test_fetches_a_valid_document_over_https(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route.document(document_for(url, name="Real Client"))
    got = _get(_fetcher(ca), url)
    assert got.client.client_name == "Real Client" and got.fresh
    assert docs.hosts == [f"localhost:{docs.port}"] and docs.sni == ["localhost"]


def test_loopback_refused_without_the_test_flag(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route.document(document_for(url))
    for target in (url, docs.url("/client.json", host="127.0.0.1")):
        error = _refused(_fetcher(ca, allow_private=False), target)
        assert error.code == "refused_address" and "loopback" in error.message
    assert docs.requests["/client.json"] == 0  # nothing was sent


def test_connects_to_the_checked_address_and_verifies_the_real_name(ca: TestCA, docs: DocumentServer) -> None:
    """DNS is asked once; the connection goes to that answer; TLS checks the URL's own host name."""
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    url = docs.url("/client.json", host="cimd.test")
    docs.routes["/client.json"] = Route.document(document_for(url))
    policy = FetchPolicy(allow_private=True, extra_ca=ca.pem)
    got = _get(DocumentFetcher(policy, resolver=resolver), url)
    assert got.client.client_id == url
    assert asked == ["cimd.test"] and docs.sni == ["cimd.test"] and docs.hosts == [f"cimd.test:{docs.port}"]
    # The same address under a name the certificate does not carry is refused by TLS.
    other = docs.url("/client.json", host="other.test")
    error = _refused(DocumentFetcher(policy, resolver=resolver), other)
    assert error.code == "fetch_failed" and "certificate is not valid for other.test" in error.message


def test_any_refused_address_in_the_answer_refuses_the_host(ca: TestCA, docs: DocumentServer) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["8.8.8.8", "10.0.0.7"]

    error = _refused(DocumentFetcher(FetchPolicy(), resolver=mixed), "https://mixed.example/client.json")
    assert error.code == "refused_address" and "mixed.example (10.0.0.7)" in error.message


def test_unresolvable_host(ca: TestCA) -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    error = _refused(DocumentFetcher(FetchPolicy(), resolver=nothing), "https://nowhere.example/client.json")
    assert "does not resolve" in error.message


def test_untrusted_certificate_refused(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route.document(document_for(url))
    error = _refused(_fetcher(ca, extra_ca=None), url)  # the test CA is not trusted
    assert "certificate is not valid" in error.message


def test_redirects_are_not_followed(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route(status=302, headers={"Location": docs.url("/real.json")})
    docs.routes["/real.json"] = Route.document(document_for(url))
    error = _refused(_fetcher(ca), url)
    assert "redirect (HTTP 302 to" in error.message and "not followed" in error.message
    assert docs.requests["/real.json"] == 0


@pytest.mark.parametrize("status", [201, 204, 304, 404, 500])
def test_only_200_is_a_document(ca: TestCA, docs: DocumentServer, status: int) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route(status=status, body=json.dumps(document_for(url)).encode()
                                        if status not in (204, 304) else b"")
    error = _refused(_fetcher(ca), url)
    assert f"HTTP {status}" in error.message


@pytest.mark.parametrize("declared", [True, False])
def test_oversize_document_refused(ca: TestCA, docs: DocumentServer, declared: bool) -> None:
    url = docs.url("/client.json")
    doc = document_for(url, padding="x" * 6000)
    docs.routes["/client.json"] = Route(body=json.dumps(doc).encode(), content_length=declared)
    error = _refused(_fetcher(ca), url)
    assert error.message == "The document is larger than 5 KiB."


def test_a_document_under_the_limit_is_fine(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route(body=json.dumps(document_for(url, padding="x" * 4500)).encode(),
                                        content_length=False)
    assert _get(_fetcher(ca), url).client.client_id == url


def test_slow_server_times_out(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route(body=json.dumps(document_for(url)).encode(), dribble=0.05)
    error = _refused(_fetcher(ca, timeout=1.0), url)  # ~200 bytes at 20 a second: about 10 s
    assert error.message == f"{url} did not answer within 1 seconds."


def test_slow_dns_counts_against_the_time_limit() -> None:
    async def slow(host: str, port: int) -> list[str]:
        await anyio.sleep(30)
        return ["8.8.8.8"]

    error = _refused(DocumentFetcher(FetchPolicy(timeout=0.5), resolver=slow), "https://slow.example/client.json")
    assert "did not answer within 0.5 seconds" in error.message


def test_fetches_wait_for_a_free_slot(ca: TestCA, docs: DocumentServer) -> None:
    """With the only slot held by a slow server, another fetch waits for it instead of connecting."""
    slow, fast = docs.url("/slow.json"), docs.url("/fast.json")
    docs.routes["/slow.json"] = Route(body=json.dumps(document_for(slow)).encode(), dribble=0.05)
    docs.routes["/fast.json"] = Route.document(document_for(fast))
    fetcher = _fetcher(ca, timeout=1.5, max_concurrent=1)
    outcome: dict[str, str] = {}
    fast_requests_while_slot_held: list[int] = []

    async def fetch(url: str) -> None:
        try:
            await fetcher.get(url)
            outcome[url] = "ok"
        except CimdError as exc:
            outcome[url] = exc.message

    async def both() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch, slow)
            await anyio.sleep(0.8)  # the slow fetch holds the only slot by now, until its 1.5 s run out
            tg.start_soon(fetch, fast)
            # Timers of one loop fire in order: this runs before the slow fetch gives up its slot.
            await anyio.sleep(0.5)
            fast_requests_while_slot_held.append(docs.requests["/fast.json"])

    anyio.run(both)
    assert fast_requests_while_slot_held == [0]
    assert "did not answer within 1.5 seconds" in outcome[slow] and outcome[fast] == "ok"


def test_cache_follows_max_age(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    docs.routes["/client.json"] = Route.document(document_for(url, name="One"), cache_control="max-age=120")
    clock = FakeClock()
    fetcher = _fetcher(ca, clock)
    assert _get(fetcher, url).fresh
    docs.routes["/client.json"] = Route.document(document_for(url, name="Two"), cache_control="max-age=120")
    clock.now += 119
    again = _get(fetcher, url)
    assert not again.fresh and again.client.client_name == "One"
    assert docs.requests["/client.json"] == 1
    clock.now += 2  # expired: fetched again, and the new content is seen
    later = _get(fetcher, url)
    assert later.fresh and later.client.client_name == "Two"
    assert docs.requests["/client.json"] == 2


def test_cache_floor_and_no_store(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    clock = FakeClock()
    fetcher = _fetcher(ca, clock)
    docs.routes["/client.json"] = Route.document(document_for(url), cache_control="max-age=1")
    _get(fetcher, url)
    clock.now += 30  # max-age=1 is raised to the 60 s floor
    _get(fetcher, url)
    assert docs.requests["/client.json"] == 1
    clock.now += 31
    docs.routes["/client.json"] = Route.document(document_for(url), cache_control="no-store")
    _get(fetcher, url)
    _get(fetcher, url)  # no-store: never reused
    assert docs.requests["/client.json"] == 3


def test_errors_and_invalid_documents_are_not_cached(ca: TestCA, docs: DocumentServer) -> None:
    url = docs.url("/client.json")
    fetcher = _fetcher(ca)
    docs.routes["/client.json"] = Route(status=503, headers={"Cache-Control": "max-age=3600"})
    _refused(fetcher, url)
    docs.routes["/client.json"] = Route.document(document_for("https://someone.else/c.json"), "max-age=3600")
    _refused(fetcher, url)
    docs.routes["/client.json"] = Route.document(document_for(url), "max-age=3600")
    assert _get(fetcher, url).fresh
    assert docs.requests["/client.json"] == 3


def test_cache_is_bounded(ca: TestCA, docs: DocumentServer) -> None:
    fetcher = _fetcher(ca, max_cached=2)
    urls = [docs.url(f"/c{i}.json") for i in range(3)]
    for url in urls:
        docs.routes[url.rsplit(str(docs.port), 1)[1]] = Route.document(document_for(url), "max-age=3600")
        _get(fetcher, url)
    _get(fetcher, urls[2])
    _get(fetcher, urls[1])
    _get(fetcher, urls[0])  # the oldest was dropped to keep two
    assert [docs.requests[f"/c{i}.json"] for i in range(3)] == [2, 1, 1]


def test_invalid_url_is_never_fetched(ca: TestCA, docs: DocumentServer) -> None:
    error = _refused(_fetcher(ca), f"http://localhost:{docs.port}/client.json")
    assert error.code == "invalid_url" and "must use https" in error.message
    assert sum(docs.requests.values()) == 0


# -- the test-only switches -------------------------------------------------------------------------


def test_policy_from_env_is_strict_by_default(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                              tmp_path: Path) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    monkeypatch.setenv(EXTRA_CA_ENV, str(tmp_path / "ca.pem"))
    with caplog.at_level(logging.WARNING):
        policy = FetchPolicy.from_env()
    assert policy == FetchPolicy()  # a CA alone changes nothing
    assert "counts only with" in caplog.text


def test_policy_test_mode_is_loud(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                  tmp_path: Path) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    monkeypatch.setenv(EXTRA_CA_ENV, str(tmp_path / "ca.pem"))
    with caplog.at_level(logging.WARNING):
        policy = FetchPolicy.from_env()
    assert policy.allow_private and policy.extra_ca == tmp_path / "ca.pem"
    assert "TEST MODE" in caplog.text and "Never run MCP Tray like this" in caplog.text
