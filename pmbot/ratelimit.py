"""Client-side rate budget: one token bucket per endpoint family, below the venue's own limits.

Polymarket meters trading per signer with token buckets (protocol reference 1.10): an *orders*
bucket (``POST /order`` costs 1, ``POST /orders`` costs the number of orders) and a *cancels* bucket
(``DELETE /orders`` costs the number of ids, ``cancel-all`` 1 + the number cancelled). Reads are
limited by Cloudflare windows (``GET /data/orders`` 500 per 10 s, general CLOB 9,000 per 10 s).
Staying under a configurable fraction of those limits means the venue's 429 is the exception.

Priority: the venue lets Standard..Gold tiers run a *negative* cancel balance, i.e. cancels are
never blocked outright. The cancels family here may likewise go into debt (down to minus one burst)
so a cancel is never held back by the budget while a create waits for tokens. The executor also
drains queued cancels before creates.

``Poly-RateLimit-Remaining`` / ``Poly-RateLimit-Reset`` headers, when the venue sends them, clamp
the local bucket: the venue's count wins when it is lower, and ``Remaining: 0`` holds the bucket
empty until ``Reset`` (unix seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

ORDERS = "orders"
CANCELS = "cancels"
READS = "reads"
FAMILIES = (ORDERS, CANCELS, READS)


@dataclass(frozen=True, slots=True)
class BucketLimit:
    """A venue limit: sustained ``rate_per_sec`` and ``burst`` tokens."""

    rate_per_sec: float
    burst: float


# Standard tier (reference 1.10): orders 40/s burst 60, cancels 80/s burst 120; reads sized from the
# 500-per-10-s ``/data/orders`` window, the tightest read the executor makes.
VENUE_LIMITS: dict[str, BucketLimit] = {
    ORDERS: BucketLimit(40.0, 60.0),
    CANCELS: BucketLimit(80.0, 120.0),
    READS: BucketLimit(50.0, 100.0),
}

DEBT_FAMILIES = frozenset({CANCELS})


class _Bucket:
    __slots__ = ("rate", "capacity", "tokens", "updated", "held_until")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now
        self.held_until = 0.0

    def refill(self, now: float) -> None:
        if now > self.updated:
            start = max(self.updated, self.held_until)
            if now > start:
                self.tokens = min(self.capacity, self.tokens + (now - start) * self.rate)
            self.updated = now


class RateBudget:
    """Token buckets per family, refilled from an injected monotonic clock. Thread-safe."""

    def __init__(
        self,
        limits: Mapping[str, BucketLimit] | None = None,
        *,
        fraction: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0.0 < fraction <= 1.0:
            raise ValueError("fraction must be in (0, 1]")
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        now = clock()
        merged = dict(VENUE_LIMITS)
        merged.update(limits or {})
        self._buckets = {
            family: _Bucket(limit.rate_per_sec * fraction, max(1.0, limit.burst * fraction), now)
            for family, limit in merged.items()
        }

    def _bucket(self, family: str) -> _Bucket:
        try:
            return self._buckets[family]
        except KeyError:
            raise ValueError(f"unknown rate family {family!r}") from None

    def _floor(self, family: str, bucket: _Bucket) -> float:
        """Lowest balance a grant may leave: zero, or minus one burst for families allowed into
        debt."""
        return -bucket.capacity if family in DEBT_FAMILIES else 0.0

    def delay(self, family: str, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens can be granted (0.0 = now). Does not take anything."""
        with self._lock:
            bucket = self._bucket(family)
            now = self._clock()
            bucket.refill(now)
            return self._delay_locked(family, bucket, cost, now)

    def _delay_locked(self, family: str, bucket: _Bucket, cost: float, now: float) -> float:
        need = min(
            cost, bucket.capacity
        )  # a batch bigger than the burst goes once the bucket is full
        floor = self._floor(family, bucket)
        if family in DEBT_FAMILIES:
            short = floor - (bucket.tokens - cost)
        else:
            short = need - bucket.tokens
        if short <= 0 and now >= bucket.held_until:
            return 0.0
        wait = max(short, 0.0) / bucket.rate if bucket.rate > 0 else float("inf")
        return max(wait, bucket.held_until - now, 1e-6)

    def try_acquire(self, family: str, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if they are there now."""
        with self._lock:
            bucket = self._bucket(family)
            now = self._clock()
            bucket.refill(now)
            if self._delay_locked(family, bucket, cost, now) > 0.0:
                return False
            bucket.tokens -= cost
            return True

    def acquire(
        self,
        family: str,
        cost: float = 1.0,
        *,
        timeout: float | None = None,
        wait: Callable[[float], object] | None = None,
    ) -> bool:
        """Block (via ``wait(seconds)``, e.g. a stop event's ``wait``) until granted or ``timeout``
        passes."""
        wait = wait or threading.Event().wait
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            if self.try_acquire(family, cost):
                return True
            pause = self.delay(family, cost)
            if deadline is not None:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                pause = min(pause, left)
            if wait(pause):  # an Event.wait returning True means "stop": give up
                return False

    def available(self, family: str) -> float:
        """Tokens left now (negative when cancels run on debt); for the ``rate_budget_remaining``
        gauge."""
        with self._lock:
            bucket = self._bucket(family)
            bucket.refill(self._clock())
            return bucket.tokens

    def observe(self, family: str, headers: Mapping[str, str]) -> dict | None:
        """Clamp the bucket to the venue's ``Poly-RateLimit-*`` headers; returns what was parsed."""
        lowered = {k.lower(): v for k, v in headers.items()}
        remaining_raw = lowered.get("poly-ratelimit-remaining")
        if remaining_raw is None:
            return None
        try:
            remaining = float(remaining_raw)
            reset = (
                float(lowered["poly-ratelimit-reset"])
                if "poly-ratelimit-reset" in lowered
                else None
            )
        except ValueError:
            log.warning("unparseable rate-limit headers for %s: %r", family, remaining_raw)
            return None
        parsed = {
            "remaining": remaining,
            "reset": reset,
            "tier": lowered.get("poly-ratelimit-tier", ""),
            "warning": lowered.get("poly-ratelimit-warning", "") == "true",
        }
        with self._lock:
            bucket = self._bucket(family)
            now = self._clock()
            bucket.refill(now)
            if remaining < bucket.tokens:
                bucket.tokens = remaining
            if remaining <= 0 and reset is not None:
                hold = reset - self._wall()
                if hold > 0:
                    bucket.held_until = max(bucket.held_until, now + hold)
                    log.info("venue says %s budget is empty for %.1f s", family, hold)
        return parsed
