"""Which names mean "this server": loopback hosts, the origin a request used, resource indicators.

The metadata follows the loopback name the client used (`localhost` or `127.0.0.1`), because
clients such as mcp-remote compare the advertised resource with the URL they were given.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MCP_PATHS = ("/mcp", "/sse")

# The origin of the request being handled (e.g. "http://localhost:8787"), set by the host guard.
current_origin: ContextVar[str] = ContextVar("current_origin")


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
