"""Liquidity-rewards band for quoting (``strategy.rewards: stay_in_band``). Pure.

Polymarket scores resting orders that are at least the market's reward min size and strictly
closer than ``max_spread`` cents to the size-adjusted midpoint (``pmbot.rewards`` has the formula).
With ``stay_in_band`` a market with rewards is quoted so that both quotes score:

- The band's mid is the size-adjusted midpoint of the *others'* book: the YES book's levels minus
  the bot's own resting orders (the bot's quotes must not drag the mid they are measured from; the
  venue's mid, which includes them, equals it when both quotes sit symmetric inside the band).
- Band parameters: the market's (venue) max spread and min size; ``rewards_max_spread_cents``
  narrows the band and ``rewards_min_size`` raises the size when set (both 0 = the venue's). A
  market without venue rewards is banded only when ``rewards_max_spread_cents`` is set.
- ``edge``: each price is moved to the closest price *strictly* inside the band when the rule puts
  it outside (the band edge itself scores zero); a price already inside stays. The size is raised to
  the band's min size. A side that cannot be placed inside the band post-only is not quoted.
  Inventory skew still applies to prices inside the band; a long position's bid sits at the band's
  far edge (the least aggressive price that still scores).
- Guards (pauses, reduce-only caps, the extreme-price pause) act after this and may pull quotes.
- Re-quoting: resting quotes outside the current band force a re-quote (``rewards_band``) when the
  wanted set differs from what rests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pmbot.rewards as rewards
from pmbot.model import ONE, ZERO, MarketInfo, Side
from pmbot.strategy.params import QuotingParams
from pmbot.strategy.quoting import SIZE_STEP, Ladder, fit_ask, fit_bid
from pmbot.strategy.views import BookView, LiveOrder

CENTS = Decimal(100)
STAY_IN_BAND = "stay_in_band"
Levels = tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Band:
    """One market's reward band right now (YES terms). ``others_bids``/``others_asks``: the book
    without the bot's own resting orders (the competition)."""

    mid: Decimal
    params: rewards.RewardParams
    others_bids: Levels = ()
    others_asks: Levels = ()
    half_width: Decimal = field(init=False)  # max spread in price units

    def __post_init__(self) -> None:
        object.__setattr__(self, "half_width", self.params.max_spread_cents / CENTS)

    def contains(self, price: Decimal) -> bool:
        return abs(price - self.mid) < self.half_width

    def lowest_bid(self, tick: Decimal) -> Decimal:
        """The lowest price on the tick strictly above ``mid - half_width``."""
        edge = self.mid - self.half_width
        return (edge / tick).to_integral_value(rounding=ROUND_FLOOR) * tick + tick

    def highest_ask(self, tick: Decimal) -> Decimal:
        """The highest price on the tick strictly below ``mid + half_width``."""
        edge = self.mid + self.half_width
        return (edge / tick).to_integral_value(rounding=ROUND_CEILING) * tick - tick

    def competition(self) -> Decimal:
        """The others' resting liquidity as one maker's ``Q_min`` (the book does not say who owns
        what)."""
        quotes = [rewards.Quote(rewards.BUY, p, s) for p, s in self.others_bids]
        quotes += [rewards.Quote(rewards.SELL, p, s) for p, s in self.others_asks]
        return rewards.maker_score(quotes, self.mid, self.params)


def reward_params(market: MarketInfo, quoting: QuotingParams) -> rewards.RewardParams | None:
    """The band the bot aims at for ``market``, or None when it has none (see the module doc)."""
    spread, size = market.rewards_max_spread, market.rewards_min_size
    cap = quoting.rewards_max_spread_cents
    if cap > ZERO:
        spread = min(spread, cap) if spread > ZERO else cap
    if spread <= ZERO:
        return None
    return rewards.RewardParams(
        spread, max(size, quoting.rewards_min_size), market.rewards_daily_rate
    )


def _minus(levels: Levels, own: dict[Decimal, Decimal]) -> Levels:
    if not own:
        return levels
    out = [(p, s - own[p]) if p in own else (p, s) for p, s in levels]
    return tuple((p, s) for p, s in out if s > ZERO)


def others_book(
    book: BookView, market: MarketInfo, own: Iterable[LiveOrder]
) -> tuple[Levels, Levels]:
    """The YES book's levels minus the bot's own acknowledged orders on ``market``."""
    own_bids: dict[Decimal, Decimal] = {}
    own_asks: dict[Decimal, Decimal] = {}
    for o in own:
        if o.pending or o.token_id not in (market.yes_token, market.no_token):
            continue
        is_yes = o.token_id == market.yes_token
        price = o.price if is_yes else ONE - o.price
        side = own_bids if (o.side is Side.BUY) == is_yes else own_asks
        side[price] = side.get(price, ZERO) + o.size_remaining
    return _minus(book.bid_levels(), own_bids), _minus(book.ask_levels(), own_asks)


def band_for(
    market: MarketInfo, book: BookView, own: Iterable[LiveOrder], quoting: QuotingParams
) -> Band | None:
    """The market's band when ``strategy.rewards`` is on and the market has one and a mid."""
    if quoting.rewards != STAY_IN_BAND:
        return None
    params = reward_params(market, quoting)
    if params is None:
        return None
    bids, asks = others_book(book, market, own)
    mid = rewards.adjusted_midpoint(bids, asks, params.min_size)
    if mid is None:
        return None
    return Band(mid, params, bids, asks)


def band_size(size: Decimal, band: Band) -> Decimal:
    """``size`` raised to the band's min size, on the venue's size step (rounded up)."""
    need = max(size, band.params.min_size)
    return (need / SIZE_STEP).to_integral_value(rounding=ROUND_CEILING) * SIZE_STEP


def keep_in_band(ladder: Ladder, band: Band, tick: Decimal, book: BookView) -> Ladder:
    """``edge``'s one-level ladder with each price moved inside the band (see the module doc)."""
    bids = []
    for price, size in ladder.bids[:1]:
        bid = fit_bid(max(price, band.lowest_bid(tick)), book.best_ask, tick)
        if bid is not None and band.contains(bid):
            bids.append((bid, band_size(size, band)))
    asks = []
    for price, size in ladder.asks[:1]:
        ask = fit_ask(min(price, band.highest_ask(tick)), book.best_bid, tick)
        if ask is not None and band.contains(ask):
            asks.append((ask, band_size(size, band)))
    if bids and asks and bids[0][0] >= asks[0][0]:
        return Ladder(skew=ladder.skew)
    return Ladder(bids=tuple(bids), asks=tuple(asks), skew=ladder.skew)


def resting_outside(band: Band, market: MarketInfo, quotes: Iterable[LiveOrder]) -> bool:
    """Does any resting quote of ``market`` sit outside the band (YES-terms price)?"""
    for o in quotes:
        if o.cancel_pending:
            continue
        yes_price = o.price if o.token_id == market.yes_token else Decimal(1) - o.price
        if not band.contains(yes_price):
            return True
    return False


__all__ = [
    "Band",
    "STAY_IN_BAND",
    "band_for",
    "band_size",
    "keep_in_band",
    "others_book",
    "resting_outside",
    "reward_params",
]
