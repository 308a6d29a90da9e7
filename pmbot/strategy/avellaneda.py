"""Inventory-aware quoting (``strategy.name: avellaneda``), Avellaneda-Stoikov style, in YES terms.

- Fair value ``s``: the microprice (size-weighted mid) or the mid (``fair_value``).
- Volatility: an EWMA of the per-second variance of mid changes, carried in strategy memory.
  Each observation weighs ``1 - 2**(-dt/halflife)``, so the estimate does not depend on how often
  ``decide`` runs. Before any change is seen, ``initial_variance_per_sec`` stands in.
- Reservation price ``r = s - q * gamma * sigma^2 * T``. ``q`` is the net YES position in shares
  (YES minus NO, hedged arbitrage sets excluded); ``T`` is ``horizon_secs`` capped by the time left
  to the market's end date.
- Half spread
  ``min_half_spread_ticks * tick + gamma * sigma^2 * T / 2 + vol_spread_mult * sigma * sqrt(T)``:
  the AS inventory term plus a term that widens with measured volatility.
- Ladder: ``ladder_levels`` levels per side, ``ladder_step_ticks`` apart, each ``order_size``.
- Liquidity rewards (``strategy.rewards: stay_in_band``, a market with a reward band): level 0 is
  chosen by ``reward_scoring`` among the AS price and the in-band prices, by expected reward minus
  expected adverse selection (the model is documented there); the side that would grow the
  inventory is never made more aggressive than the AS price. Deeper levels step from the AS price.
- Prices are fitted like ``edge``: on the tick, inside [tick, 1 - tick], post-only (never crossing).

``Ladder.skew`` reports the reservation shift in whole ticks; it is the re-quote state.
"""

from __future__ import annotations

import math
from decimal import Decimal

from pmbot.model import ZERO, MarketInfo
from pmbot.strategy import reward_scoring
from pmbot.strategy.params import QuotingParams
from pmbot.strategy.quoting import Ladder, PriceSize, fit_ask, fit_bid
from pmbot.strategy.rewards_band import Band
from pmbot.strategy.views import BookView


def update_variance(
    variance_per_sec: Decimal | None,
    last_mid: Decimal | None,
    last_ts: float | None,
    mid: Decimal | None,
    now: float,
    params: QuotingParams,
) -> Decimal:
    """One EWMA step of the per-second variance of the mid."""
    current = params.initial_variance_per_sec if variance_per_sec is None else variance_per_sec
    if mid is None or last_mid is None or last_ts is None:
        return current
    dt = now - last_ts
    if dt <= 0:
        return current
    weight = Decimal(repr(1.0 - math.pow(2.0, -dt / float(params.vol_halflife_secs))))
    sample = (mid - last_mid) ** 2 / Decimal(repr(dt))
    return current + weight * (sample - current)


def fair_value(book: BookView, params: QuotingParams) -> Decimal | None:
    if params.fair_value == "microprice":
        return book.microprice
    return book.mid


def horizon_secs(market: MarketInfo, now: float, params: QuotingParams) -> Decimal:
    horizon = params.horizon_secs
    if market.end_date_ts is not None:
        left = Decimal(repr(max(0.0, market.end_date_ts - now)))
        horizon = min(horizon, left)
    return horizon


def avellaneda_ladder(
    book: BookView,
    tick: Decimal,
    net_yes_shares: Decimal,
    size: Decimal,
    variance_per_sec: Decimal,
    market: MarketInfo,
    now: float,
    params: QuotingParams,
    band: Band | None = None,
) -> Ladder:
    s = fair_value(book, params)
    mid = book.mid
    if s is None or mid is None:
        return Ladder()
    var_t = max(variance_per_sec, ZERO) * horizon_secs(market, now, params)
    gamma = params.risk_aversion
    reservation = s - net_yes_shares * gamma * var_t
    half = (
        params.min_half_spread_ticks * tick
        + gamma * var_t / 2
        + params.vol_spread_mult * var_t.sqrt()
    )
    bid0 = reservation - half
    ask0 = reservation + half
    first_bid: PriceSize | None = (bid0, size)
    first_ask: PriceSize | None = (ask0, size)
    if band is not None:
        m = reward_scoring.Market(
            float(s),
            math.sqrt(float(max(variance_per_sec, ZERO))),
            float(horizon_secs(market, now, params)),
        )
        bid_c = reward_scoring.side_candidates(
            bid0, size, True, net_yes_shares <= ZERO, band, book, tick, m
        )
        ask_c = reward_scoring.side_candidates(
            ask0, size, False, net_yes_shares >= ZERO, band, book, tick, m
        )
        first_bid, first_ask = reward_scoring.best_level0(bid_c, ask_c, band, m)
    bids = _levels(
        first_bid, bid0, -tick * params.ladder_step_ticks, size, book.best_ask, tick, params
    )
    asks = _levels(
        first_ask, ask0, tick * params.ladder_step_ticks, size, book.best_bid, tick, params
    )
    if bids and asks and bids[0][0] >= asks[0][0]:
        return Ladder()
    skew = int(((reservation - s) / tick).to_integral_value())
    return Ladder(bids=tuple(bids), asks=tuple(asks), skew=skew)


def _levels(
    first: PriceSize | None,
    model_price: Decimal,
    step: Decimal,
    size: Decimal,
    other_best: Decimal | None,
    tick: Decimal,
    params: QuotingParams,
) -> list[PriceSize]:
    """One side: level 0 (``first``, fitted) then ``model_price + step * level``, each strictly
    less aggressive than the one before (``step`` < 0 for bids)."""
    is_bid = step < 0
    fit = fit_bid if is_bid else fit_ask
    out: list[PriceSize] = []
    for level in range(params.ladder_levels):
        price, level_size = first if level == 0 and first else (model_price + step * level, size)
        if level == 0 and first is None:
            continue
        p = fit(price, other_best, tick)
        if p is None or (out and (p >= out[-1][0] if is_bid else p <= out[-1][0])):
            continue
        out.append((p, level_size))
    return out
