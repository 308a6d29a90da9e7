"""Waiting on conditions in tests: poll with short waits until a deadline, never a fixed sleep.

``wait_for`` returns as soon as the condition holds and fails with a message naming what it waited
for (and the last value seen) when the deadline passes. ``holds_for`` is its negative twin for the
checks that *something does not happen* within a window the scenario defines (a cooldown, a
duration): it polls through the whole window and fails at the first violation.

Deadlines are budgets for a busy machine, not expectations: a passing test returns at the first
poll that sees the condition. ``PMBOT_TEST_TIMEOUT_SCALE`` (a float, default 1) multiplies every
``wait_for`` deadline, for runs on a machine slower than the 2-core box the budgets assume; it
does not stretch ``holds_for`` windows, whose length is part of the scenario.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_INTERVAL = 0.05


def timeout_scale() -> float:
    raw = os.environ.get("PMBOT_TEST_TIMEOUT_SCALE", "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError as exc:
        raise ValueError(f"PMBOT_TEST_TIMEOUT_SCALE must be a number, got {raw!r}") from exc
    if scale <= 0:
        raise ValueError(f"PMBOT_TEST_TIMEOUT_SCALE must be positive, got {raw!r}")
    return scale


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    what: str = "condition",
    *,
    interval: float = DEFAULT_INTERVAL,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that value.

    Exceptions of the types in ``ignore`` (e.g. ``OSError`` while a server is still starting) count
    as "not yet". Raises ``AssertionError`` naming ``what`` once ``timeout`` (scaled) has passed;
    the predicate is always evaluated at least once, and once more at the deadline.
    """
    budget = timeout * timeout_scale()
    deadline = time.monotonic() + budget
    last: object = None
    while True:
        try:
            last = predicate()
        except ignore as exc:
            last = exc
        else:
            if last:
                return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {budget:g}s waiting for {what} (last: {last!r})")
        time.sleep(min(interval, remaining))


def holds_for(
    predicate: Callable[[], object],
    duration: float,
    what: str = "condition",
    *,
    interval: float = DEFAULT_INTERVAL,
) -> None:
    """Check that ``predicate`` stays truthy for the whole ``duration`` (a window the scenario
    defines, e.g. "past the cooldown nothing is bought again"); fails at the first violation."""
    end = time.monotonic() + duration
    while True:
        value = predicate()
        if not value:
            raise AssertionError(f"{what} stopped holding (got {value!r})")
        remaining = end - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(interval, remaining))
