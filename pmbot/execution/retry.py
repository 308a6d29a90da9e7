"""Retry policy shared by the lanes: capped exponential backoff with full jitter, honouring
``Retry-After``; error kinds for ``pmbot_exec_errors_total``."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pmbot.errors import (
    FatalError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    VenueModeError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_HONOURED_RETRY_AFTER = 30.0  # a longer Retry-After means "not now": give up instead of blocking


@dataclass
class RetryPolicy:
    max_retries: int = 4
    backoff_initial: float = 0.25
    backoff_max: float = 5.0
    rng: random.Random = field(default_factory=random.Random)
    metrics: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.backoff_max, self.backoff_initial * (2**attempt))
        with self._lock:  # random.Random is shared by the lanes
            delay = self.rng.uniform(0.0, ceiling)  # full jitter
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def gives_up(self, attempt: int, delay: float) -> bool:
        return attempt >= self.max_retries or delay > MAX_HONOURED_RETRY_AFTER

    def call(self, fn: Callable[[], T], endpoint: str, wait: Callable[[float], bool]) -> T:
        """Call an idempotent request, retrying TransientError; re-raises the last error when out of
        tries or when ``wait`` (the back-off sleep) returns True (halted)."""
        attempt = 0
        while True:
            try:
                return fn()
            except TransientError as exc:
                self.count_error("transient")
                delay = self.backoff(attempt, exc.retry_after)
                if self.gives_up(attempt, delay):
                    raise
                self.count_retry(endpoint, exc)
                log.info("%s: %s; retry %d in %.2f s", endpoint, exc, attempt + 1, delay)
                if wait(delay):
                    raise
                attempt += 1

    def count_retry(self, endpoint: str, exc: TransientError) -> None:
        if self.metrics is not None:
            reason = retry_reason(exc)
            self.metrics.exec_retries_total.labels(endpoint=endpoint, reason=reason).inc()

    def count_error(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.exec_errors_total.labels(kind=kind).inc()


def retry_reason(exc: TransientError) -> str:
    """The ``reason`` label of ``pmbot_exec_retries_total`` (``pmbot.metrics.RETRY_REASONS``)."""
    if exc.status == 429:
        return "rate_limited"
    if exc.status is not None:
        return "server_error"  # 5xx, 425 (matching engine restarting)
    return "timeout" if "timeout" in str(exc).lower() else "connection"


def kind_of(exc: Exception) -> str:
    if isinstance(exc, VenueModeError):
        return "venue_mode"
    if isinstance(exc, UnknownOutcomeError):
        return "unknown_outcome"
    if isinstance(exc, RejectedError):
        return "rejected"
    if isinstance(exc, FatalError):
        return "fatal"
    return "transient"
