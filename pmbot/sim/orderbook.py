"""The simulator's unified order book of one condition, kept in YES terms, and its resting orders.

Why YES terms: Polymarket matches complementary tokens across one book (reference 6.1). A BUY NO
at q is a YES ask at 1-q and a SELL NO at q is a YES bid at 1-q, so the NO book is always the
mirror of the YES book and single-market complete-set "arbitrage" cannot exist on a consistent
book. Each price level is a FIFO queue (price-time priority) with a running total of its shares.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
MICRO = Decimal("0.000001")  # the venue's base unit: wire amounts are integers of it
BUY, SELL = "BUY", "SELL"
LIVE, MATCHED, CANCELED = "LIVE", "MATCHED", "CANCELED"


@dataclass(slots=True, eq=False)
class SimOrder:
    """One order as the exchange tracks it, in token terms plus its place in the YES book."""

    id: str
    owner: str
    address: str  # funder (the order's maker), lower case
    market: str
    token_id: str
    outcome: str  # "Yes" / "No"
    is_yes: bool
    side: str  # in token terms
    price: Decimal  # in token terms
    original_size: Decimal
    order_type: str
    expiration: int
    created_at: int
    seq: int
    yes_side: str  # the side of the unified YES book it rests on
    yes_price: Decimal
    size_matched: Decimal = ZERO
    status: str = LIVE
    resting: bool = False
    associate_trades: list = field(default_factory=list)
    budget: Decimal | None = None  # a market BUY's pUSD: it fills by amount, not by size
    spent: Decimal = ZERO  # ... and what it spent so far (exact, before the ledger's rounding)

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched


class UnifiedBook:
    """The unified YES book of one condition: price levels of FIFO queues, plus level totals."""

    __slots__ = (
        "bids",
        "asks",
        "bid_prices",
        "ask_prices",
        "bid_total",
        "ask_total",
        "version",
        "last_trade_yes",
        "last_top",
    )

    def __init__(self) -> None:
        self.bids: dict[Decimal, deque] = {}
        self.asks: dict[Decimal, deque] = {}
        self.bid_prices: list[Decimal] = []  # ascending (best last)
        self.ask_prices: list[Decimal] = []  # ascending (best first)
        self.bid_total: dict[Decimal, Decimal] = {}
        self.ask_total: dict[Decimal, Decimal] = {}
        self.version = 0
        self.last_trade_yes: Decimal | None = None
        self.last_top: tuple = (None, None)

    def best_bid(self) -> Decimal | None:
        return self.bid_prices[-1] if self.bid_prices else None

    def best_ask(self) -> Decimal | None:
        return self.ask_prices[0] if self.ask_prices else None

    def side(self, yes_side: str):
        if yes_side == BUY:
            return self.bids, self.bid_prices, self.bid_total
        return self.asks, self.ask_prices, self.ask_total

    def add(self, order: SimOrder) -> Decimal:
        levels, prices, totals = self.side(order.yes_side)
        p = order.yes_price
        queue = levels.get(p)
        if queue is None:
            levels[p] = queue = deque()
            insort(prices, p)
            totals[p] = ZERO
        queue.append(order)
        totals[p] += order.remaining
        self.version += 1
        return totals[p]

    def remove(self, order: SimOrder) -> Decimal:
        levels, prices, totals = self.side(order.yes_side)
        p = order.yes_price
        queue = levels[p]
        queue.remove(order)
        totals[p] -= order.remaining
        self.version += 1
        if not queue:
            del levels[p], totals[p]
            prices.remove(p)
            return ZERO
        return totals[p]

    def fillable(self, yes_side: str, limit: Decimal) -> Decimal:
        """Shares available to a taker on ``yes_side`` at ``limit`` or better."""
        total = ZERO
        if yes_side == BUY:
            for p in self.ask_prices:
                if p > limit:
                    break
                total += self.ask_total[p]
        else:
            for p in reversed(self.bid_prices):
                if p < limit:
                    break
                total += self.bid_total[p]
        return total

    def taker_levels(self, taker: SimOrder) -> list[tuple[Decimal, Decimal]]:
        """``(price, size)`` a taker reaches, best first, priced in the taker's token."""
        if taker.yes_side == BUY:
            return [(p, self.ask_total[p]) for p in self.ask_prices]
        return [(ONE - p, self.bid_total[p]) for p in reversed(self.bid_prices)]

    def orders(self) -> Iterable[SimOrder]:
        for queue in list(self.bids.values()) + list(self.asks.values()):
            yield from list(queue)

    def token_levels(self, is_yes: bool) -> tuple[list, list]:
        """(bids, asks) as (price, size) in one token's terms, both in the REST ``/book`` order:
        bids ascending, asks descending (best LAST)."""
        if is_yes:
            bids = [(p, self.bid_total[p]) for p in self.bid_prices]
            asks = [(p, self.ask_total[p]) for p in reversed(self.ask_prices)]
        else:  # NO bids are YES asks at 1-p; ascending NO price = descending YES price
            bids = [(ONE - p, self.ask_total[p]) for p in reversed(self.ask_prices)]
            asks = [(ONE - p, self.bid_total[p]) for p in self.bid_prices]
        return bids, asks

    def reachable_makers(self, taker_yes_side: str, limit: Decimal) -> list[SimOrder]:
        """Resting orders a taker on ``taker_yes_side`` could reach at ``limit``, in ascending
        price order and FIFO within a level (a snapshot: safe to cancel while iterating)."""
        prices = self.ask_prices if taker_yes_side == BUY else self.bid_prices
        levels = self.asks if taker_yes_side == BUY else self.bids
        reach = [p for p in prices if (p <= limit if taker_yes_side == BUY else p >= limit)]
        return [o for p in reach for o in levels.get(p, ())]
