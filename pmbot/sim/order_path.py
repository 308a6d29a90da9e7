"""The one order path of the simulated CLOB: checks, matching, resting, cancels, settlement.

Every order goes through :meth:`OrderPath.submit` (the wire's, the background traders', the
paper mirror's): the venue's checks in the venue's order (``order_checks``), price-time matching
(``matching``), a GTC/GTD remainder rests and reserves funds, an FAK remainder is killed. Each
trade settles MATCHED -> MINED -> CONFIRMED on the exchange's clock, or ends FAILED (a
configurable share) and the ledger is reversed. GTD orders are cancelled at their expiration.
Runs under the exchange's lock (the caller holds it); events go out through the ``Publisher``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from decimal import Decimal

from pmbot.sim import payloads
from pmbot.sim.front_run import FrontRun
from pmbot.sim.ledger import Ledger
from pmbot.sim.markets import SimConfig, SimMarket
from pmbot.sim.matching import SimTrade, match, new_trade
from pmbot.sim.order_checks import (
    FOK_KILLED,
    SimReject,
    check_after_fok,
    check_funds,
    check_rules,
)
from pmbot.sim.orderbook import BUY, CANCELED, MATCHED, MICRO, ONE, SELL, SimOrder, UnifiedBook
from pmbot.sim.publisher import Publisher
from pmbot.sim.records import Records
from pmbot.sim.timers import DueQueue
from pmbot.venue.market_orders import sweep_market_buy

log = logging.getLogger(__name__)


class OrderPath:
    """Shares the exchange's market table, books, ledger, records and publisher."""

    def __init__(
        self,
        config: SimConfig,
        *,
        markets: dict[str, SimMarket],
        token_market: dict[str, str],
        books: dict[str, UnifiedBook],
        ledger: Ledger,
        records: Records,
        publisher: Publisher,
        rng: random.Random,
        fail_share: Callable[[], Decimal],
    ) -> None:
        self._config = config
        self._markets = markets
        self._token_market = token_market
        self._books = books
        self._ledger = ledger
        self._records = records
        self._publisher = publisher
        self._rng = rng
        self._fail_share = fail_share
        self.front_run = FrontRun()
        self._settle_queue: DueQueue[tuple[str, str]] = DueQueue()  # (trade id, next status)
        self._expiry_queue: DueQueue[str] = DueQueue()  # GTD order ids
        self._seq = 0

    def submit(
        self,
        *,
        owner: str,
        address: str,
        token_id: str,
        side: str,
        price: Decimal,
        size: Decimal,
        order_type: str,
        post_only: bool,
        order_id: str,
        expiration: int,
        now: float,
        budget: Decimal | None = None,
    ) -> dict:
        """Checks in venue order, then match, then rest; returns the ``POST /order`` answer.
        Background traders call this too, so their orders produce the same events. ``budget``:
        a market BUY's pUSD (it fills by amount, see ``matching.match``)."""
        market = self._markets[self._token_market[token_id]]
        book = self._books[market.condition_id]
        check_rules(
            market,
            order_id=order_id,
            duplicate=self._records.has_order(order_id),
            price=price,
            size=size,
            order_type=order_type,
            post_only=post_only,
            expiration=expiration,
            now=now,
        )
        check_funds(
            self._ledger.account(address),
            market,
            token_id=token_id,
            side=side,
            price=price,
            size=size if budget is None else budget / price,
            post_only=post_only,
        )
        order = self._new_order(owner, address, market, token_id, side, price, size)
        order.id, order.order_type, order.created_at = order_id, order_type, int(now)
        order.budget = budget
        order.expiration = expiration if order_type == "GTD" else 0
        marketable, cap = self._liquidity(book, order, post_only, now)
        return self._execute(market, book, order, marketable, cap, now)

    def _liquidity(
        self, book: UnifiedBook, order: SimOrder, post_only: bool, now: float
    ) -> tuple[bool, Decimal | None]:
        """The checks against the book: post-only crossing, FOK, FAK, the $1 minimum. Returns
        whether the order is marketable and the front_run knob's cap on it."""
        yes_side, yes_price, size = order.yes_side, order.yes_price, order.original_size
        best = book.best_ask() if yes_side == BUY else book.best_bid()
        marketable = best is not None and (
            best <= yes_price if yes_side == BUY else best >= yes_price
        )
        if post_only and marketable:
            raise SimReject(400, "invalid post-only order: order crosses book")
        cap = None
        if marketable:
            internal = order.owner in self._publisher.internal_owners
            cap = self.front_run.take(order.token_id, order.order_type, internal)
        if order.order_type == "FOK" and (not marketable or not self._fok_fills(book, order, cap)):
            if cap is not None:
                self.sweep_makers(book, yes_side, yes_price, now)
            raise SimReject(400, FOK_KILLED)
        check_after_fok(
            order_type=order.order_type,
            side=order.side,
            price=order.price,
            size=size if order.budget is None else order.budget / order.price,
            marketable=marketable,
        )
        return marketable, cap

    @staticmethod
    def _fok_fills(book: UnifiedBook, order: SimOrder, cap: Decimal | None) -> bool:
        """Whether the book fills the whole FOK: its size, or a market BUY's whole pUSD."""
        size = order.original_size
        if order.budget is None:
            return min(book.fillable(order.yes_side, order.yes_price), cap or size) >= size
        sweep = sweep_market_buy(book.taker_levels(order), order.budget, order.price)
        return sweep.spent > order.budget - order.price * MICRO and (
            cap is None or sweep.shares <= cap
        )

    def _new_order(
        self,
        owner: str,
        address: str,
        market: SimMarket,
        token_id: str,
        side: str,
        price: Decimal,
        size: Decimal,
    ) -> SimOrder:
        """A new order record; the caller sets its id, type, creation time and expiration."""
        is_yes = token_id == market.yes_token
        self._seq += 1
        return SimOrder(
            id="",
            owner=owner,
            address=address.lower(),
            market=market.condition_id,
            token_id=token_id,
            outcome="Yes" if is_yes else "No",
            is_yes=is_yes,
            side=side,
            price=price,
            original_size=size,
            order_type="",
            expiration=0,
            created_at=0,
            seq=self._seq,
            yes_side=side if is_yes else (SELL if side == BUY else BUY),
            yes_price=price if is_yes else ONE - price,
        )

    def _execute(
        self,
        market: SimMarket,
        book: UnifiedBook,
        order: SimOrder,
        marketable: bool,
        cap: Decimal | None,
        now: float,
    ) -> dict:
        """An accepted order: match what crosses, rest a GTC/GTD remainder, kill an FAK's."""
        self._records.add_order(order)
        self._publisher.order_event(order, "PLACEMENT", now)
        trade = self._match(market, book, order, now, cap=cap) if marketable else None
        if cap is not None:
            self.sweep_makers(book, order.yes_side, order.yes_price, now)
        if order.remaining == 0:
            order.status = MATCHED
        if trade is not None:
            self._publisher.order_event(order, "UPDATE", now)
        if order.remaining > 0 and order.order_type in ("GTC", "GTD"):
            self._rest(market, book, order, now)
        elif order.remaining > 0:  # FAK remainder is killed
            order.status = CANCELED
            self._publisher.order_event(order, "CANCELLATION", now)
        if not order.resting:
            self._records.finish(order, now)
        if trade is not None:
            self._after_trade(market, book, trade, now)
        return payloads.place_response(order, trade)

    def _rest(self, market: SimMarket, book: UnifiedBook, order: SimOrder, now: float) -> None:
        self._ledger.reserve(order)
        order.resting = True
        self._records.rest(order)
        total = book.add(order)
        if order.expiration:
            self._expiry_queue.push(order.expiration, order.id)
        self._publisher.level(market, book, order.yes_side, order.yes_price, total, now)

    def _match(
        self,
        market: SimMarket,
        book: UnifiedBook,
        taker: SimOrder,
        now: float,
        cap: Decimal | None = None,
    ) -> SimTrade | None:
        """Match ``taker`` (see ``matching.match``), emitting the makers' user-channel updates and a
        price_change per level as it goes; ``cap`` is the front_run knob."""

        def maker_filled(maker: SimOrder) -> None:
            if maker.remaining == 0:
                self._records.finish(maker, now)
            self._publisher.order_event(maker, "UPDATE", now)

        return match(
            self._ledger,
            market,
            book,
            taker,
            cap=cap,
            start_trade=lambda yes_price: new_trade(
                market, taker, yes_price, now, self._rng, self._fail_share()
            ),
            on_maker_filled=maker_filled,
            on_level_changed=lambda side, level, total: self._publisher.level(
                market, book, side, level, total, now
            ),
        )

    def _after_trade(
        self, market: SimMarket, book: UnifiedBook, trade: SimTrade, now: float
    ) -> None:
        self._records.add_trade(trade)
        self._publisher.trade_event(trade, now)
        book.last_trade_yes = trade.last_yes_price()
        self._publisher.trade_market_messages(self._markets[market.condition_id], book, trade, now)
        next_status = "FAILED" if trade.will_fail else "MINED"
        self._settle_queue.push(now + self._config.settle_mined_secs, (trade.id, next_status))

    # ------------------------------------------------------------------ cancels

    def cancel(self, order: SimOrder, now: float) -> None:
        """Take a resting order off the book."""
        market = self._markets[order.market]
        book = self._books[order.market]
        total = book.remove(order)
        self._ledger.release(order, order.remaining)
        order.status = CANCELED
        order.resting = False
        self._records.finish(order, now)
        self._publisher.order_event(order, "CANCELLATION", now)
        self._publisher.level(market, book, order.yes_side, order.yes_price, total, now)

    def _settle(self, trade: SimTrade, status: str, now: float) -> None:
        trade.status = status
        trade.last_update = now
        if status == "FAILED":
            self._ledger.reverse(trade.deltas)
            log.info("trade %s FAILED; ledger reversed", trade.id)
        elif status == "MINED":
            cfg = self._config
            due = trade.matched_at + max(cfg.settle_confirmed_secs, cfg.settle_mined_secs)
            self._settle_queue.push(due, (trade.id, "CONFIRMED"))
        self._records.trade_settled(trade, now)
        self._publisher.trade_event(trade, now)

    def sweep_makers(
        self, book: UnifiedBook, taker_yes_side: str, limit: Decimal, now: float
    ) -> None:
        """Cancel the internal makers' orders a taker on ``taker_yes_side`` could reach at
        ``limit`` (the front_run knob: the liquidity was taken by somebody faster)."""
        for order in book.reachable_makers(taker_yes_side, limit):
            if order.owner in self._publisher.internal_owners:
                self.cancel(order, now)

    # ------------------------------------------------------------------ time

    def run_timers(self, now: float) -> None:
        """GTD expiry and trade settlement due by ``now``."""
        for oid in self._expiry_queue.pop_due(now):
            order = self._records.order(oid)
            if order is not None and order.resting:
                self.cancel(order, now)
        for tid, status in self._settle_queue.pop_due(now):
            trade = self._records.trade(tid)
            if trade is not None:
                self._settle(trade, status, now)
        self._expiry_queue.compact(self._is_resting)

    def _is_resting(self, order_id: str) -> bool:
        order = self._records.order(order_id)
        return order is not None and order.resting
