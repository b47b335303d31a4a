"""What a proxy says about the request it passed on: RFC 7239 `Forwarded`, else `X-Forwarded-*`.

Only read when the TCP peer is a trusted proxy. With several hops the entry the nearest proxy
added (the last one) is used: anything before it was written by whoever called that proxy.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers


@dataclass(frozen=True)
class Forwarded:
    """The host, scheme and caller address a proxy reported (each may be missing)."""

    host: str | None = None
    proto: str | None = None
    client: str | None = None

    @property
    def present(self) -> bool:
        """True when the request says it came through a proxy."""
        return any((self.host, self.proto, self.client))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"')
    return value


def _last(value: str | None) -> str | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items[-1] if items else None


def _node(value: str | None) -> str | None:
    """An address from `for=` / X-Forwarded-For: `[2001:db8::1]:4711` -> `2001:db8::1`."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else None
    if value.count(":") == 1:  # IPv4 with a port
        return value.split(":", 1)[0]
    return value


def parse_forwarded(headers: Headers) -> Forwarded:
    """The proxy's report on this request, RFC 7239 first."""
    standard = _last(headers.get("forwarded"))
    if standard:
        pairs: dict[str, str] = {}
        for item in standard.split(";"):
            key, sep, value = item.partition("=")
            if sep:
                pairs[key.strip().lower()] = _unquote(value)
        return Forwarded(pairs.get("host"), (pairs.get("proto") or "").lower() or None, _node(pairs.get("for")))
    proto = _last(headers.get("x-forwarded-proto"))
    return Forwarded(
        _last(headers.get("x-forwarded-host")),
        proto.lower() if proto else None,
        _node(_last(headers.get("x-forwarded-for"))),
    )
