"""Fetching Client ID Metadata Documents safely (draft-ietf-oauth-client-id-metadata-document 5, 8.6, 8.7).

The client chooses the URL, so the fetch is an outbound request an attacker aims. The rules:
https only; the host is resolved once and every address checked (no loopback, private,
link-local, multicast or reserved address), then we connect to that checked address while TLS
verifies the certificate for the real host name (SNI), so a second DNS answer cannot swap the
target (DNS rebinding); no proxy from the environment; no redirects (a 3xx is an error); 200 only;
at most 5 KiB, reading stops past it; 5 s for the whole fetch, DNS included; a few fetches at a
time. Valid documents are cached by their Cache-Control, in a bounded cache; errors are not cached.

Tests only: `MCP_TRAY_CIMD_ALLOW_PRIVATE=1` allows loopback and private addresses and
`MCP_TRAY_CIMD_EXTRA_CA=FILE` adds a CA bundle (honoured only with the first), so a test can serve
a document from a local https server with its own CA. Both are logged as warnings when on.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
from mcp.shared.auth import OAuthClientInformationFull

from app import __version__
from app.auth.cimd import CimdError, address_problem, cache_lifetime, check_client_id_url, validate_document

log = logging.getLogger(__name__)

ALLOW_PRIVATE_ENV = "MCP_TRAY_CIMD_ALLOW_PRIVATE"
EXTRA_CA_ENV = "MCP_TRAY_CIMD_EXTRA_CA"

Resolver = Callable[[str, int], Awaitable[list[str]]]
Clock = Callable[[], float]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the order the system prefers."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of a document fetch; `allow_private` and `extra_ca` exist for tests only."""

    max_bytes: int = 5 * 1024  # the draft's recommended maximum (8.7)
    timeout: float = 5.0  # seconds for the whole fetch, DNS and waiting for a slot included
    max_cached: int = 256
    max_concurrent: int = 4
    allow_private: bool = False
    extra_ca: Path | None = None

    @classmethod
    def from_env(cls) -> FetchPolicy:
        """The defaults, or the test mode when $MCP_TRAY_CIMD_ALLOW_PRIVATE is 1 (logged loudly)."""
        allow = os.environ.get(ALLOW_PRIVATE_ENV, "").strip() == "1"
        raw_ca = os.environ.get(EXTRA_CA_ENV, "").strip()
        if raw_ca and not allow:
            log.warning("ignoring %s: it is for tests and counts only with %s=1", EXTRA_CA_ENV, ALLOW_PRIVATE_ENV)
        if not allow:
            return cls()
        log.warning(
            "TEST MODE (%s=1): client metadata documents may be fetched from loopback and private "
            "addresses%s. Never run MCP Tray like this outside a test.",
            ALLOW_PRIVATE_ENV, f", trusting the extra CA in {raw_ca}" if raw_ca else "",
        )
        return cls(allow_private=True, extra_ca=Path(raw_ca) if raw_ca else None)


@dataclass(frozen=True)
class FetchedDocument:
    """A validated document: the client it describes, and until when it may be reused."""

    client: OAuthClientInformationFull
    fetched_at: float
    expires_at: float
    fresh: bool  # fetched by this call, not taken from the cache


