"""The exchange's outbound events: market-channel and user-channel messages to its listeners.

Every book change emits a ``price_change`` with mirrored entries for both tokens (reference 2.3)
and ``best_bid_ask`` for both tokens when the top moved; a trade also emits ``last_trade_price``
and a ``book`` for both tokens. User-channel order and trade events go to every party's API key
except the internal (background) owners. Listeners are called under the exchange lock and must
only enqueue; a failing listener is counted and logged, never allowed to break matching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from pmbot.sim import payloads
from pmbot.sim.markets import SimMarket
from pmbot.sim.matching import SimTrade
from pmbot.sim.orderbook import SimOrder, UnifiedBook

log = logging.getLogger(__name__)

Listener = Callable[[str, str, dict], None]  # (channel "market" | "user", key, message)


class Publisher:
    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.internal_owners: set[str] = set()
        self.listener_errors = 0

    def emit(self, channel: str, key: str, message: dict) -> None:
        for fn in self.listeners:
            try:
                fn(channel, key, message)
            except Exception:  # a broken listener must not break matching
                self.listener_errors += 1
                log.exception("sim listener failed on %s message", channel)

    def level(
        self,
        market: SimMarket,
        book: UnifiedBook,
        yes_side: str,
        yes_price: Decimal,
        total: Decimal,
        now: float,
    ) -> None:
        """A price_change for one YES level, then best_bid_ask if the top moved."""
        self.emit(
            "market",
            market.condition_id,
            payloads.price_change_message(market, book, yes_side, yes_price, total, now),
        )
        self.top_if_changed(market, book, now)

    def top_if_changed(self, market: SimMarket, book: UnifiedBook, now: float) -> None:
        top = (book.best_bid(), book.best_ask())
        if top == book.last_top:
            return
        book.last_top = top
        for token, msg in payloads.best_bid_ask_messages(market, book, now):
            self.emit("market", token, msg)

    def order_event(self, order: SimOrder, kind: str, now: float) -> None:
        if order.owner in self.internal_owners or not self.listeners:
            return
        self.emit("user", order.owner, payloads.order_event(order, kind, now))

    def trade_event(self, trade: SimTrade, now: float) -> None:
        if not self.listeners:
            return
        for owner in trade.owners():
            if owner not in self.internal_owners:
                self.emit("user", owner, payloads.trade_event(trade, owner, now))

    def trade_market_messages(
        self, market: SimMarket, book: UnifiedBook, trade: SimTrade, now: float
    ) -> None:
        """``last_trade_price`` on the taker's token, then a fresh ``book`` for both tokens."""
        taker = trade.taker
        self.emit(
            "market",
            taker.token_id,
            payloads.last_trade_price_message(
                market,
                taker,
                trade.last_fill_price(),
                trade.size,
                trade.fee_rate_bps,
                trade.tx_hash,
                now,
            ),
        )
        for token in market.tokens:
            snap = payloads.book_snapshot(market, book, token, now)
            snap["event_type"] = "book"
            self.emit("market", token, snap)
