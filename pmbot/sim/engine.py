"""The simulated CLOB: the public API the sim's server, traders and tests call.

``Exchange`` owns the markets, one unified YES book per condition (``orderbook``), the ledger
(``ledger``), the orders and trades with their retention (``records``), and ties together the
order path (``order_checks`` then ``matching``), cancels, GTD expiry, settlement MATCHED -> MINED
-> CONFIRMED (a configurable share ends FAILED and the ledger is reversed), queries and the
outbound events (``publisher``); the test knobs are in ``knobs``, exposed here as methods.

Money is exact: ``Decimal`` everywhere, amounts from the wire are integers in 1e-6 units.
Thread safety: one ``RLock`` (``lock``) taken by every public method; listeners are called under
it and must only enqueue. Methods documented "lock held" are for the sim's own collaborators
(background traders, knobs) that already hold it.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Concatenate, ParamSpec, TypeVar

from pmbot.sim import knobs, payloads
from pmbot.sim.ledger import Account, Ledger
from pmbot.sim.markets import SimConfig, SimEvent, SimMarket
from pmbot.sim.order_checks import (
    SimReject,
    parse_wire_order,
    wire_terms,
)
from pmbot.sim.order_path import OrderPath
from pmbot.sim.orderbook import MATCHED, ONE, ZERO, SimOrder, UnifiedBook
from pmbot.sim.publisher import Listener, Publisher
from pmbot.sim.records import RecordCounts, Records

__all__ = ["Exchange", "SimReject", "Listener", "RecordCounts"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def _locked(fn: Callable[Concatenate[Exchange, P], R]) -> Callable[Concatenate[Exchange, P], R]:
    @functools.wraps(fn)
    def wrapper(self: Exchange, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return fn(self, *args, **kwargs)

    return wrapper


class Exchange:
    """The simulated CLOB. See the module docstring; the server calls only public methods."""

    def __init__(
        self,
        config: SimConfig,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._clock = clock
        self.rng = rng if rng is not None else random.Random(config.seed)
        self.trade_fail_share: Decimal = config.trade_fail_share
        self.markets: dict[str, SimMarket] = {}
        self.events: dict[str, SimEvent] = {e.slug: e for e in config.events}
        self._token_market: dict[str, str] = {}
        self._books: dict[str, UnifiedBook] = {}
        self._ledger = Ledger(config.initial_balance)
        self._records = Records(config.retention_secs)
        self._publisher = Publisher()
        self._path = OrderPath(
            config,
            markets=self.markets,
            token_market=self._token_market,
            books=self._books,
            ledger=self._ledger,
            records=self._records,
            publisher=self._publisher,
            rng=self.rng,
            fail_share=lambda: self.trade_fail_share,
        )
        self.submit = self._path.submit  # the order path, for the background traders (lock held)
        self.cancel = self._path.cancel  # take a resting order off the book (lock held)
        for m in config.markets:
            self.register_market(m)
        from pmbot.sim.traders import BackgroundTraders  # traders import this module

        self.traders = BackgroundTraders(self, config, random.Random(config.seed * 7919 + 1))
        if config.background:
            with self.lock:
                self.traders.seed_ladders(self._clock())

    # ------------------------------------------------------------------ markets

    def register_market(self, market: SimMarket) -> None:
        """Add a market's table entries and an empty book (lock held; see ``add_market``)."""
        if market.condition_id in self.markets:
            raise ValueError(f"duplicate market {market.condition_id}")
        self.markets[market.condition_id] = market
        self._token_market[market.yes_token] = market.condition_id
        self._token_market[market.no_token] = market.condition_id
        self._books[market.condition_id] = UnifiedBook()

    @_locked
    def market_of_token(self, token_id: str) -> SimMarket:
        return self.markets[self._token_market[token_id]]

    def has_token(self, token_id: str) -> bool:
        return token_id in self._token_market

    @_locked
    def tick_size(self, token_id: str) -> Decimal:
        return self.market_of_token(token_id).tick

    @_locked
    def add_market(self, market: SimMarket, *, background: bool = False) -> SimMarket:
        """Add a market at runtime; emits ``new_market`` (see ``knobs.add_market``)."""
        return knobs.add_market(self, market, background)

    @_locked
    def set_tick_size(self, token_id: str, tick: Decimal) -> None:
        knobs.set_tick_size(self, token_id, tick)

    @_locked
    def set_trade_fail_share(self, share: Decimal) -> None:
        """Share of NEW trades that end FAILED instead of MINED (the ledger is reversed)."""
        share = Decimal(str(share))
        if not ZERO <= share <= ONE:
            raise ValueError("trade_fail_share must be in [0, 1]")
        self.trade_fail_share = share

    @_locked
    def front_run(self, token_id: str, max_size: Decimal, count: int = 1) -> None:
        """Test knob: the next ``count`` FOK/FAK orders of outside owners on ``token_id`` find
        only ``max_size`` shares (see ``front_run``); ``count`` 0 clears it."""
        if token_id not in self._token_market:
            raise KeyError(token_id)
        self._path.front_run.arm(token_id, Decimal(str(max_size)), int(count))

    @_locked
    def set_frozen(self, condition_id: str, frozen: bool) -> None:
        if condition_id not in self.markets:
            raise KeyError(condition_id)
        (self.traders.frozen.add if frozen else self.traders.frozen.discard)(condition_id)

    @_locked
    def set_book(
        self, token_id: str, bids: knobs.Levels, asks: knobs.Levels, *, freeze: bool = True
    ) -> None:
        """Replace the background makers' ladder on the token's market (see ``knobs``)."""
        knobs.set_book(self, token_id, bids, asks, freeze)

    @_locked
    def resolve_market(self, condition_id: str, yes_wins: bool) -> None:
        """Close the market and redeem every position (see ``knobs.resolve_market``)."""
        knobs.resolve_market(self, condition_id, yes_wins)

    def book(self, condition_id: str) -> UnifiedBook:
        """The unified YES book of a condition (lock held)."""
        return self._books[condition_id]

    def now(self) -> float:
        return self._clock()

    # ------------------------------------------------------------------ listeners

    def add_listener(self, fn: Listener) -> None:
        with self.lock:
            self._publisher.listeners.append(fn)

    @property
    def internal_owners(self) -> set[str]:
        """Owners (background traders, the paper mirror) that get no user-channel events."""
        return self._publisher.internal_owners

    @property
    def listener_errors(self) -> int:
        return self._publisher.listener_errors

    def emit(self, channel: str, key: str, message: dict) -> None:
        """Send a message to every listener (lock held)."""
        self._publisher.emit(channel, key, message)

    # ------------------------------------------------------------------ book views

    @_locked
    def book_snapshot(self, token_id: str) -> dict:
        """REST ``/book`` shape: bids ascending, asks descending (best LAST), the SDK's hash."""
        return self._snapshot(token_id, self._clock())

    @_locked
    def book_message(self, token_id: str) -> dict:
        """The market-channel ``book`` event for a token (what a subscriber gets first)."""
        snap = self._snapshot(token_id, self._clock())
        snap["event_type"] = "book"
        return snap

    def _snapshot(self, token_id: str, now: float) -> dict:
        market = self.markets[self._token_market[token_id]]
        return payloads.book_snapshot(market, self._books[market.condition_id], token_id, now)

    @_locked
    def top_of_book(self, token_id: str) -> tuple[Decimal | None, Decimal | None]:
        market = self.market_of_token(token_id)
        book = self._books[market.condition_id]
        bb, ba = book.best_bid(), book.best_ask()
        if token_id == market.yes_token:
            return bb, ba
        return (ONE - ba if ba is not None else None), (ONE - bb if bb is not None else None)

    # ------------------------------------------------------------------ accounts

    @property
    def fees_collected(self) -> Decimal:
        """Taker fees kept by the venue (FAILED trades give theirs back)."""
        return self._ledger.fees_collected

    def account(self, address: str) -> Account:
        """The ledger account of a funder address, created on first touch (lock held)."""
        return self._ledger.account(address)

    @_locked
    def balance(self, address: str) -> Decimal:
        return self.account(address).collateral

    @_locked
    def available(self, address: str) -> Decimal:
        acct = self.account(address)
        return acct.collateral - acct.reserved_collateral

    @_locked
    def position(self, address: str, token_id: str) -> Decimal:
        return self.account(address).positions.get(token_id, ZERO)

    @_locked
    def set_balance(self, address: str, amount: Decimal) -> None:
        self.account(address).collateral = Decimal(str(amount))

    @_locked
    def set_position(self, address: str, token_id: str, size: Decimal) -> None:
        knobs.set_position(self, address, token_id, size)

    def redeem(self, tokens: Iterable[str], winner: str) -> None:
        """Close every position in ``tokens``; the winner pays 1 a share (lock held)."""
        self._ledger.redeem(tokens, winner)

    @_locked
    def ledger(self, address: str) -> dict:
        return payloads.ledger_view(address, self.account(address))

    @_locked
    def audit(self) -> dict:
        """Totals across every account, for conservation checks: collateral, fees, and per token."""
        return self._ledger.audit()

    @_locked
    def positions(self, user: str) -> list[dict]:
        """Data API v1 ``/positions`` rows for a funder address (numbers are JSON numbers)."""
        acct = self.account(user)
        rows = []
        for token, size in acct.positions.items():
            if size == 0:
                continue
            market = self.markets[self._token_market[token]]
            bb, ba = self.top_of_book(token)
            if bb is not None and ba is not None:
                cur = (bb + ba) / 2
            else:
                cur = market.fair_value if token == market.yes_token else ONE - market.fair_value
            rows.append(payloads.position_row(user, market, acct, token, size, cur))
        return rows

    # ------------------------------------------------------------------ placing orders

    @_locked
    def place_order(
        self, owner: str, order: dict, *, order_type: str, post_only: bool, order_id: str
    ) -> dict:
        """Validate and execute a wire order (signature already checked by the server)."""
        wire = parse_wire_order(order, order_type)
        if wire.token_id not in self._token_market:
            raise SimReject(400, "Invalid order payload")
        return self.submit(
            owner=owner,
            order_type=order_type,
            post_only=post_only,
            order_id=order_id,
            now=self._clock(),
            **wire_terms(wire, self.market_of_token(wire.token_id).tick),
        )

    def _cancel_ids(self, owner: str, ids: Iterable[str], now: float) -> dict:
        canceled, not_canceled = [], {}
        for oid in ids:
            order = self._records.order(oid)
            if order is None or order.owner != owner:
                not_canceled[oid] = "order not found"
            elif order.resting:
                self.cancel(order, now)
                canceled.append(oid)
            elif order.status == MATCHED:
                not_canceled[oid] = "matched orders can't be canceled"
            else:
                not_canceled[oid] = "already canceled or matched"
        return {"canceled": canceled, "not_canceled": not_canceled}

    @_locked
    def cancel_orders(self, owner: str, order_ids: list[str]) -> dict:
        return self._cancel_ids(owner, order_ids, self._clock())

    @_locked
    def cancel_all(self, owner: str) -> dict:
        return self._cancel_ids(owner, self._records.open_order_ids(owner), self._clock())

    @_locked
    def cancel_market_orders(
        self, owner: str, market: str | None = None, asset_id: str | None = None
    ) -> dict:
        ids = [o.id for o in self._records.find_open(owner, None, market, asset_id)]
        return self._cancel_ids(owner, ids, self._clock())

    @_locked
    def cancel_all_for_key(self, owner: str, reason: str) -> list[str]:
        """The heartbeat dead-man switch: cancel every open order of this API key."""
        result = self._cancel_ids(owner, self._records.open_order_ids(owner), self._clock())
        if result["canceled"]:
            log.info("canceled %d orders of key %s: %s", len(result["canceled"]), owner[:8], reason)
        return list(result["canceled"])

    # ------------------------------------------------------------------ queries

    @_locked
    def open_orders(
        self,
        owner: str,
        *,
        order_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
    ) -> list[dict]:
        found = self._records.find_open(owner, order_id, market, asset_id)
        return [payloads.order_view(o) for o in found]

    @_locked
    def get_order(self, owner: str, order_id: str) -> dict | None:
        """An order (open, or finished within the retention window) of this owner, or None."""
        order = self._records.order(order_id)
        if order is None or order.owner != owner:
            return None
        return payloads.order_view(order)

    def order(self, order_id: str) -> SimOrder | None:
        """The record of an order still known (lock held)."""
        return self._records.order(order_id)

    @_locked
    def trades(
        self,
        owner: str,
        *,
        trade_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> list[dict]:
        """The owner's trades kept (see ``records``), as ``GET /data/trades`` rows."""
        found = self._records.find_trades(
            owner, trade_id=trade_id, market=market, asset_id=asset_id, after=after, before=before
        )
        return [payloads.trade_view(t, owner) for t in found]

    @_locked
    def record_counts(self) -> RecordCounts:
        """How many orders and trades the exchange holds (bounded by the retention window)."""
        return self._records.counts()

    # ------------------------------------------------------------------ time

    @_locked
    def step(self, now: float | None = None) -> None:
        """Advance time: GTD expiry, trade settlement, background traders, retention."""
        now = self._clock() if now is None else now
        self._path.run_timers(now)
        if self.config.background:
            self.traders.step(now)
        self._records.prune(now)
