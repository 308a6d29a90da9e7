"""Issue 20: when a book move makes resting quotes stale, decided on the market-feed thread from
the book's touch alone, before the strategy thread has seen the move.

A quote is pulled when

- it is at or through the opposite touch (a bid at or above the best ask, an ask at or below the
  best bid): the book moved onto it; or
- the strategy will re-quote the market for this book anyway (the mid bucket ``ceil(mid * 100)``
  differs from the one the quotes were placed for: the ``mid_bucket`` rule of ``requote``) and the
  touch on the quote's own side moved since the strategy last decided. Moved towards the quote
  (the best bid down for a bid, the best ask up for an ask), it is the side an informed taker now
  picks off; moved away, the quote is re-priced by the re-quote anyway (quotes are anchored to the
  touch or the mid), and pulling it now lets the new quotes go out without a cancel before them.

A side whose touch did not move keeps its quotes (and their queue place) for the strategy to
decide on. A side of the touch the strategy did not see (the book was one-sided when it last
decided) counts as moved. A one-sided book now has no mid: only the through-the-touch rule
applies. Everything is in YES terms (a BUY NO at ``q`` is an ask at ``1 - q``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ONE, MarketInfo, Side
from pmbot.strategy.requote import mid_bucket
from pmbot.strategy.views import LiveOrder


@dataclass(frozen=True, slots=True)
class QuoteGuard:
    """A market's resting quotes, the mid bucket they were placed for and the YES touch the
    strategy last decided on."""

    market: str  # condition id
    yes_token: str
    bucket: int
    bids: tuple[tuple[Decimal, str], ...]  # (YES-terms price, order id)
    asks: tuple[tuple[Decimal, str], ...]
    top_bid: Decimal | None = None
    top_ask: Decimal | None = None

    @property
    def order_ids(self) -> tuple[str, ...]:
        return self.side_ids(BOTH)

    def side_ids(self, side: str) -> tuple[str, ...]:
        """The ids of the ``bid``, ``ask`` or ``both`` sides' quotes, sorted."""
        rows = (self.bids if side != ASK else ()) + (self.asks if side != BID else ())
        return tuple(sorted(oid for _, oid in rows))


BID, ASK, BOTH = "bid", "ask", "both"


def stale_side(guard: QuoteGuard, best_bid: Decimal | None, best_ask: Decimal | None) -> str:
    """Which side's quotes this YES touch made stale: ``bid``, ``ask``, ``both`` or ``""``."""
    bid = bool(guard.bids) and best_ask is not None and max(p for p, _ in guard.bids) >= best_ask
    ask = bool(guard.asks) and best_bid is not None and min(p for p, _ in guard.asks) <= best_bid
    if (
        best_bid is None
        or best_ask is None
        or mid_bucket((best_bid + best_ask) / 2) == guard.bucket
    ):
        return _side(bid, ask)
    # A side of the touch the strategy did not see (a one-sided book then) counts as moved.
    top_bid, top_ask = guard.top_bid, guard.top_ask
    bid = bid or (bool(guard.bids) and (top_bid is None or best_bid != top_bid))
    ask = ask or (bool(guard.asks) and (top_ask is None or best_ask != top_ask))
    return _side(bid, ask)


def _side(bid: bool, ask: bool) -> str:
    return BOTH if bid and ask else BID if bid else ASK if ask else ""


def guard_for(
    market: MarketInfo,
    bucket: int,
    quotes: list[LiveOrder],
    top_bid: Decimal | None = None,
    top_ask: Decimal | None = None,
) -> QuoteGuard | None:
    """The guard of a market's resting quotes (acknowledged, no cancel in flight); None if none.
    ``top_bid``/``top_ask``: the YES touch the strategy decided on."""
    bids: list[tuple[Decimal, str]] = []
    asks: list[tuple[Decimal, str]] = []
    for o in quotes:
        if o.tag != "quote" or o.pending or o.cancel_pending:
            continue
        buy = o.side is Side.BUY
        if o.token_id == market.yes_token:
            (bids if buy else asks).append((o.price, o.order_id))
        else:
            (asks if buy else bids).append((ONE - o.price, o.order_id))
    if not bids and not asks:
        return None
    return QuoteGuard(
        market.condition_id,
        market.yes_token,
        bucket,
        tuple(sorted(bids)),
        tuple(sorted(asks)),
        top_bid,
        top_ask,
    )
