"""The YES book as the rest of the market shows it: the bot's own orders taken out.

The feed's book holds everyone's orders, the bot's included. Anchoring quotes to a touch that is
the bot's own order makes it chase itself: with the makers' levels briefly gone (a ladder being
replaced, a thin book), ``bid = best_bid * (1 - e)`` of its own bid posts a lower bid, which is then
the touch for the next decision, and the mid it measures (for the price-jump guard, the re-quote
bucket) is its own. Every quoting decision reads this view instead. A side with nothing left but
the bot's own orders is empty here (a one-sided book: the bot does not quote it).

Own orders are matched to levels by YES-terms price (a BUY NO at ``q`` rests as a YES ask at
``1 - q``, a SELL NO as a YES bid) and their remaining size taken off, never below zero. Orders
sent but not yet acknowledged, or being cancelled, count too: they may be on the book. A view
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
    if own_bids and book.bids:
        bids = _less(book.bids, own_bids)
        book = replace(
            book,
            best_bid=bids[0][0] if bids else None,
            bid_size=bids[0][1] if bids else ZERO,
            bids=bids,
        )
    if own_asks and book.asks:
        asks = _less(book.asks, own_asks)
        book = replace(
            book,
            best_ask=asks[0][0] if asks else None,
            ask_size=asks[0][1] if asks else ZERO,
            asks=asks,
        )
    return book


def _less(levels: tuple[Level, ...], own: dict[Decimal, Decimal]) -> tuple[Level, ...]:
    out = []
    for price, size in levels:
        left = size - own.get(price, ZERO)
        if left > ZERO:
            out.append((price, left))
    return tuple(out)
