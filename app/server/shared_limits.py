"""Rate limits shared by every process on one PostgreSQL store (workers and replicas alike).

The same token buckets as app/server/ratelimit.py, keyed the same way (kind, key), kept in the
`rate_buckets` table instead of one process's memory: with four workers, a per-process bucket
would let a caller through four times as often. Each `take` is one atomic upsert: the row is
refilled for the time since it was last touched, one token is spent if there is one, and
`allowed` records which happened, all under the row's lock, so concurrent takes from several
processes never spend the same token twice. Time is the wall clock (workers on several hosts
share it through NTP; a clock a little behind only refills a little later).

Buckets that only throttle log lines (`LOCAL_KINDS`) stay in memory: a line more per worker costs
nothing, a database round trip per request would. Buckets untouched for 10 minutes are full again
and carry nothing: the supervisor prunes them before the workers start, and every so often a take
prunes them too.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from app.server.ratelimit import Limit, RateLimiter, RateLimits
from app.store.db import Database

log = logging.getLogger(__name__)

LOCAL_KINDS = frozenset({"refused-log", "remote-log", "activity"})
STALE_AFTER = 600.0  # seconds
PRUNE_CHANCE = 1 / 2000  # of a take also deleting stale buckets

_TAKE = """
INSERT INTO rate_buckets AS b (kind, key, tokens, at, allowed) VALUES (:kind, :key, :burst - 1, :now, TRUE)
ON CONFLICT (kind, key) DO UPDATE SET
    tokens = LEAST(:burst, b.tokens + GREATEST(0, :now - b.at) * :rate)
             - CASE WHEN LEAST(:burst, b.tokens + GREATEST(0, :now - b.at) * :rate) >= 1 THEN 1 ELSE 0 END,
    allowed = LEAST(:burst, b.tokens + GREATEST(0, :now - b.at) * :rate) >= 1,
    at = GREATEST(b.at, :now)
RETURNING tokens, allowed
"""


def prune(db: Database, now: float | None = None) -> int:
    """Forget buckets nobody touched for STALE_AFTER seconds; how many."""
    cutoff = (time.time() if now is None else now) - STALE_AFTER
    return int(db.tx(lambda conn: conn.execute("DELETE FROM rate_buckets WHERE at < ?", (cutoff,)).rowcount))


class SharedRateLimiter(RateLimiter):
    """A RateLimiter whose buckets live in PostgreSQL (log throttles excepted)."""

    def __init__(self, db: Database, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db

    def take(self, kind: str, key: str, limit: Limit) -> float:
        """Spend one request from the shared (kind, key) bucket: 0.0 if allowed, else seconds to wait."""
        if kind in LOCAL_KINDS:
            return super().take(kind, key, limit)
        now = time.time()
        args = {"kind": kind, "key": key[:200], "burst": float(limit.burst), "rate": float(limit.per_second),
                "now": now}
        row = self.db.conn.execute(_TAKE, args).fetchone()
        if random.random() < PRUNE_CHANCE:
            try:
                prune(self.db, now)
            except Exception as exc:  # pruning is housekeeping: a failure costs nothing
                log.info("could not prune rate buckets: %s", exc)
        if row is None or row["allowed"]:
            return 0.0
        tokens = float(row["tokens"])
        return (1.0 - tokens) / limit.per_second if limit.per_second > 0 else 3600.0

    def reset(self, limits: RateLimits | None = None) -> None:
        """Forget every bucket, shared ones included (tests; the GUI's "reset limits")."""
        super().reset(limits)
        self.db.tx(lambda conn: conn.execute("DELETE FROM rate_buckets"))
