"""The public way in: whether it is open, for which `https://HOST[:PORT]`, and which proxies may use it.

Read on every request by the host guard; changed (from any thread) when remote access starts or
stops, or when a quick tunnel reports the URL it was given. Reading a field is one atomic load.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable

from app.auth.origins import LOOPBACK_PROXIES, IpNetwork, PublicOrigin

log = logging.getLogger(__name__)

Listener = Callable[["PublicOrigin | None"], None]


class PublicEntry:
    """The public origin while remote access is on (None while off) and the trusted proxy addresses."""

    def __init__(self, trusted: tuple[IpNetwork, ...] = LOOPBACK_PROXIES) -> None:
        self.trusted = trusted
        self._origin: PublicOrigin | None = None
        self._last: PublicOrigin | None = None  # remembered after closing, for a clear refusal
        self._lock = threading.Lock()
        self._listeners: dict[str, Listener] = {}

    @property
    def origin(self) -> PublicOrigin | None:
        """The open public origin, or None while remote access is off."""
        return self._origin

    @property
    def last(self) -> PublicOrigin | None:
        """The public origin that was last open (also while it is closed)."""
        return self._last

    def open(self, origin: PublicOrigin) -> None:
        """Start answering to `origin` (through a trusted proxy only)."""
        with self._lock:
            self._origin = self._last = origin
            listeners = list(self._listeners.values())
        log.info("public URL open: %s", origin.origin)
        for listener in listeners:
            listener(origin)

    def close(self) -> None:
        """Refuse the public host from now on (the next request already)."""
        with self._lock:
            was, self._origin = self._origin, None
            listeners = list(self._listeners.values())
        if was is not None:
            log.info("public URL closed: %s", was.origin)
        for listener in listeners:
            listener(None)

    def subscribe(self, key: str, listener: Listener) -> None:
        """Call `listener(origin or None)` now and on every open and close; a new one replaces `key`'s."""
        with self._lock:
            self._listeners[key] = listener
        listener(self._origin)

    @property
    def trusted(self) -> tuple[IpNetwork, ...]:
        """The proxy networks whose forwarded headers are believed."""
        return self._trusted

    @trusted.setter
    def trusted(self, networks: tuple[IpNetwork, ...]) -> None:
        self._judged: dict[str, bool] = {}  # peer address -> trusted; one atomic swap, then refilled
        self._trusted = networks

    def trusts(self, address: str) -> bool:
        """True when a TCP peer is one of the configured proxies (loopback by default)."""
        judged = self._judged
        known = judged.get(address)
        if known is None:
            if len(judged) >= 4096:  # a peer address per caller behind no proxy: keep it bounded
                judged.clear()
            known = judged[address] = self._trusts(address)
        return known

    def _trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.trusted)
