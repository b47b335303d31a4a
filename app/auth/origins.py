"""Which names mean "this server": loopback hosts, the public URL, the way in a request used.

A request reaches the server one of two ways: on loopback (local clients, as always) or through
the public URL (a reverse proxy or tunnel in front of us, when remote access is on). Each way has
its own `WayIn`: its origin is the issuer, the resource and the base of every page for requests
that came that way, and a resource indicator names us only for the way it was minted on.

The metadata follows the loopback name the client used (`localhost` or `127.0.0.1`), because
clients such as mcp-remote compare the advertised resource with the URL they were given.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MCP_PATHS = ("/mcp", "/sse")

# The origin of the request being handled (e.g. "http://localhost:8787"), set by the host guard.
current_origin: ContextVar[str] = ContextVar("current_origin")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK_PROXIES: tuple[IpNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"),
)


class PublicUrlError(ValueError):
    """A public URL or trusted-proxy address that cannot be used; the message says why."""


def split_host(host_header: str) -> tuple[str, int | None] | None:
    """`localhost:8787` -> ("localhost", 8787); `[::1]:80` -> ("::1", 80); None if malformed."""
    host_header = host_header.strip().lower()
    if not host_header:
        return None
    if host_header.startswith("["):
        end = host_header.find("]")
        if end < 0:
            return None
        name, rest = host_header[1:end], host_header[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = host_header.partition(":")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        return name, int(port_text)
    return name, None


def origin_for(name: str, port: int) -> str:
    """The http origin for a host name and port, with IPv6 in brackets."""
    shown = f"[{name}]" if ":" in name else name
    return f"http://{shown}:{port}"


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is a loopback name."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_HOSTS
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerIdentity:
    """The names this server answers to: loopback hosts (plus a configured host) on one port."""

    port: int
    extra_hosts: frozenset[str] = frozenset()

    def accepts_host(self, name: str, port: int | None) -> bool:
        """True when a Host header names us (DNS rebinding protection)."""
        return (name in LOOPBACK_HOSTS or name in self.extra_hosts) and port in (None, self.port)

    def names_us(self, resource: str | None) -> bool:
        """True when an RFC 8707 resource indicator names this server, any loopback spelling.

        `http://localhost:8787`, `http://127.0.0.1:8787/`, `.../mcp` and `.../sse` all name us.
        """
        return _names_loopback(self, resource)  # every request asks, nearly always about the same one

    def _names_us(self, resource: str | None) -> bool:
        if not resource:
            return False
        try:
            parts = urlsplit(resource)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme != "http" or parts.query or parts.fragment:
            return False
        if not (host in LOOPBACK_HOSTS or host in self.extra_hosts) or port != self.port:
            return False
        return parts.path.rstrip("/") in ("", *MCP_PATHS)


@functools.lru_cache(maxsize=256)
def _names_loopback(identity: ServerIdentity, resource: str | None) -> bool:
    return identity._names_us(resource)


def parse_public_url(text: str) -> PublicOrigin:
    """`https://HOST[:PORT]` as a PublicOrigin, or PublicUrlError saying what is wrong."""
    text = text.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise PublicUrlError(f"{text!r} is not a valid URL ({exc})") from exc
    if parts.scheme != "https":
        raise PublicUrlError(f"the public URL must start with https:// (got {text!r}); "
                             "the public side is HTTPS only")
    host = (parts.hostname or "").lower()
    if not host:
        raise PublicUrlError(f"the public URL {text!r} has no host name")
    if host in LOOPBACK_HOSTS:
        raise PublicUrlError("the public URL must not be a loopback name; local clients already use loopback")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path.strip("/"):
        raise PublicUrlError(f"the public URL must be just https://HOST[:PORT], with no path (got {text!r})")
    return PublicOrigin(host, None if port == 443 else port)


def parse_proxies(addresses: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Trusted proxy addresses (`127.0.0.1`, `10.0.0.0/8`, `::1`); loopback when none is given."""
    networks: list[IpNetwork] = []
    for raw in addresses:
        text = raw.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise PublicUrlError(f"{text!r} is not an IP address or network for --trusted-proxy") from exc
    return tuple(networks) or LOOPBACK_PROXIES


@dataclass(frozen=True)
class PublicOrigin:
    """The public `https://HOST[:PORT]` a reverse proxy or tunnel serves us on."""

    host: str
    port: int | None = None  # None: the default 443

    @property
    def origin(self) -> str:
        """`https://host` or `https://host:port`, no trailing slash."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{shown}" + (f":{self.port}" if self.port is not None else "")

    @property
    def host_header(self) -> str:
        """The Host header a client sends for this origin."""
        return self.origin.removeprefix("https://")

    def accepts_host(self, name: str, port: int | None) -> bool:
        """True when a Host (or forwarded host) names the public origin."""
        return name == self.host and (port or 443) == (self.port or 443)

    def names_us(self, resource: str | None) -> bool:
        """True when an RFC 8707 resource indicator names the public origin (`/`, `/mcp`, `/sse`)."""
        if not resource:
            return False
        try:
            parts = urlsplit(resource)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme != "https" or parts.query or parts.fragment:
            return False
        if not self.accepts_host((parts.hostname or "").lower(), port):
            return False
        return parts.path.rstrip("/") in ("", *MCP_PATHS)


@dataclass(frozen=True)
class WayIn:
    """How the request being handled reached us: its origin, and whether it came through the public URL."""

    origin: str
    remote: bool
    identity: ServerIdentity
    public: PublicOrigin | None = None  # the open public origin (on the loopback way too, for messages)
    client_address: str = ""  # the caller's address (for a remote request, what the proxy saw)

    def names_us(self, resource: str | None) -> bool:
        """A resource indicator for this way in (a loopback token is refused remotely, and back)."""
        if self.remote:
            return self.public is not None and self.public.names_us(resource)
        return self.identity.names_us(resource)

    def accepts_origin(self, name: str, scheme: str, port: int | None) -> bool:
        """An Origin header a page of ours (or a loopback page, say the Inspector) would send."""
        if self.public is not None and self.remote and scheme == "https" and self.public.accepts_host(name, port):
            return True
        return scheme in ("http", "https") and (name in LOOPBACK_HOSTS or name in self.identity.extra_hosts)

    def own_origin(self, name: str, scheme: str, port: int | None) -> bool:
        """An Origin header that is this way's own pages (the consent form posts from there)."""
        if self.remote:
            return self.public is not None and scheme == "https" and self.public.accepts_host(name, port)
        return scheme == "http" and self.identity.accepts_host(name, port)

    @property
    def relying_party(self) -> tuple[str, str] | None:
        """WebAuthn's (rp_id, expected origin) for a passkey step on this way in; None on loopback.

        The hook for approving on the page with a passkey: a passkey is bound to the RP ID of the
        page it was made on, so one used on the public page must be registered for the public host.
        """
        if not self.remote or self.public is None:
            return None
        return self.public.host, self.public.origin

    @property
    def secure_cookies(self) -> bool:
        """Cookies set on this way must be `Secure` and `__Host-` (the public side is HTTPS)."""
        return self.remote


current_way: ContextVar[WayIn] = ContextVar("current_way")


def way_for(identity: ServerIdentity) -> WayIn:
    """The way in of the request being handled; loopback when no guard set one (unit tests)."""
    way = current_way.get(None)
    if way is not None:
        return way
    return WayIn(current_origin.get(origin_for("127.0.0.1", identity.port)), False, identity)
