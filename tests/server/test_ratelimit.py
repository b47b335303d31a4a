"""The token buckets behind the 429s: burst, refill, separate keys, Retry-After, scaling from the env."""

from __future__ import annotations

import time

import pytest

from app.server.ratelimit import MAX_KEYS, SCALE_ENV, Limit, RateLimiter, RateLimits, too_many


def test_burst_then_wait_then_refill() -> None:
    limiter = RateLimiter(RateLimits())
    limit = Limit(3, 20.0)
    assert [limiter.take("t", "a", limit) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("t", "a", limit)
    assert 0 < wait <= 1 / 20.0
    time.sleep(wait + 0.02)
    assert limiter.take("t", "a", limit) == 0.0


def test_keys_and_kinds_are_separate() -> None:
    limiter = RateLimiter(RateLimits())
    limit = Limit(1, 0.001)
    assert limiter.take("t", "a", limit) == 0.0
    assert limiter.take("t", "a", limit) > 0
    assert limiter.take("t", "b", limit) == 0.0
    assert limiter.take("other", "a", limit) == 0.0


def test_reset_refills_everyone_and_changes_limits() -> None:
    limiter = RateLimiter(RateLimits())
    limiter.take("t", "a", Limit(1, 0.001))
    limiter.reset(RateLimits(enabled=False))
    assert limiter.limits.enabled is False
    assert limiter.take("t", "a", Limit(1, 0.001)) == 0.0


def test_many_keys_stay_bounded() -> None:
    limiter = RateLimiter(RateLimits())
    for i in range(MAX_KEYS + 10):
        limiter.take("t", str(i), Limit(5, 1.0))
    assert len(limiter._buckets) <= MAX_KEYS


def test_429_has_retry_after_in_whole_seconds() -> None:
    response = too_many(0.2, "requests")
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert too_many(7.01, "requests").headers["retry-after"] == "8"


@pytest.mark.parametrize(
    ("raw", "enabled", "burst"),
    [("", True, 30), ("2", True, 60), ("0", False, 30), ("nonsense", True, 30), ("inf", False, 30)],
)
def test_scale_from_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, enabled: bool, burst: float
) -> None:
    monkeypatch.setenv(SCALE_ENV, raw)
    limits = RateLimits.from_env()
    assert limits.enabled is enabled and limits.register_global.burst == burst
