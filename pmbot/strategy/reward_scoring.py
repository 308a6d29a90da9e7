"""The ``avellaneda`` model's level 0 under ``strategy.rewards: stay_in_band``: candidate quotes
scored by expected liquidity reward minus expected adverse selection. Pure.

Over the model's horizon ``H`` (``horizon_secs``, capped by the time to the market's end), for a
candidate pair of level-0 quotes (bid ``b`` of ``n_b`` shares, ask ``a`` of ``n_a`` shares, YES
terms) with fair value ``s`` and per-second mid variance ``sigma^2``:

- Expected reward ``R = daily_rate * H / 86400 * Q / (Q + C)``: ``Q`` is the pair's ``Q_min`` by the
  venue's formula (``pmbot.rewards``) around the band's mid, ``C`` the competition already resting
  in the band (the others' book scored as one maker, ``Band.competition``). It assumes the book
  stays as it is for ``H`` and the pool is paid in proportion to the per-minute score.
- Expected adverse selection, per side ``n * P(d) * (sigma * sqrt(H) - d)``, ``d`` the quote's
  distance from ``s`` (``s - b`` or ``a - s``): ``P(d) = erfc(d / (sigma * sqrt(2 H)))`` is the
  probability that a driftless Brownian mid touches the quote within ``H`` (the reflection
  principle), i.e. that it is filled; a fill is assumed to be followed by the typical move
  ``sigma * sqrt(H)`` through the price, against which the quote earned ``d`` (floored at 0: the
  spread a far quote earns is the AS model's business, not a reason to move it).
- Value = ``R`` minus both sides' adverse selection; the best pair wins (ties: the less aggressive).

Candidates per side: the Avellaneda-Stoikov price itself and every price on the tick strictly inside
the band that is more aggressive than it (post-only, fitted like every quote; rewards only ever
pull level 0 toward the mid), at sizes ``order_size`` and the band's min size (below it a quote
scores nothing); bid and ask never cross. The side that would grow the inventory (the bid while
long YES, the ask while short) keeps the AS price, so rewards never defeat the inventory control.
With no pool every pull costs and scores nothing: the AS ladder comes out unchanged. The
arithmetic is float: these are estimates ranking candidates, not money; the chosen prices and
sizes are exact Decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import pmbot.rewards as rewards
from pmbot.model import ZERO
from pmbot.strategy.quoting import fit_ask, fit_bid
from pmbot.strategy.rewards_band import Band, band_size
from pmbot.strategy.views import BookView

SECS_PER_DAY = 86400.0
PriceSize = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Market:
    """What the scoring needs about the market right now (floats for the estimate)."""

    fair: float  # s
    sigma: float  # per-second standard deviation of the mid
    horizon: float  # H, seconds


@dataclass(frozen=True, slots=True)
class Candidate:
    price: Decimal
    size: Decimal
    score: float  # this quote's reward score (S(v, s) * size, 0 when it does not qualify)
    cost: float  # its expected adverse selection over the horizon


def touch_probability(distance: float, sigma: float, horizon: float) -> float:
    """P(a driftless Brownian mid moves ``distance`` within ``horizon``) (reflection principle)."""
    if distance <= 0:
        return 1.0
    scale = sigma * math.sqrt(2.0 * horizon)
    return math.erfc(distance / scale) if scale > 0 else 0.0


def adverse_cost(distance: float, size: float, m: Market) -> float:
    move = m.sigma * math.sqrt(m.horizon)
    return size * touch_probability(distance, m.sigma, m.horizon) * max(move - distance, 0.0)


def _candidate(price: Decimal, size: Decimal, is_bid: bool, band: Band, m: Market) -> Candidate:
    distance = m.fair - float(price) if is_bid else float(price) - m.fair
    score = ZERO
    if size >= band.params.min_size:
        score = rewards.order_score(
            band.params.max_spread_cents, (price - band.mid) * rewards.CENTS, size
        )
    return Candidate(price, size, float(score), adverse_cost(distance, float(size), m))


def side_candidates(
    model_price: Decimal,
    size: Decimal,
    is_bid: bool,
    may_improve: bool,
    band: Band,
    book: BookView,
    tick: Decimal,
    m: Market,
) -> list[Candidate]:
    """The AS price and the in-band prices of one side (see the module doc), each at both sizes."""
    fit = fit_bid if is_bid else fit_ask
    other = book.best_ask if is_bid else book.best_bid
    model = fit(model_price, other, tick)
    prices = {model} if model is not None else set()
    lo, hi = band.lowest_bid(tick), band.highest_ask(tick)
    steps = int((hi - lo) / tick) + 1 if hi >= lo and may_improve else 0
    for i in range(steps):
        p = fit(lo + tick * i, other, tick)
        if p is None or not band.contains(p):
            continue
        if model is None or (p > model if is_bid else p < model):
            prices.add(p)
    sizes = sorted({size, band_size(size, band)})
    return [_candidate(p, n, is_bid, band, m) for p in sorted(prices) for n in sizes]


def pair_q_min(bid_score: float, ask_score: float, mid: Decimal) -> float:
    """``rewards.q_min`` in floats (single-sided quotes score a third while the mid is in range)."""
    if rewards.SINGLE_SIDED_LOW <= mid <= rewards.SINGLE_SIDED_HIGH:
        return max(min(bid_score, ask_score), max(bid_score, ask_score) / 3.0)
    return min(bid_score, ask_score)


def best_level0(
    bids: list[Candidate], asks: list[Candidate], band: Band, m: Market
) -> tuple[PriceSize | None, PriceSize | None]:
    """The best-valued pair; one side alone when the other has no candidate."""
    rate = float(band.params.daily_rate)
    competition = float(band.competition())
    per_horizon = rate * m.horizon / SECS_PER_DAY
    best: tuple[float, Candidate | None, Candidate | None] | None = None
    # less aggressive first on each side, so that a tie keeps the safer pair
    bid_opts: list[Candidate | None] = [*sorted(bids, key=lambda c: c.price)] or [None]
    ask_opts: list[Candidate | None] = [*sorted(asks, key=lambda c: -c.price)] or [None]
    for b in bid_opts:
        for a in ask_opts:
            if a is not None and b is not None and b.price >= a.price:
                continue
            mine = pair_q_min(b.score if b else 0.0, a.score if a else 0.0, band.mid)
            total = mine + competition
            reward = per_horizon * (mine / total if total > 0 else 0.0)
            value = reward - (b.cost if b else 0.0) - (a.cost if a else 0.0)
            if best is None or value > best[0] + 1e-12:
                best = (value, b, a)
    if best is None:
        return None, None
    _, b, a = best
    return ((b.price, b.size) if b else None), ((a.price, a.size) if a else None)
