"""Fill model: when would the venue have filled the bot's orders on the replayed book?

Everything is in YES terms on the market's one unified book (protocol 6.1): a BUY YES at p is a bid
at p, a SELL YES at p an ask at p, a BUY NO at q an ask at 1 - q, a SELL NO at q a bid at 1 - q.

* **Latency.** An order rests ``place_latency_ms`` after the decision; a cancel takes effect
  ``cancel_latency_ms`` after it was sent. Fills in between still happen (the cancel loses).
* **Post-only quotes** that would cross the book when they arrive are rejected (as the venue does).
  Otherwise they join the back of their price level: ``queue_ahead`` = the replayed size there.
* **Queue.** Trades at the order's price consume ``queue_ahead`` first; once it is exhausted the
  rest of the trade fills the order. Size that leaves the level without a trade is a cancel by
  someone else: ``worst`` assumes it was behind us (queue ahead only shrinks to the level size),
  ``pro_rata`` takes it from ahead of us in proportion to the queue ahead.
* **Trade through.** A trade at a worse price than the order (a taker sold below our bid), or the
  opposite side of the book reaching our price, fills the whole remaining order at its price.
* **Takers** (``post_only=False``: arbitrage legs, FOK/FAK) take the replayed depth up to their
  limit when they arrive, paying the venue's fee ``shares * rate * p * (1 - p)`` (5 decimals), with
  the market-order rules: a BUY spends ``size * limit`` pUSD (so better levels return more shares),
  FOK fills entirely or not at all, FAK takes what is there (the rest is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ONE, ZERO, MarketInfo, OrderType, Side, round_down
from pmbot.strategy.views import DesiredOrder
from pmbot.trading.fills import round_fee, taker_fee
from pmbot.venue.book import OrderBook

BID, ASK = Side.BUY, Side.SELL  # the YES-book side an order rests on
CENT = Decimal("0.01")  # market BUY amounts (pUSD) have 2 decimals
SHARE_STEP = Decimal("0.0001")  # ... and their share amounts 4 (protocol section 10.1)
TRADE_CREDIT_MS = 1000  # a trade explains the level's shrinking for this long


@dataclass(slots=True)
class SimOrder:
    order_id: str
    order: DesiredOrder
    book_side: Side  # BID or ASK of the YES book
    yes_price: Decimal
    remaining: Decimal
    active_at_ms: int
    cancel_at_ms: int | None = None
    queue_ahead: Decimal = ZERO
    level_seen: Decimal = ZERO  # the level's size (others only) when last looked at
    live: bool = False  # resting (past its latency)


@dataclass(frozen=True, slots=True)
class SimFill:
    order_id: str
    order: DesiredOrder
    t_ms: int
    price: Decimal  # in the order's own token terms
    size: Decimal
    fee: Decimal
    is_maker: bool
    notional: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """A replayed trade in YES terms: ``size`` at ``yes_price`` hitting ``book_side``."""

    yes_price: Decimal
    size: Decimal
    book_side: Side  # BID: a taker sold YES (hit the bids); ASK: a taker bought YES


def yes_terms(o: DesiredOrder, market: MarketInfo) -> tuple[Side, Decimal]:
    if o.token_id == market.yes_token:
        return (BID if o.side is Side.BUY else ASK), o.price
    return (ASK if o.side is Side.BUY else BID), ONE - o.price


def _better_or_equal(side: Side, a: Decimal, b: Decimal) -> bool:
    """Is ``a`` at least as aggressive as ``b`` for a resting order on ``side``?"""
    return a >= b if side is BID else a <= b


class FillModel:
    def __init__(
        self,
        market: MarketInfo,
        *,
        queue_mode: str = "pro_rata",
        place_latency_ms: int = 0,
        cancel_latency_ms: int = 0,
    ) -> None:
        if queue_mode not in ("pro_rata", "worst"):
            raise ValueError(f"queue_mode must be pro_rata or worst, not {queue_mode!r}")
        self.market = market
        self.queue_mode = queue_mode
        self.place_latency_ms = place_latency_ms
        self.cancel_latency_ms = cancel_latency_ms
        self.orders: dict[str, SimOrder] = {}
        self.rejected = 0
        self.placed = 0
        self.due_ms: int | None = None  # earliest pending arrival or cancel (None: nothing due)
        # traded size per YES level not yet seen leaving the book, with the trade's time
        self._traded: dict[tuple[Side, Decimal], tuple[Decimal, int]] = {}

    # ------------------------------------------------------------------ commands

    def place(self, order_id: str, o: DesiredOrder, t_ms: int) -> None:
        side, px = yes_terms(o, self.market)
        so = SimOrder(order_id, o, side, px, o.size, t_ms + self.place_latency_ms)
        self.orders[order_id] = so
        self.placed += 1
        self._due(so.active_at_ms)

    def cancel(self, order_id: str, t_ms: int) -> None:
        so = self.orders.get(order_id)
        if so is not None and so.cancel_at_ms is None:
            so.cancel_at_ms = t_ms + self.cancel_latency_ms
            self._due(so.cancel_at_ms)

    def _due(self, t_ms: int) -> None:
        if self.due_ms is None or t_ms < self.due_ms:
            self.due_ms = t_ms

    def next_due_ms(self) -> int | None:
        times = [o.active_at_ms for o in self.orders.values() if not o.live]
        times += [o.cancel_at_ms for o in self.orders.values() if o.cancel_at_ms is not None]
        return min(times) if times else None

    # ------------------------------------------------------------------ time and market data

    def advance(self, t_ms: int, book: OrderBook) -> list[SimFill]:
        """Arrivals and cancels due by ``t_ms``, in time order (ties: arrivals first)."""
        fills: list[SimFill] = []
        while True:
            due = self.due_ms = self.next_due_ms()
            if due is None or due > t_ms:
                return fills
            for so in sorted(self.orders.values(), key=lambda o: o.order_id):
                if not so.live and so.active_at_ms == due:
                    fills.extend(self._arrive(so, due, book))
            for so in list(self.orders.values()):
                if so.cancel_at_ms == due:
                    del self.orders[so.order_id]

    def on_book(self, t_ms: int, book: OrderBook, trades: list[Trade]) -> list[SimFill]:
        """After a replayed event: trades consume queues; level changes move queue positions."""
        fills: list[SimFill] = []
        credits = self._traded
        for key in [k for k, (_s, t) in credits.items() if t_ms - t > TRADE_CREDIT_MS]:
            del credits[key]
        for tr in trades:
            key = (tr.book_side, tr.yes_price)
            credits[key] = (credits.get(key, (ZERO, 0))[0] + tr.size, t_ms)
            for so in self._resting():
                fills.extend(self._on_trade(so, tr, t_ms))
        before = dict(credits)  # every order at a level sees the same trade credit
        for so in self._resting():
            fills.extend(self._on_level(so, book, t_ms, before))
        return fills

    # ------------------------------------------------------------------ internals

    def _resting(self) -> list[SimOrder]:
        return [o for o in sorted(self.orders.values(), key=lambda o: o.order_id) if o.live]

    def _arrive(self, so: SimOrder, t_ms: int, book: OrderBook) -> list[SimFill]:
        o = so.order
        if not o.post_only:
            del self.orders[so.order_id]
            return self._take(so, t_ms, book)
        opposite = book.best_ask if so.book_side is BID else book.best_bid
        if opposite is not None and _better_or_equal(so.book_side, so.yes_price, opposite):
            del self.orders[so.order_id]  # post-only would cross: the venue rejects it
            self.rejected += 1
            return []
        so.live = True
        so.level_seen = book.size_at(so.book_side, so.yes_price)
        so.queue_ahead = so.level_seen
        return []

    def _take(self, so: SimOrder, t_ms: int, book: OrderBook) -> list[SimFill]:
        """Walk the opposite side up to the limit, with the venue's market-order rules: a BUY
        spends its pUSD amount (size x limit, 2 decimals; shares to 4 decimals), so better levels
        give more shares; a SELL sells its shares. FOK: all or nothing; FAK: what is there."""
        o = so.order
        yes_token = o.token_id == self.market.yes_token
        buy = o.side is Side.BUY
        budget = round_down(o.size * o.price, CENT)  # pUSD a BUY may spend
        left = so.remaining  # shares a SELL may sell
        got: list[tuple[Decimal, Decimal]] = []  # (own-terms price, shares)
        for px, size in book.levels(ASK if so.book_side is BID else BID):
            if not _better_or_equal(so.book_side, so.yes_price, px):
                break
            own = px if yes_token else ONE - px
            want = round_down(budget / own, SHARE_STEP) if buy else left
            take = min(size, want)
            if take <= ZERO:
                break
            got.append((own, take))
            budget -= take * own
            left -= take
        complete = budget < CENT if buy else left <= ZERO
        if not got or (o.order_type is OrderType.FOK and not complete):
            self.rejected += 1
            return []
        return [
            SimFill(
                so.order_id,
                o,
                t_ms,
                own,
                size,
                round_fee(taker_fee(size, own, self.market.fee_rate)),
                False,
                own * size,
            )
            for own, size in got
        ]

    def _fill(self, so: SimOrder, size: Decimal, t_ms: int) -> list[SimFill]:
        size = min(size, so.remaining)
        if size <= ZERO:
            return []
        so.remaining -= size
        if so.remaining <= ZERO:
            del self.orders[so.order_id]
        px = so.order.price
        return [SimFill(so.order_id, so.order, t_ms, px, size, ZERO, True, px * size)]

    def _on_trade(self, so: SimOrder, tr: Trade, t_ms: int) -> list[SimFill]:
        if so.order_id not in self.orders or tr.book_side is not so.book_side:
            return []
        if tr.yes_price == so.yes_price:
            left = tr.size - so.queue_ahead
            so.queue_ahead = max(ZERO, so.queue_ahead - tr.size)
            return self._fill(so, left, t_ms) if left > ZERO else []
        if _better_or_equal(so.book_side, so.yes_price, tr.yes_price):
            return self._fill(so, so.remaining, t_ms)  # traded through our price
        return []

    def _on_level(self, so: SimOrder, book: OrderBook, t_ms: int, credits: dict) -> list[SimFill]:
        if so.order_id not in self.orders:
            return []
        opposite = book.best_ask if so.book_side is BID else book.best_bid
        if opposite is not None and _better_or_equal(so.book_side, so.yes_price, opposite):
            return self._fill(so, so.remaining, t_ms)  # the other side reached us: crossed
        now = book.size_at(so.book_side, so.yes_price)
        gone = so.level_seen - now
        key = (so.book_side, so.yes_price)
        credit = credits.get(key)
        if gone > ZERO and credit is not None:  # the part a replayed trade explains is no cancel
            explained = min(gone, credit[0])
            gone -= explained
            left = self._traded.get(key, credit)[0]
            self._traded[key] = (min(left, credit[0] - explained), credit[1])
        pro_rata = self.queue_mode == "pro_rata" and so.level_seen > ZERO
        if gone > ZERO and so.queue_ahead > ZERO and pro_rata:  # cancels by others
            so.queue_ahead -= gone * so.queue_ahead / so.level_seen
        so.queue_ahead = max(ZERO, min(so.queue_ahead, now))
        so.level_seen = now
        return []
