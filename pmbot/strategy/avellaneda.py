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
- Liquidity rewards (Polymarket scores resting orders within ``max_spread`` of the mid and at least
  ``min_size``): when ``rewards_max_spread > 0``, level 0 is pulled inside the band and sized to the
  rewards minimum -- only on the side that does not grow the inventory, so rewards never defeat the
  inventory control.
- Prices are fitted like ``edge``: on the tick, inside [tick, 1 - tick], post-only (never crossing).

``Ladder.skew`` reports the reservation shift in whole ticks; it is the re-quote state.
"""

from __future__ import annotations

import math
from decimal import Decimal

from pmbot.model import ZERO, MarketInfo, round_down, round_up
from pmbot.strategy.params import QuotingParams
from pmbot.strategy.quoting import Ladder, fit_ask, fit_bid
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
    size0 = size
    band = params.rewards_max_spread
    if band > ZERO:
        if net_yes_shares <= ZERO:  # buying YES does not grow a long position
            bid0 = max(bid0, round_up(mid - band, tick))
        if net_yes_shares >= ZERO:  # selling YES does not grow a short position
            ask0 = min(ask0, round_down(mid + band, tick))
        size0 = max(size, params.rewards_min_size)

    bids: list[tuple[Decimal, Decimal]] = []
    asks: list[tuple[Decimal, Decimal]] = []
    step = tick * params.ladder_step_ticks
    for level in range(params.ladder_levels):
        level_size = size0 if level == 0 else size
        bid = fit_bid(bid0 - step * level, book.best_ask, tick)
        if bid is not None and (not bids or bid < bids[-1][0]):
            bids.append((bid, level_size))
        ask = fit_ask(ask0 + step * level, book.best_bid, tick)
        if ask is not None and (not asks or ask > asks[-1][0]):
            asks.append((ask, level_size))
    if bids and asks and bids[0][0] >= asks[0][0]:
        return Ladder()
    skew = int(((reservation - s) / tick).to_integral_value())
    return Ladder(bids=tuple(bids), asks=tuple(asks), skew=skew)
