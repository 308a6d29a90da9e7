"""The seed's default quoting rules (``strategy.name: edge``), exactly as issue 7 states them, plus
the pieces every quoting model shares: fitting prices to the book and turning YES-terms prices into
orders.

Rules (``e = edge_fraction``):

- ``bid = best_bid * (1 - e)`` rounded DOWN to the tick; ``ask = best_ask + e * (1 - best_ask)``
  rounded UP to the tick. Tick 0.01, best 0.50 / 0.54 -> 0.45 / 0.59.
- Skew only while ``|q_yes - q_no| * mid > max_inventory_imbalance_usd``: long YES lowers both
  prices by ``skew_ticks`` ticks, short YES (more NO) raises both.
- Both kept inside ``[tick, 1 - tick]`` and never crossing the book (post-only): ``bid < best_ask``,
  ``ask > best_bid``.
- Quotes are in YES terms. The bid is a BUY YES. The ask is a SELL YES when the free YES inventory
  covers it, otherwise a BUY NO at ``1 - ask`` -- on Polymarket's unified book (protocol 6.1) the
  two are the same order economically, and the BUY NO needs no inventory. Reduce-only quotes sell
  held tokens on both sides (a short-YES bid becomes a SELL NO at ``1 - bid``).
- Size ``order_size``, never below the market's minimum size; sizes have 2 decimals on the venue.
- New BUY quotes must fit the free pUSD (``within_balance``): one that does not is skipped, not
  sent to be refused; the re-quote rule places it once the balance allows.

The extreme-price pause (``bid <= min_bid`` or ``ask >= max_ask``) lives in ``risk.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from pmbot.model import ONE, ZERO, MarketInfo, Side, round_down, round_up
from pmbot.strategy.params import QuotingParams, RiskParams
from pmbot.strategy.views import BookView, DesiredOrder, LiveOrder

SIZE_STEP = Decimal("0.01")  # the venue rounds sizes down to 2 decimals (protocol 1.5)

PriceSize = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Ladder:
    """YES-terms quotes: ``bids`` best (highest) first, ``asks`` best (lowest) first. ``skew`` is
    the signed inventory shift in ticks the model applied; it is part of the re-quote state."""

    bids: tuple[PriceSize, ...] = ()
    asks: tuple[PriceSize, ...] = ()
    skew: int = 0

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None


def round_size(size: Decimal) -> Decimal:
    return size.quantize(SIZE_STEP, rounding=ROUND_FLOOR)


def quote_size(order_size: Decimal, market: MarketInfo) -> Decimal:
    """``order_size`` shares, never below the market minimum (rounded up to the size step)."""
    size = max(order_size, market.min_size)
    return round_up(size, SIZE_STEP)


def skew_direction(net_yes_shares: Decimal, mid: Decimal | None, max_imbalance_usd: Decimal) -> int:
    """-1 (lower both prices) while long YES beyond the dollar limit, +1 while short, else 0."""
    if mid is None or net_yes_shares == ZERO:
        return 0
    if abs(net_yes_shares) * mid <= max_imbalance_usd:
        return 0
    return -1 if net_yes_shares > ZERO else 1


def bid_cap(best_ask: Decimal | None, tick: Decimal) -> Decimal:
    """Highest post-only bid on the tick: strictly below the best ask, at most 1 - tick."""
    cap = ONE - tick
    if best_ask is not None:
        cap = min(cap, round_up(best_ask, tick) - tick)
    return cap


def ask_floor(best_bid: Decimal | None, tick: Decimal) -> Decimal:
    """Lowest post-only ask on the tick: strictly above the best bid, at least ``tick``."""
    floor = tick
    if best_bid is not None:
        floor = max(floor, round_down(best_bid, tick) + tick)
    return floor


def fit_bid(price: Decimal, best_ask: Decimal | None, tick: Decimal) -> Decimal | None:
    price = min(max(round_down(price, tick), tick), bid_cap(best_ask, tick))
    return price if price >= tick else None


def fit_ask(price: Decimal, best_bid: Decimal | None, tick: Decimal) -> Decimal | None:
    price = max(min(round_up(price, tick), ONE - tick), ask_floor(best_bid, tick))
    return price if price <= ONE - tick else None


def edge_prices(
    best_bid: Decimal,
    best_ask: Decimal,
    tick: Decimal,
    edge_fraction: Decimal,
    shift_ticks: int = 0,
) -> tuple[Decimal | None, Decimal | None]:
    """The seed's prices for one YES book, shifted by ``shift_ticks`` and fitted to the book."""
    shift = tick * shift_ticks
    bid = round_down(best_bid * (ONE - edge_fraction), tick) + shift
    ask = round_up(best_ask + edge_fraction * (ONE - best_ask), tick) + shift
    fitted_bid = fit_bid(bid, best_ask, tick)
    fitted_ask = fit_ask(ask, best_bid, tick)
    if fitted_bid is not None and fitted_ask is not None and fitted_bid >= fitted_ask:
        return None, None
    return fitted_bid, fitted_ask


