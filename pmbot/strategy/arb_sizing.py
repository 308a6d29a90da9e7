"""How many sets an arbitrage basket takes: the depth walk, then the caps the venue imposes.

``walk``: the legs are walked level by level together; each step takes the size the thinnest leg
has left at its current level while the marginal edge per set still exceeds ``min_edge`` and the
budget allows (at most ``max_sets``). Each leg's limit is the deepest level used.

Caps applied by ``size_basket`` after a first walk (a smaller count only moves limits down, so a
second walk with ``max_sets`` keeps every cap):

- Free balance: a market BUY leg locks its spend, ``sets * limit`` rounded to the cent (up for a
  FAK leg signed ``at_least``), plus its fees. All legs together must fit the free pUSD.
- FOK legs: the venue kills a FOK market BUY unless the book takes its whole spend at the limit or
  better. The spend is ``sets * limit`` (rounded down to the cent for FOK), but the walked levels
  above the limit are cheaper, so they hold less pUSD than ``sets * limit``: ``sets`` is capped at
  ``visible pUSD up to the limit / limit``. Then, when it still reaches the minimum size, ``sets``
  is rounded down to a count whose spend is exact to the cent on every leg (``sets * limit`` with
  at most 2 decimals), so the rounded-down spend still buys ``sets`` shares: the sets stay even.
  Otherwise the spend is floored and each leg buys what it buys (at most 0.01/limit shares short).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from pmbot.model import ONE, ZERO, Level
from pmbot.strategy.quoting import SIZE_STEP, round_size

CENT = Decimal("0.01")

FeeTerms = tuple[Decimal, int]


def taker_fee(size: Decimal, price: Decimal, rate: Decimal, exponent: int = 1) -> Decimal:
    """Polymarket V2 taker fee in pUSD: ``size * rate * (p * (1 - p)) ** exponent``, with the
    rate and exponent of the CLOB's ``fd`` (``MarketInfo.fee_terms``: worst case when unknown)."""
    if exponent == 0:
        return size * rate
    return size * rate * (price * (ONE - price)) ** exponent


@dataclass(frozen=True, slots=True)
class Walk:
    sets: Decimal
    limits: tuple[Decimal, ...]
    leg_costs: tuple[Decimal, ...]
    cost: Decimal
    fees: Decimal
    budget_bound: bool


def walk(
    levels: Sequence[Sequence[Level]],
    rates: Sequence[FeeTerms],
    payout: Decimal,
    min_edge: Decimal,
    budget: Decimal,
    max_sets: Decimal | None = None,
) -> Walk:
    n = len(levels)
    idx = [0] * n
    left = [levels[i][0][1] for i in range(n)]
    limits = [levels[i][0][0] for i in range(n)]
    leg_costs = [ZERO] * n
    sets = cost = fees = ZERO
    budget_bound = False
    while all(idx[i] < len(levels[i]) for i in range(n)):
        prices = [levels[i][idx[i]][0] for i in range(n)]
        per_set_fee = sum((taker_fee(ONE, p, *r) for p, r in zip(prices, rates, strict=True)), ZERO)
        per_set_cost = sum(prices, ZERO)
        if payout - per_set_cost - per_set_fee <= min_edge:
            break
        take = min(left)
        affordable = round_size((budget - cost - fees) / (per_set_cost + per_set_fee))
        if affordable < take:
            take, budget_bound = affordable, True
        if max_sets is not None and max_sets - sets <= take:
            take, budget_bound = max_sets - sets, True
        take = round_size(take)
        if take > ZERO:
            sets += take
            cost += take * per_set_cost
            fees += take * per_set_fee
            for i in range(n):
                leg_costs[i] += take * prices[i]
                limits[i] = prices[i]
                left[i] -= take
        if budget_bound:
            break
        for i in range(n):
            if left[i] < SIZE_STEP:
                idx[i] += 1
                if idx[i] < len(levels[i]):
                    left[i] = levels[i][idx[i]][1]
    return Walk(sets, tuple(limits), tuple(leg_costs), cost, fees, budget_bound)


def leg_spend(sets: Decimal, limit: Decimal, *, fok: bool) -> Decimal:
    """The pUSD a market BUY leg of ``sets`` shares at ``limit`` is signed for (what it locks):
    rounded down to the cent for FOK, up for FAK (``market_buy_for_shares(at_least=...)``)."""
    exact = sets * limit
    return exact.quantize(CENT, rounding=ROUND_FLOOR if fok else ROUND_CEILING)


def balance_cap(limits: Sequence[Decimal], rates: Sequence[FeeTerms], free_usd: Decimal) -> Decimal:
    """Most sets whose legs' spends (a cent of rounding each) and fees fit ``free_usd``."""
    per_set = sum((p + taker_fee(ONE, p, *r) for p, r in zip(limits, rates, strict=True)), ZERO)
    room = free_usd - CENT * len(limits)
    if room <= ZERO or per_set <= ZERO:
        return ZERO
    return round_size(room / per_set)


def depth_cap(levels: Sequence[Sequence[Level]], limits: Sequence[Decimal]) -> Decimal:
    """Most sets a FOK leg of each book can spend ``sets * limit`` on, all of it filled."""
    caps = []
    for lv, limit in zip(levels, limits, strict=True):
        visible = sum((p * s for p, s in lv if p <= limit), ZERO)
        caps.append(round_size(visible / limit))
    return min(caps)


def cent_exact_sets(sets: Decimal, limits: Sequence[Decimal]) -> Decimal:
    """The largest count <= ``sets`` (2 decimals) with ``count * limit`` whole cents on every leg.

    count = k / 100, so count * limit in cents is ``k * limit``: k must be a multiple of every
    limit's denominator (a 0.30 limit: 10; 0.305: 200)."""
    step = 1
    for limit in limits:
        step = math.lcm(step, limit.as_integer_ratio()[1])
    k = int((sets / SIZE_STEP).to_integral_value(rounding=ROUND_FLOOR))
    return Decimal(k - k % step) * SIZE_STEP


def size_basket(
    levels: Sequence[Sequence[Level]],
    rates: Sequence[FeeTerms],
    payout: Decimal,
    min_edge: Decimal,
    budget: Decimal,
    *,
    fok: bool,
    free_usd: Decimal | None = None,
    min_size: Decimal = ZERO,
) -> Walk:
    """The walk, capped by the free balance and (FOK) by the depth each leg can fill in full."""
    w = walk(levels, rates, payout, min_edge, budget)
    for _ in range(3):  # each pass lowers only; limits settle after a pass or two
        cap = w.sets
        if free_usd is not None:
            cap = min(cap, balance_cap(w.limits, rates, free_usd))
        if fok:
            cap = min(cap, depth_cap(levels, w.limits))
            exact = cent_exact_sets(cap, w.limits)
            cap = exact if exact >= min_size and exact > ZERO else cap
        if cap >= w.sets:
            return w
        w = walk(levels, rates, payout, min_edge, budget, max_sets=cap)
    return w
