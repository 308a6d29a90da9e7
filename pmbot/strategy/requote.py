"""Conditional re-quoting (issue 7): replace resting quotes only when something relevant changed.

A market is re-quoted when
- it was never quoted (``initial``),
- the quote set is incomplete: what rests (open + pending, minus cancels in flight) is not exactly
  what was last wanted -- a fill, a cancel or a reject happened (``incomplete``),
- the mid bucket ``ceil(mid * 100)`` changed (``mid_bucket``),
- the skew, the risk state or the tick size changed (``skew``, ``risk_state``, ``tick``).

Otherwise the resting quotes are left alone, even if the freshly computed prices differ a little:
that is what keeps the order rate (and queue position) sane on a noisy book.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from pmbot.strategy.views import QuoteKey


@dataclass(frozen=True, slots=True)
class QuoteState:
    mid_bucket: int | None
    skew: int
    tick: Decimal
    risk_state: str


def mid_bucket(mid: Decimal | None) -> int | None:
    if mid is None:
        return None
    return math.ceil(mid * 100)


def requote_reason(
    previous: QuoteState | None,
    last_wanted: tuple[QuoteKey, ...],
    current: QuoteState,
    resting: Counter[QuoteKey],
) -> str:
    """Why the market must be re-quoted now, or "" to leave its quotes alone."""
    if previous is None:
        return "initial"
    if +resting != Counter(last_wanted):
        return "incomplete"
    if current.risk_state != previous.risk_state:
        return "risk_state"
    if current.tick != previous.tick:
        return "tick"
    if current.skew != previous.skew:
        return "skew"
    if current.mid_bucket != previous.mid_bucket:
        return "mid_bucket"
    return ""
