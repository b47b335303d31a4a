"""Rate limits for /register and /token, and for everything through the public URL: token buckets, 429.

Remote requests (through the public URL) also meet a bucket per caller address (the guard) and per
remote client on the MCP endpoints (the bearer guard).

/register has one budget for everyone: any local process can send from any of the 16 million
127.x.y.z addresses, so a budget per address limited nothing. /token is limited per address and
per client. The limits are far above what any real client needs (one registration per install,
one refresh an hour), so only a runaway or hostile caller meets them. `MCP_TRAY_RATE_LIMIT_SCALE` multiplies
every bucket (tests use a small value to meet the limit quickly; 0 turns limiting off).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields

from starlette.requests import Request
from starlette.responses import Response

from app.auth.errors import oauth_error

SCALE_ENV = "MCP_TRAY_RATE_LIMIT_SCALE"
MAX_KEYS = 4096  # buckets kept at once; full ones are forgotten first


@dataclass(frozen=True)
class Limit:
    """`burst` requests at once, refilled at `per_second`."""

    burst: float
    per_second: float

    def scaled(self, factor: float) -> Limit:
        """This limit times `factor` (both the burst and the rate)."""
        return Limit(max(1.0, self.burst * factor), self.per_second * factor)


@dataclass(frozen=True)
class RateLimits:
    """The limits of the rate-limited endpoints; `enabled=False` turns them all off."""

    register_global: Limit = Limit(30, 0.1)  # 30 at once, then one every 10 s, for all callers together
    token_per_address: Limit = Limit(600, 10.0)
    token_per_client: Limit = Limit(200, 2.0)
    authorize_activity: Limit = Limit(20, 1 / 30)  # activity rows per kind of /authorize refusal
    # Sign-in requests per client: each one costs a look at the listening sockets and a store write,
    # and a person starts one sign-in at a time; 10 at once, then one every 5 s.
    authorize_per_client: Limit = Limit(10, 0.2)
    # Through the public URL: every request per caller address, MCP requests per remote client.
    # A busy agent makes a few MCP requests per tool call; these only stop a runaway or a flood.
    remote_per_address: Limit = Limit(600, 20.0)
    remote_per_client: Limit = Limit(600, 10.0)
    # The passkey endpoints, per caller address: a few ceremonies a minute is plenty for one person.
    passkey_per_address: Limit = Limit(60, 0.5)
    enabled: bool = True

    @classmethod
    def from_env(cls) -> RateLimits:
        """The defaults, scaled by $MCP_TRAY_RATE_LIMIT_SCALE when it is set."""
        raw = os.environ.get(SCALE_ENV, "").strip()
        try:
            factor = float(raw) if raw else 1.0
        except ValueError:
            factor = 1.0
        if not math.isfinite(factor) or factor <= 0:
            return cls(enabled=not raw)
        base = cls()
        return cls(**{f.name: getattr(base, f.name).scaled(factor) for f in fields(cls) if f.type == "Limit"})


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """Token buckets by key, thread-safe; `take` spends one token or says how long to wait."""

    limits: RateLimits = field(default_factory=RateLimits.from_env)
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, kind: str, key: str, limit: Limit) -> float:
        """Spend one request from the (kind, key) bucket: 0.0 if allowed, else seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get((kind, key))
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[(kind, key)] = _Bucket(limit.burst, now)
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.at) * limit.per_second)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / limit.per_second if limit.per_second > 0 else 3600.0

    def reset(self, limits: RateLimits | None = None) -> None:
        """Forget every bucket (and optionally change the limits): everyone starts full again."""
        with self._lock:
            self._buckets.clear()
            if limits is not None:
                self.limits = limits

    def _forget_full(self, now: float) -> None:
        # Only called under the lock. A bucket that has refilled carries no information.
        stale = [k for k, b in self._buckets.items() if now - b.at > 600]
        for key in stale or list(self._buckets)[: MAX_KEYS // 4]:
            del self._buckets[key]


def too_many(wait: float, what: str) -> Response:
    """429 with Retry-After (whole seconds, at least 1) and an OAuth-style error body."""
    seconds = max(1, math.ceil(wait))
    return oauth_error("too_many_requests", f"Too many {what}; try again in {seconds} s", 429,
                       {"Retry-After": str(seconds)})


Handler = Callable[[Request], Awaitable[Response]]


def limit_register(limiter: RateLimiter, handler: Handler) -> Handler:
    """POST /register, limited by one budget shared by every caller."""

    async def limited(request: Request) -> Response:
        if limiter.limits.enabled:
            wait = limiter.take("register", "everyone", limiter.limits.register_global)
            if wait:
                return too_many(wait, "registrations")
        return await handler(request)

    return limited


def limit_token(limiter: RateLimiter, handler: Handler) -> Handler:
    """POST /token (and /revoke), limited per address and per client_id."""

    async def limited(request: Request) -> Response:
        if limiter.limits.enabled:
            address = request.client.host if request.client else "?"
            wait = limiter.take("token-address", address, limiter.limits.token_per_address)
            if wait:
                return too_many(wait, "token requests from this address")
            # Starlette caches the parsed form on the request, so the handler reads it again for free.
            client_id = (await request.form()).get("client_id")
            if isinstance(client_id, str) and client_id:
                wait = limiter.take("token-client", client_id[:200], limiter.limits.token_per_client)
                if wait:
                    return too_many(wait, "token requests for this client")
        return await handler(request)

    return limited
