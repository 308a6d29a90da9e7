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

Used by the scanner (``pmbot.scan``), the strategy's rewards band and the bot's own per-minute
estimate (``own_estimate``, published as ``pmbot_reward_score`` / ``pmbot_reward_share_estimate``).
The simulator has its own, independent implementation (``pmbot.sim.rewards``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from pmbot.model import MarketInfo

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


def _num(value: object) -> Decimal:
    """A non-negative finite number from a venue field; zero when absent or malformed."""
    if value is None or isinstance(value, bool):
        return ZERO
    try:
        out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except ArithmeticError:
        return ZERO
    return out if out.is_finite() and out > ZERO else ZERO


def from_venue(clob: object = None, compact: object = None, gamma: object = None) -> RewardParams:
    """``MarketInfo``'s reward fields from what the venue sent, whichever is at hand: the CLOB
    market object's ``rewards`` (``{rates: [{rewards_daily_rate}], min_size, max_spread}``), the
    compact ``/clob-markets`` record's ``r`` (``{mi, ma}``, no rate) or a Gamma market
    (``rewardsMinSize``, ``rewardsMaxSpread``, ``clobRewards: [{rewardsDailyRate}]``). The first
    source giving a field wins; missing or malformed fields read 0 (the market pays nothing)."""
    spread = size = rate = ZERO
    if isinstance(clob, dict):
        spread, size = _num(clob.get("max_spread")), _num(clob.get("min_size"))
        rates = clob.get("rates")
        if isinstance(rates, list):
            rate = sum(
                (_num(r.get("rewards_daily_rate")) for r in rates if isinstance(r, dict)), ZERO
            )
    if isinstance(compact, dict):
        spread = spread or _num(compact.get("ma"))
        size = size or _num(compact.get("mi"))
    if isinstance(gamma, dict):
        spread = spread or _num(gamma.get("rewardsMaxSpread"))
        size = size or _num(gamma.get("rewardsMinSize"))
        rates = gamma.get("clobRewards")
        if not rate and isinstance(rates, list):
            rate = sum(
                (_num(r.get("rewardsDailyRate")) for r in rates if isinstance(r, dict)), ZERO
            )
    return RewardParams(spread, size, rate)


def with_venue_rewards(
    market: MarketInfo, clob: object = None, compact: object = None, gamma: object = None
) -> MarketInfo:
    """``market`` with the reward fields read by :func:`from_venue`."""
    r = from_venue(clob, compact, gamma)
    return replace(
        market,
        rewards_max_spread=r.max_spread_cents,
        rewards_min_size=r.min_size,
        rewards_daily_rate=r.daily_rate,
    )


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


@dataclass(frozen=True, slots=True)
class Estimate:
    """The bot's own figures for one sample: ``score`` its ``Q_min``, ``share`` of the sample."""

    score: Decimal
    share: Decimal
    mid: Decimal


Levels = Iterable[tuple[Decimal, Decimal]]


def _without(levels: Levels, own: dict[Decimal, Decimal]) -> list[tuple[Decimal, Decimal]]:
    return [(p, s - own.get(p, ZERO)) for p, s in levels if s - own.get(p, ZERO) > ZERO]


def own_estimate(
    market: MarketInfo, bids: Levels, asks: Levels, own: Iterable[Quote]
) -> Estimate | None:
    """What the venue's sampler would give the bot now: ``bids``/``asks`` are the market's YES book
    (with the bot's orders in it, as the venue sees it), ``own`` the bot's resting orders in YES
    terms (:func:`yes_terms`). Competition is the rest of the book scored as one maker. None when
    the market pays no rewards or the book has no two-sided mid at the min size."""
    params = RewardParams(
        market.rewards_max_spread, market.rewards_min_size, market.rewards_daily_rate
    )
    if params.max_spread_cents <= ZERO:
        return None
    bids, asks, own = list(bids), list(asks), list(own)
    mid = adjusted_midpoint(bids, asks, params.min_size)
    if mid is None:
        return None
    mine = maker_score(own, mid, params)
    own_bids: dict[Decimal, Decimal] = {}
    own_asks: dict[Decimal, Decimal] = {}
    for q in own:
        side = own_bids if q.side == BUY else own_asks
        side[q.price] = side.get(q.price, ZERO) + q.size
    others = [Quote(BUY, p, s) for p, s in _without(bids, own_bids)]
    others += [Quote(SELL, p, s) for p, s in _without(asks, own_asks)]
    return Estimate(mine, share(mine, maker_score(others, mid, params)), mid)


__all__ = [
    "Estimate",
    "own_estimate",
    "RewardParams",
    "Quote",
    "yes_terms",
    "from_venue",
    "with_venue_rewards",
    "order_score",
    "adjusted_midpoint",
    "side_scores",
    "q_min",
    "maker_score",
    "share",
    "SCALING_C",
]
