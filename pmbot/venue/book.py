"""Local L2 order book for one token, maintained from the market channel.

Why a sorted price list next to a dict: ``price_change`` sets a level's *total* size (``0`` deletes,
protocol 2.3) and arrives tens of thousands of times a second, while readers want the top and the
first few levels. A dict gives O(1) level updates; the ascending price list (maintained with
``bisect``, touched only when a level appears or disappears) gives the best price and the first N
levels without sorting. Venue quirk: REST and WS books list bids ascending and asks descending (best
LAST), while older docs say the opposite, so ``apply_snapshot`` never trusts the order it is given.

Prices and sizes are ``Decimal`` (exact; ``Decimal("0.5") == Decimal("0.50")`` and they hash alike,
so differently formatted venue prices land on the same level).

Not thread-safe: one thread writes a book (its connection's thread, under its shard's lock).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from decimal import Decimal

from pmbot.model import Side

_ZERO = Decimal(0)


class OrderBook:
    """One token's book. ``bids``/``asks`` map price -> total size (both Decimal)."""

    __slots__ = ("token_id", "tick", "last_trade_price", "_bids", "_asks", "_bid_px", "_ask_px")

    def __init__(self, token_id: str = "", tick: Decimal | None = None) -> None:
        self.token_id = token_id
        self.tick = tick
        self.last_trade_price: Decimal | None = None
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._bid_px: list[Decimal] = []  # ascending; best bid is the last element
        self._ask_px: list[Decimal] = []  # ascending; best ask is the first element

    # ------------------------------------------------------------------ writes

    def apply_snapshot(self, bids: Iterable, asks: Iterable, tick: Decimal | None = None) -> None:
        """Replace both sides. ``bids``/``asks`` are (price, size) pairs in any order; size 0 is
        skipped; a price listed twice keeps its last size."""
        self._bids = {p: s for p, s in bids if s > _ZERO}
        self._asks = {p: s for p, s in asks if s > _ZERO}
        self._bid_px = sorted(self._bids)
        self._ask_px = sorted(self._asks)
        if tick is not None:
            self.tick = tick

    def set_level(self, side: Side, price: Decimal, size: Decimal) -> None:
        """Set the total size at ``price`` on ``side`` (BUY = bids); size 0 deletes the level."""
        if side is Side.BUY:
            levels, prices = self._bids, self._bid_px
        else:
            levels, prices = self._asks, self._ask_px
        if size > _ZERO:
            if price not in levels:
                insort(prices, price)
            levels[price] = size
        elif price in levels:
            del levels[price]
            del prices[bisect_left(prices, price)]

    def clear(self) -> None:
        self.apply_snapshot((), ())

    # ------------------------------------------------------------------ reads

    @property
    def best_bid(self) -> Decimal | None:
        return self._bid_px[-1] if self._bid_px else None

    @property
    def best_ask(self) -> Decimal | None:
        return self._ask_px[0] if self._ask_px else None

    @property
    def best_bid_size(self) -> Decimal:
        return self._bids[self._bid_px[-1]] if self._bid_px else _ZERO

    @property
    def best_ask_size(self) -> Decimal:
        return self._asks[self._ask_px[0]] if self._ask_px else _ZERO

    def size_at(self, side: Side, price: Decimal) -> Decimal:
        levels = self._bids if side is Side.BUY else self._asks
        return levels.get(price, _ZERO)

    def depth(self, side: Side) -> int:
        return len(self._bid_px) if side is Side.BUY else len(self._ask_px)

    def levels(self, side: Side, n: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """Up to ``n`` levels of ``side``, best first (bids descending, asks ascending)."""
        if side is Side.BUY:
            prices = self._bid_px if n is None else self._bid_px[-n:] if n > 0 else []
            levels = self._bids
            return [(p, levels[p]) for p in reversed(prices)]
        prices = self._ask_px if n is None else self._ask_px[:n]
        levels = self._asks
        return [(p, levels[p]) for p in prices]

    def within_top(self, side: Side, price: Decimal, n: int) -> bool:
        """True if ``price`` is at or better than the n-th best level of ``side`` (or the side has
        fewer than n levels): a change there is visible in an n-level MarketUpdate."""
        if side is Side.BUY:
            prices = self._bid_px
            return len(prices) < n or price >= prices[-n]
        prices = self._ask_px
        return len(prices) < n or price <= prices[n - 1]

    def snapshot(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids, asks), each best first."""
        return self.levels(Side.BUY), self.levels(Side.SELL)

    def top_matches(self, best_bid: Decimal | None, best_ask: Decimal | None) -> bool:
        """Compare with a message's reported top. ``None`` means that side is empty (the parser maps
        the venue's empty-side markers ``"0"`` bid / ``"1"`` ask / ``""`` to None)."""
        return self.best_bid == best_bid and self.best_ask == best_ask

    def __len__(self) -> int:
        return len(self._bid_px) + len(self._ask_px)

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.token_id[:12]!r}, bid={self.best_bid}x{self.best_bid_size}, "
            f"ask={self.best_ask}x{self.best_ask_size}, levels={len(self)}, tick={self.tick})"
        )
