"""Polymarket's liquidity-rewards score, as a pure function of resting orders (no I/O).

Source: Polymarket's documentation, "Liquidity Rewards" (docs.polymarket.com/market-makers/
liquidity-rewards, formerly /developers/rewards/overview). Paraphrased:

- Each reward market sets a max spread ``v`` (in cents, from the midpoint) and a min size; orders
  outside the band or below the size score nothing.
- An order ``s`` cents from the size-cutoff-adjusted midpoint scores ``S(v, s) = ((v - s) / v)^2``
  times its size (the in-game multiplier ``b`` is 1 unless the venue says otherwise).
- ``Q_one`` sums the scores of bids on the market and asks on its complement; ``Q_two`` sums asks
  on the market and bids on the complement. In one unified YES book (an ask on NO at p is a YES bid
  at 1 - p) that is simply: ``Q_one`` = YES-book bids, ``Q_two`` = YES-book asks.
- ``Q_min = max(min(Q_one, Q_two), max(Q_one / c, Q_two / c))`` with ``c = 3`` while the midpoint
  is in [0.10, 0.90] (a single side scores a third); outside that range only two-sided quotes
  score: ``Q_min = min(Q_one, Q_two)``.
- A maker's share of a sample is its ``Q_min`` over the sum of every maker's ``Q_min``; the venue
  samples once a minute (10,080 samples a week) and pays the daily pool by the summed shares.

Interpretation (the docs do not define it precisely, marked UNCERTAIN): the "size-cutoff-adjusted
midpoint" here is the midpoint of the best bid and best ask among price levels that hold at least
the market's reward min size; an order exactly on the band edge (``s == v``) scores zero.

Used by the scanner (``pmbot.scan``) today and meant for the bot's own per-minute estimate later.
The simulator has its own, independent implementation (``pmbot.sim.rewards``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
CENTS = Decimal(100)
SCALING_C = Decimal(3)
SINGLE_SIDED_LOW = Decimal("0.10")
SINGLE_SIDED_HIGH = Decimal("0.90")
BUY, SELL = "BUY", "SELL"


@dataclass(frozen=True, slots=True)
class RewardParams:
    """A market's reward configuration: ``max_spread_cents`` is the venue's ``rewards_max_spread``
    (cents), ``min_size`` its ``rewards_min_size`` (shares), ``daily_rate`` the pool per day."""

    max_spread_cents: Decimal
    min_size: Decimal
    daily_rate: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Quote:
    """One resting order in YES-book terms: ``side`` BUY (a YES bid) or SELL (a YES ask)."""

    side: str
    price: Decimal
    size: Decimal


def yes_terms(is_yes: bool, side: str, price: Decimal, size: Decimal) -> Quote:
    """An order on either token as a quote of the unified YES book: BUY NO at p is a YES ask at
    1 - p, SELL NO at p a YES bid at 1 - p."""
    if is_yes:
        return Quote(side, price, size)
    return Quote(SELL if side == BUY else BUY, ONE - price, size)


def order_score(max_spread_cents: Decimal, spread_cents: Decimal, size: Decimal) -> Decimal:
    """``S(v, s) * size``; zero at or beyond the band edge."""
    s = abs(spread_cents)
    v = max_spread_cents
    if v <= ZERO or s >= v:
        return ZERO
    return ((v - s) / v) ** 2 * size


def adjusted_midpoint(
    bids: Iterable[tuple[Decimal, Decimal]],
    asks: Iterable[tuple[Decimal, Decimal]],
    min_size: Decimal,
) -> Decimal | None:
    """Midpoint of the best bid and ask among levels holding at least ``min_size`` (YES terms);
    None when a side has no such level."""
    best_bid = max((p for p, s in bids if s >= min_size), default=None)
    best_ask = min((p for p, s in asks if s >= min_size), default=None)
    if best_bid is None or best_ask is None:
        return None
    return (best_bid + best_ask) / 2


def side_scores(
    quotes: Iterable[Quote], mid: Decimal, params: RewardParams
) -> tuple[Decimal, Decimal]:
    """``(Q_one, Q_two)``: scores of the YES bids and of the YES asks that qualify."""
    q_one = q_two = ZERO
    for q in quotes:
        if q.size < params.min_size:
            continue
        score = order_score(params.max_spread_cents, (q.price - mid) * CENTS, q.size)
        if q.side == BUY:
            q_one += score
        else:
            q_two += score
    return q_one, q_two


def q_min(q_one: Decimal, q_two: Decimal, mid: Decimal, c: Decimal = SCALING_C) -> Decimal:
    """Equation 4: single-sided liquidity scores a third only while the mid is in [0.10, 0.90]."""
    two_sided = min(q_one, q_two)
    if SINGLE_SIDED_LOW <= mid <= SINGLE_SIDED_HIGH:
        return max(two_sided, max(q_one, q_two) / c)
    return two_sided


def maker_score(quotes: Iterable[Quote], mid: Decimal, params: RewardParams) -> Decimal:
    """One maker's ``Q_min`` for one sample."""
    q_one, q_two = side_scores(quotes, mid, params)
    return q_min(q_one, q_two, mid)


def share(mine: Decimal, others: Decimal) -> Decimal:
    """Equation 5: my ``Q_min`` over everybody's (zero when nobody scores)."""
    total = mine + others
    return mine / total if total > ZERO else ZERO


__all__ = [
    "RewardParams",
    "Quote",
    "yes_terms",
    "order_score",
    "adjusted_midpoint",
    "side_scores",
    "q_min",
    "maker_score",
    "share",
    "SCALING_C",
]
