"""The YES book as the rest of the market shows it: the bot's own orders taken out.

The feed's book holds everyone's orders, the bot's included. While a maker replaces its ladder (or
in a thin book) the bot's own quote can be the touch for a moment, and the mid the strategy
measured from it was the bot's own: quoting ``bid = best_bid * (1 - e)`` under its own bid moved
that mid further with each decision, and when the makers' levels came back the price-jump guard saw
the difference and paused the market for ``jump_cooloff_secs`` (found with the tick-to-order
bench, issue 20). The mid the strategy remembers for its price-jump cool-off and the avellaneda
variance (``market_mid``) is therefore the market's: with only the bot's own orders on a side
there is none, and nothing is measured.

The quotes themselves (and the re-quote bucket) are still anchored to the whole book: taking the
bot's orders out of the anchor as well left a side with only its own orders empty, so the market
paused and cancelled its quotes whenever the makers' levels were briefly gone, and the bundled
exchange's takers found fewer quotes to fill. Not anchoring to its own quote in that moment needs
a rule of its own (hold the quotes as they are), which is not written yet.

Own orders are matched to levels by YES-terms price (a BUY NO at ``q`` rests as a YES ask at
``1 - q``, a SELL NO as a YES bid) and their remaining size taken off, never below zero. Orders
sent but not yet acknowledged, or being cancelled, count too: they may be on the book; so do orders
finished within the last second (``StrategyInput.just_gone``): a cancel's answer can reach the
strategy before the market channel shows the order gone (the two are not ordered), and such an
order taken for someone else's once made a 5-cent "jump" (the bench, about 1 run in 6). A view
without levels (only the touch) is left as it is: there is nothing to take the orders out of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from pmbot.model import ONE, ZERO, Level, MarketInfo, Side
from pmbot.strategy.views import BookView, LiveOrder


def without_own(
    book: BookView | None, mine: Iterable[LiveOrder], market: MarketInfo
) -> BookView | None:
    """``book`` (the market's YES book) less the bot's own orders ``mine``."""
    if book is None:
        return None
    own_bids, own_asks = _own_sizes(mine, market)
    if own_bids and book.bids:
        bids = _less(book.bids, own_bids)
        book = replace(book, best_bid=_top(bids), bid_size=_top_size(bids), bids=bids)
    if own_asks and book.asks:
        asks = _less(book.asks, own_asks)
        book = replace(book, best_ask=_top(asks), ask_size=_top_size(asks), asks=asks)
    return book


def market_mid(
    book: BookView | None, mine: Iterable[LiveOrder], market: MarketInfo
) -> Decimal | None:
    """The mid of ``book`` without the bot's own orders; None when that leaves a side empty.
    (``without_own(...).mid`` without building the view, which costs two dataclass copies per
    market: this runs for every market on every decision.)"""
    if book is None:
        return None
    own_bids, own_asks = _own_sizes(mine, market)
    bid = _top(_less(book.bids, own_bids)) if own_bids and book.bids else book.best_bid
    ask = _top(_less(book.asks, own_asks)) if own_asks and book.asks else book.best_ask
    return None if bid is None or ask is None else (bid + ask) / 2


def _own_sizes(
    mine: Iterable[LiveOrder], market: MarketInfo
) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    """The bot's remaining sizes by YES-terms price: (bids, asks)."""
    own_bids: dict[Decimal, Decimal] = {}
    own_asks: dict[Decimal, Decimal] = {}
    for o in mine:
        if o.token_id == market.yes_token:
            price, bid = o.price, o.side is Side.BUY
        elif o.token_id == market.no_token:
            price, bid = ONE - o.price, o.side is Side.SELL
        else:
            continue
        side = own_bids if bid else own_asks
        side[price] = side.get(price, ZERO) + o.size_remaining
    return own_bids, own_asks


def _top(levels: tuple[Level, ...]) -> Decimal | None:
    return levels[0][0] if levels else None


def _top_size(levels: tuple[Level, ...]) -> Decimal:
    return levels[0][1] if levels else ZERO


def _less(levels: tuple[Level, ...], own: dict[Decimal, Decimal]) -> tuple[Level, ...]:
    out = []
    for price, size in levels:
        left = size - own.get(price, ZERO)
        if left > ZERO:
            out.append((price, left))
    return tuple(out)