class DocumentFetcher:
    """Fetch, validate and cache client metadata documents under a `FetchPolicy`."""

    def __init__(self, policy: FetchPolicy | None = None, resolver: Resolver = system_resolver,
                 clock: Clock = time.time) -> None:
        self.policy = policy or FetchPolicy()
        self._resolve = resolver
        self._clock = clock
        self._cache: OrderedDict[str, FetchedDocument] = OrderedDict()
        self._slots = anyio.Semaphore(self.policy.max_concurrent)
        self._ssl: ssl.SSLContext | None = None  # made at the first fetch: loading the CAs takes ~0.1 s and ~3 MiB

    def _tls(self) -> ssl.SSLContext:
        """The TLS context of every fetch (the system's CAs, plus the test CA when allowed)."""
        if self._ssl is None:
            context = httpx2.create_ssl_context(trust_env=False)
            if self.policy.allow_private and self.policy.extra_ca is not None:
                try:
                    context.load_verify_locations(cafile=str(self.policy.extra_ca))
                except (OSError, ssl.SSLError) as exc:
                    log.error("cannot load the test CA %s: %s", self.policy.extra_ca, exc)
            self._ssl = context
        return self._ssl

    async def get(self, url: str) -> FetchedDocument:
        """The document at `url`, from the cache while it is fresh; CimdError if it cannot be used."""
        problem = check_client_id_url(url)
        if problem:
            raise CimdError("invalid_url", f"The client_id {url[:200]} {problem}.")
        now = self._clock()
        cached = self._cache.pop(url, None)
        if cached is not None and cached.expires_at > now:
            self._cache[url] = cached
            return FetchedDocument(cached.client, cached.fetched_at, cached.expires_at, fresh=False)
        try:
            with anyio.fail_after(self.policy.timeout):
                async with self._slots:
                    body, cache_control = await self._download(url)
        except TimeoutError:
            raise self._too_slow(url) from None
        client = validate_document(url, body)
        ttl = cache_lifetime(cache_control)
        document = FetchedDocument(client, now, now + ttl, fresh=True)
        if ttl > 0:
            self._cache[url] = document
            while len(self._cache) > self.policy.max_cached:
                self._cache.popitem(last=False)
        return document

    def _too_slow(self, url: str) -> CimdError:
        return CimdError("fetch_failed", f"{url} did not answer within {self.policy.timeout:g} seconds.")

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await self._resolve(host, port)
            except OSError:
                raise CimdError("fetch_failed", f"The host name {host} does not resolve.") from None
        if not addresses:
            raise CimdError("fetch_failed", f"The host name {host} does not resolve.")
        for address in addresses:
            problem = address_problem(address)
            if problem is None:
                continue
            if not self.policy.allow_private:
                shown = host if host == address else f"{host} ({address})"
                raise CimdError("refused_address", f"{shown} {problem}; MCP Tray fetches client documents "
                                "only from public internet addresses.")
            log.warning("TEST MODE: fetching a client document from %s (%s): %s", host, address, problem)
        return addresses

    async def _download(self, url: str) -> tuple[bytes, str | None]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        failure = ""
        for address in await self._addresses(host, port):
            try:
                return await self._download_from(address, url)
            except httpx2.ConnectError as exc:
                failure = _connect_failure(exc, host)
        raise CimdError("fetch_failed", f"Could not connect to {host}: {failure}.")

    async def _download_from(self, address: str, url: str) -> tuple[bytes, str | None]:
        """GET `url` from exactly `address`, with TLS checked against the URL's host name."""
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        literal = f"[{address}]" if ":" in address else address
        target = urlunsplit(("https", f"{literal}:{port}", parts.path, parts.query, ""))
        headers = {"Host": parts.netloc, "Accept": "application/json", "Accept-Encoding": "identity",
                   "User-Agent": f"MCP-Tray/{__version__} (client metadata document fetch)"}
        limit = self.policy.max_bytes
        tls = self._ssl if self._ssl is not None else await anyio.to_thread.run_sync(self._tls)  # once, off the loop
        async with httpx2.AsyncClient(verify=tls, trust_env=False, follow_redirects=False,
                                      timeout=self.policy.timeout) as http:
            try:
                async with http.stream("GET", target, headers=headers, extensions={"sni_hostname": host}) as answer:
                    if 300 <= answer.status_code < 400:
                        where = answer.headers.get("location", "")[:200]
                        raise CimdError("fetch_failed", f"{url} answered with a redirect (HTTP {answer.status_code}"
                                        f"{' to ' + where if where else ''}); a client document must be served "
                                        "at its own URL, redirects are not followed.")
                    if answer.status_code != 200:
                        raise CimdError("fetch_failed", f"{url} answered HTTP {answer.status_code}, not 200.")
                    declared = answer.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise _too_large(limit)
                    body = bytearray()
                    async for chunk in answer.aiter_bytes():
                        body += chunk
                        if len(body) > limit or answer.num_bytes_downloaded > limit:
                            raise _too_large(limit)
                    return bytes(body), answer.headers.get("cache-control")
            except httpx2.ConnectError:
                raise
            except httpx2.TimeoutException:
                raise self._too_slow(url) from None
            except httpx2.HTTPError as exc:
                raise CimdError("fetch_failed", f"Fetching {url} failed: {type(exc).__name__}.") from None


def _too_large(limit: int) -> CimdError:
    return CimdError("invalid_document", f"The document is larger than {limit // 1024} KiB.")


def _connect_failure(exc: httpx2.ConnectError, host: str) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        return f"its TLS certificate is not valid for {host}"
    return text[:200] or type(exc).__name__
