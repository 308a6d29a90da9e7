"""Issue 20: when a book move makes the resting quotes stale, decided on the market-feed thread
from the book's touch alone, before the strategy thread has seen the move.

A market's quotes are stale when the strategy will re-quote the market for this book anyway:

- the mid bucket ``ceil(mid * 100)`` differs from the one the quotes were placed for (the
  ``mid_bucket`` rule of ``requote``), or
- a quote is at or through the opposite touch (a bid at or above the best ask, an ask at or
  below the best bid): the book moved onto it.

Then every quote of the market is pulled at once (the re-quote replaces them all). A one-sided
book has no mid: only the through-the-touch rule applies. Everything is in YES terms (a BUY NO at
``q`` is an ask at ``1 - q``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ONE, MarketInfo, Side
from pmbot.strategy.requote import mid_bucket
from pmbot.strategy.views import LiveOrder


@dataclass(frozen=True, slots=True)
class QuoteGuard:
    """A market's resting quotes and the mid bucket they were placed for."""

    market: str  # condition id
    yes_token: str
    bucket: int
    bids: tuple[Decimal, ...]  # YES-terms prices
    asks: tuple[Decimal, ...]
    order_ids: tuple[str, ...]


def stale(guard: QuoteGuard, best_bid: Decimal | None, best_ask: Decimal | None) -> bool:
    """Does this YES touch make the guarded quotes stale?"""
    if best_ask is not None and guard.bids and max(guard.bids) >= best_ask:
        return True
    if best_bid is not None and guard.asks and min(guard.asks) <= best_bid:
        return True
    if best_bid is None or best_ask is None:
        return False
    return mid_bucket((best_bid + best_ask) / 2) != guard.bucket


def guard_for(market: MarketInfo, bucket: int, quotes: list[LiveOrder]) -> QuoteGuard | None:
    """The guard of a market's resting quotes (acknowledged, no cancel in flight); None if none."""
    bids: list[Decimal] = []
    asks: list[Decimal] = []
    ids: list[str] = []
    for o in quotes:
        if o.tag != "quote" or o.pending or o.cancel_pending:
            continue
        buy = o.side is Side.BUY
        if o.token_id == market.yes_token:
            (bids if buy else asks).append(o.price)
        else:
            (asks if buy else bids).append(ONE - o.price)
        ids.append(o.order_id)
    if not ids:
        return None
    return QuoteGuard(
        market.condition_id, market.yes_token, bucket, tuple(bids), tuple(asks), tuple(sorted(ids))
    )