def edge_ladder(
    book: BookView,
    tick: Decimal,
    net_yes_shares: Decimal,
    size: Decimal,
    quoting: QuotingParams,
    risk: RiskParams,
) -> Ladder:
    """``edge`` quotes for a two-sided YES book (callers check ``book.two_sided`` first)."""
    if book.best_bid is None or book.best_ask is None:
        return Ladder()
    skew = skew_direction(net_yes_shares, book.mid, risk.max_inventory_imbalance_usd)
    shift = skew * quoting.skew_ticks
    bid, ask = edge_prices(book.best_bid, book.best_ask, tick, quoting.edge_fraction, shift)
    return Ladder(
        bids=((bid, size),) if bid is not None else (),
        asks=((ask, size),) if ask is not None else (),
        skew=shift,
    )


def ladder_orders(
    market: MarketInfo,
    ladder: Ladder,
    free_yes_shares: Decimal,
    *,
    reduce_only_net: Decimal | None = None,
    free_no_shares: Decimal = ZERO,
) -> tuple[DesiredOrder, ...]:
    """YES-terms ladder -> post-only GTC orders.

    Asks become SELL YES while free YES shares cover the level, else BUY NO at ``1 - ask``.
    ``reduce_only_net`` (net YES shares) keeps only the side that shrinks the position and caps its
    total size at the position; levels that end below the market's minimum size are dropped. In
    reduce-only, bids (short YES = long NO) become SELL NO at ``1 - bid`` while free NO shares cover
    them, so reducing sells held tokens on both sides instead of buying the complement.
    """
    bids = list(ladder.bids)
    asks = list(ladder.asks)
    if reduce_only_net is not None:
        if reduce_only_net > ZERO:
            bids, asks = [], _cap_total(asks, reduce_only_net)
        elif reduce_only_net < ZERO:
            bids, asks = _cap_total(bids, -reduce_only_net), []
        else:
            bids, asks = [], []
    orders: list[DesiredOrder] = []
    no_left = free_no_shares if reduce_only_net is not None else ZERO
    for price, size in bids:
        if size < market.min_size:
            continue
        if no_left >= size:
            no_left -= size
            orders.append(
                DesiredOrder(market.condition_id, market.no_token, Side.SELL, ONE - price, size)
            )
        else:
            orders.append(
                DesiredOrder(market.condition_id, market.yes_token, Side.BUY, price, size)
            )
    yes_left = free_yes_shares
    for price, size in asks:
        if size < market.min_size:
            continue
        if yes_left >= size:
            yes_left -= size
            orders.append(
                DesiredOrder(market.condition_id, market.yes_token, Side.SELL, price, size)
            )
        else:
            orders.append(
                DesiredOrder(market.condition_id, market.no_token, Side.BUY, ONE - price, size)
            )
    return tuple(orders)


def locked_usd(order: DesiredOrder) -> Decimal:
    """The pUSD a resting order locks on the venue: ``price * size`` for a BUY, nothing for a SELL
    (it locks shares)."""
    return order.price * order.size if order.side is Side.BUY else ZERO


def free_after_orders(
    venue_free: Decimal | None, open_orders: Iterable[LiveOrder]
) -> Decimal | None:
    """The pUSD new BUY orders may still use: what the venue reports free, less what the bot's open
    BUY orders lock (``price * size_remaining``; cancel-pending ones too, until the venue confirms).
    None while the venue's figure is unknown."""
    if venue_free is None:
        return None
    locked = sum((o.price * o.size_remaining for o in open_orders if o.side is Side.BUY), ZERO)
    return venue_free - locked


def within_balance(
    orders: tuple[DesiredOrder, ...], free_usd: Decimal
) -> tuple[tuple[DesiredOrder, ...], Decimal]:
    """The orders to send now, in order, skipping each BUY whose collateral no longer fits the free
    pUSD (the venue would refuse it: "not enough balance / allowance"); and the pUSD left."""
    kept: list[DesiredOrder] = []
    for order in orders:
        need = locked_usd(order)
        if need > free_usd:
            continue
        free_usd -= need
        kept.append(order)
    return tuple(kept), free_usd


def _cap_total(levels: list[PriceSize], total: Decimal) -> list[PriceSize]:
    out: list[PriceSize] = []
    left = round_size(total)
    for price, size in levels:
        take = min(size, left)
        if take <= ZERO:
            break
        out.append((price, take))
        left -= take
    return out
