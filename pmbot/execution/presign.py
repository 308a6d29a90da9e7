"""Orders signed ahead (issue 20): the quotes the next re-quote will likely want, signed while the
strategy thread is idle, so a re-quote after a book move posts without signing on its path.

The strategy thread offers candidates after each decision (``offer``: its resting quotes moved
by a few ticks either way, the prices a touch-anchored re-quote lands on after a move of a few
cents) and signs them one at a time while its inbound queue is empty (``work_one``). Signing is
where the path from a book move to the post is slowest on a busy 2-core box: a cold cache and
other threads taking the interpreter at every C call (hashing, the secp256k1 signature).

A signed order is used at most once (``take`` removes it; each has its own salt, so its own hash)
and only while it is younger than ``max_age`` (its ``timestamp`` field is signed in). An order
with no fresh match is signed on the spot as before. Thread-safe: ``take`` runs on whichever
thread signs a post (the strategy thread inline, or the create lane).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pmbot.execution.ports import OrderSigning
from pmbot.model import NewOrder

Key = tuple[str, str, Decimal, Decimal, str, bool, bool, int, Decimal]
MAX_AGE_SECS = 5.0


def key_of(order: NewOrder) -> Key:
    """What the signature covers (the client id is the bot's own, not signed)."""
    return (
        order.token_id,
        order.side.value,
        order.price,
        order.size,
        order.order_type.value,
        order.post_only,
        order.neg_risk,
        order.expiration,
        order.tick,
    )


class Presigner:
    def __init__(
        self,
        signing: OrderSigning,
        max_age: float = MAX_AGE_SECS,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Any = None,
    ) -> None:
        self.signing, self.max_age, self.monotonic = signing, max_age, monotonic
        self.metrics = metrics
        self._lock = threading.Lock()
        self._wanted: dict[Key, NewOrder] = {}
        self._signed: dict[Key, tuple[float, str, dict]] = {}
        self.used = 0  # posts that went out with a signature made ahead
        self.made = 0  # signatures made ahead

    def offer(self, candidates: Iterable[NewOrder]) -> None:
        """The orders worth signing ahead now (replaces the previous offer; signatures already
        made for orders no longer offered are dropped)."""
        wanted = {key_of(o): o for o in candidates}
        with self._lock:
            self._wanted = wanted
            self._signed = {k: v for k, v in self._signed.items() if k in wanted}

    def pending(self) -> bool:
        """Is there an offered order without a fresh signature?"""
        with self._lock:
            return self._next_locked() is not None

    def _next_locked(self) -> NewOrder | None:
        oldest = self.monotonic() - self.max_age * 0.8  # re-signed before it is too old to use
        for key, order in self._wanted.items():
            have = self._signed.get(key)
            if have is None or have[0] < oldest:
                return order
        return None

    def work_one(self) -> bool:
        """Sign one offered order; False when there was nothing to do (or it could not be
        signed: it is then no longer offered)."""
        with self._lock:
            order = self._next_locked()
        if order is None:
            return False
        key = key_of(order)
        try:
            order_id, payload = self.signing.sign(order)
        except ValueError:
            with self._lock:
                self._wanted.pop(key, None)
            return False
        with self._lock:
            if key in self._wanted:
                self._signed[key] = (self.monotonic(), order_id, payload)
                self.made += 1
        self._count("made")
        return True

    def take(self, order: NewOrder) -> tuple[str, dict] | None:
        """A fresh signature for exactly this order, removed so it is never used twice."""
        key = key_of(order)
        with self._lock:
            got = self._signed.pop(key, None)
            if got is None or got[0] < self.monotonic() - self.max_age:
                return None
            self.used += 1
        self._count("used")
        return got[1], got[2]

    def _count(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.presigned_orders_total.labels(kind=kind).inc()
