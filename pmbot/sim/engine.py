"""The simulated CLOB: the public API the sim's server, traders and tests call.

``Exchange`` owns the markets, one unified YES book per condition (``orderbook``), the ledger
(``ledger``), price-time matching (``matching``) and the venue-shaped messages (``payloads``), and
adds what ties them together: the order path with the venue's checks in the venue's order,
cancels, GTD expiry, settlement MATCHED -> MINED -> CONFIRMED (a configurable share ends FAILED
and the ledger is reversed), queries, test knobs and listeners. Every book change emits a
``price_change`` with mirrored entries for both tokens; trades also emit ``last_trade_price`` and
a ``book`` for both tokens, and user-channel order/trade events go to every party's API key.

Money is exact: ``Decimal`` everywhere, amounts from the wire are integers in 1e-6 units.
Thread safety: one ``RLock`` (``lock``) taken by every public method; listeners are called under
it and must only enqueue.
"""

from __future__ import annotations

import functools
import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from pmbot.sim import payloads
from pmbot.sim.ledger import Account, Ledger
from pmbot.sim.markets import SimConfig, SimEvent, SimMarket
from pmbot.sim.matching import FEE_QUANTUM, SimTrade, match, new_trade
from pmbot.sim.orderbook import (
    BUY,
    CANCELED,
    LIVE,
    MATCHED,
    MICRO,
    ONE,
    SELL,
    ZERO,
    SimOrder,
    UnifiedBook,
)
from pmbot.sim.payloads import fmt

log = logging.getLogger(__name__)

__all__ = [
    "Exchange",
    "SimReject",
    "Listener",
    "fmt",
    "BUY",
    "SELL",
    "LIVE",
    "MATCHED",
    "CANCELED",
    "ZERO",
    "ONE",
    "MICRO",
    "FEE_QUANTUM",
    "GTD_MIN_LIFETIME_SECS",
]

GTD_MIN_LIFETIME_SECS = 60  # venue "security threshold": expiration >= now + 60

Listener = Callable[[str, str, dict], None]


class SimReject(Exception):
    """The venue refuses a request: the server answers ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _locked(fn):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
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
        self._orders: dict[str, SimOrder] = {}
        self._open_by_owner: dict[str, dict[str, SimOrder]] = {}
        self._ledger = Ledger(config.initial_balance)
        self._trades: dict[str, SimTrade] = {}
        self._trades_by_owner: dict[str, list[str]] = {}
        self._listeners: list[Listener] = []
        self._settle_heap: list = []  # (due, seq, trade_id, next status)
        self._expiry_heap: list = []  # (expiration, seq, order_id)
        self._seq = 0
        self.internal_owners: set[str] = set()
        self.listener_errors = 0
        self._front_run: dict[
            str, list
        ] = {}  # token -> [orders left, shares left to them] (see front_run)
        for m in config.markets:
            self._register_market(m)
        from pmbot.sim.traders import BackgroundTraders  # traders import this module

        self.traders = BackgroundTraders(self, config, random.Random(config.seed * 7919 + 1))
        if config.background:
            with self.lock:
                self.traders.seed_ladders(self._clock())

    # ------------------------------------------------------------------ markets

    def _register_market(self, market: SimMarket) -> None:
        if market.condition_id in self.markets:
            raise ValueError(f"duplicate market {market.condition_id}")
        self.markets[market.condition_id] = market
        self._token_market[market.yes_token] = market.condition_id
        self._token_market[market.no_token] = market.condition_id
        self._books[market.condition_id] = UnifiedBook()

    @_locked
    def market_of_token(self, token_id: str) -> SimMarket:
        return self.markets[self._token_market[token_id]]

    @_locked
    def tick_size(self, token_id: str) -> Decimal:
        return self.market_of_token(token_id).tick

    @_locked
    def add_market(self, market: SimMarket, *, background: bool = False) -> SimMarket:
        """Add a market at runtime (benchmarks, new_market tests); emits ``new_market``. Without
        ``background`` it starts with an empty, frozen book (fill it with ``set_book``)."""
        if not market.gamma_id:
            market = replace(market, gamma_id=str(600001 + len(self.markets)))
        self._register_market(market)
        if background:
            self.traders.add_market(market, self._clock())
        else:
            self.traders.frozen.add(market.condition_id)
        self._emit("market", market.condition_id, self._new_market_message(market, self._clock()))
        return market

    @_locked
    def set_tick_size(self, token_id: str, tick: Decimal) -> None:
        market = self.market_of_token(token_id)
        old = market.tick
        if tick == old:
            return
        self.markets[market.condition_id] = replace(market, tick=tick)
        now = self._clock()
        for token in market.tokens:
            self._emit(
                "market", token, payloads.tick_size_change_message(market, token, old, tick, now)
            )
        log.info("tick size of %s changed %s -> %s", market.slug, old, tick)

    @_locked
    def set_trade_fail_share(self, share: Decimal) -> None:
        """Share of NEW trades that end FAILED instead of MINED (the ledger is reversed)."""
        share = Decimal(str(share))
        if not ZERO <= share <= ONE:
            raise ValueError("trade_fail_share must be in [0, 1]")
        self.trade_fail_share = share

    @_locked
    def front_run(self, token_id: str, max_size: Decimal, count: int = 1) -> None:
        """Test knob: a faster taker gets there first. The next ``count`` FOK/FAK orders of outside
        (non-background) owners on ``token_id`` find only ``max_size`` shares within their limit;
        the rest of the background makers' liquidity they could have reached is gone (cancelled,
        as if taken) right after they match. A FOK bigger than ``max_size`` is killed (and the
        liquidity still goes). Models the uneven leg fills of an arbitrage basket deterministically;
        ``count`` 0 clears it."""
        max_size = Decimal(str(max_size))
        if token_id not in self._token_market:
            raise KeyError(token_id)
        if max_size <= ZERO:
            raise ValueError("front_run: max_size must be positive")
        if int(count) <= 0:
            self._front_run.pop(token_id, None)
        else:
            self._front_run[token_id] = [int(count), max_size]

    def _take_front_run(self, token_id: str, owner: str, order_type: str) -> Decimal | None:
        entry = self._front_run.get(token_id)
        if entry is None or order_type not in ("FOK", "FAK") or owner in self.internal_owners:
            return None
        entry[0] -= 1
        if entry[0] <= 0:
            del self._front_run[token_id]
        return entry[1]

    def _sweep_makers(
        self, book: UnifiedBook, taker_yes_side: str, limit: Decimal, now: float
    ) -> None:
        """Cancel the background makers' orders a taker on ``taker_yes_side`` could reach at ``limit``."""
        for order in book.reachable_makers(taker_yes_side, limit):
            if order.owner in self.internal_owners:
                self._cancel(order, now)

    @_locked
    def set_frozen(self, condition_id: str, frozen: bool) -> None:
        if condition_id not in self.markets:
            raise KeyError(condition_id)
        (self.traders.frozen.add if frozen else self.traders.frozen.discard)(condition_id)

    @_locked
    def set_book(self, token_id: str, bids: list, asks: list, *, freeze: bool = True) -> None:
        """Replace the background makers' ladder on the token's market with these levels (token
        terms; a NO token's levels are mirrored into the YES book). Orders of other owners stay."""
        market = self.market_of_token(token_id)
        bids = [(Decimal(str(p)), Decimal(str(s))) for p, s in bids]
        asks = [(Decimal(str(p)), Decimal(str(s))) for p, s in asks]
        if token_id == market.no_token:
            bids, asks = [(ONE - p, s) for p, s in asks], [(ONE - p, s) for p, s in bids]
        if bids and asks and max(p for p, _ in bids) >= min(p for p, _ in asks):
            raise ValueError("set_book: bids cross asks")
        if freeze:
            self.traders.frozen.add(market.condition_id)
        self.traders.set_ladder(market, bids, asks, self._clock())

    @_locked
    def resolve_market(self, condition_id: str, yes_wins: bool) -> None:
        """Resolve a market: cancel its orders, close it, redeem every position (winner pays 1)
        and emit ``market_resolved``."""
        market = self.markets[condition_id]
        now = self._clock()
        book = self._books[condition_id]
        for order in list(book.orders()):
            self._cancel(order, now)
        winner = market.yes_token if yes_wins else market.no_token
        self._ledger.redeem(market.tokens, winner)
        self.markets[condition_id] = replace(
            market, closed=True, active=False, accepting_orders=False
        )
        self.traders.frozen.add(condition_id)
        msg = self._new_market_message(market, now)
        msg.update(
            event_type="market_resolved",
            winning_asset_id=winner,
            winning_outcome="Yes" if yes_wins else "No",
        )
        self._emit("market", condition_id, msg)

    def _new_market_message(self, market: SimMarket, now: float) -> dict:
        return payloads.new_market_message(market, self.events.get(market.event_slug or ""), now)

    # ------------------------------------------------------------------ listeners

    def add_listener(self, fn: Listener) -> None:
        with self.lock:
            self._listeners.append(fn)

    def _emit(self, channel: str, key: str, message: dict) -> None:
        for fn in self._listeners:
            try:
                fn(channel, key, message)
            except Exception:  # a broken listener must not break matching
                self.listener_errors += 1
                log.exception("sim listener failed on %s message", channel)

    # ------------------------------------------------------------------ book views

    @_locked
    def book_snapshot(self, token_id: str) -> dict:
        """REST ``/book`` shape: bids ascending, asks descending (best LAST), SDK-compatible hash."""
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

    def _emit_level(
        self,
        market: SimMarket,
        book: UnifiedBook,
        yes_side: str,
        yes_price: Decimal,
        total: Decimal,
        now: float,
    ) -> None:
        """A price_change with mirrored entries for both tokens (reference 2.3), then
        best_bid_ask for both tokens if the top moved."""
        self._emit(
            "market",
            market.condition_id,
            payloads.price_change_message(market, book, yes_side, yes_price, total, now),
        )
        self._emit_top_if_changed(market, book, now)

    def _emit_top_if_changed(self, market: SimMarket, book: UnifiedBook, now: float) -> None:
        top = (book.best_bid(), book.best_ask())
        if top == book.last_top:
            return
        book.last_top = top
        for token, msg in payloads.best_bid_ask_messages(market, book, now):
            self._emit("market", token, msg)

    # ------------------------------------------------------------------ accounts

    @property
    def fees_collected(self) -> Decimal:
        """Taker fees kept by the venue (FAILED trades give theirs back)."""
        return self._ledger.fees_collected

    def _account(self, address: str) -> Account:
        """The ledger account of a funder address, created on first touch (traders use this)."""
        return self._ledger.account(address)

    @_locked
    def balance(self, address: str) -> Decimal:
        return self._account(address).collateral

    @_locked
    def available(self, address: str) -> Decimal:
        acct = self._account(address)
        return acct.collateral - acct.reserved_collateral

    @_locked
    def position(self, address: str, token_id: str) -> Decimal:
        return self._account(address).positions.get(token_id, ZERO)

    @_locked
    def set_balance(self, address: str, amount: Decimal) -> None:
        self._account(address).collateral = Decimal(str(amount))

    @_locked
    def set_position(self, address: str, token_id: str, size: Decimal) -> None:
        market = self.market_of_token(token_id)
        acct = self._account(address)
        size = Decimal(str(size))
        acct.positions[token_id] = size
        fair = market.fair_value if token_id == market.yes_token else ONE - market.fair_value
        acct.cost[token_id] = [size * fair, size, ZERO]

    @_locked
    def ledger(self, address: str) -> dict:
        return payloads.ledger_view(address, self._account(address))

    @_locked
    def audit(self) -> dict:
        """Totals across every account, for conservation checks: collateral, fees, and per token."""
        return self._ledger.audit()

    @_locked
    def positions(self, user: str) -> list[dict]:
        """Data API v1 ``/positions`` rows for a funder address (numbers are JSON numbers)."""
        acct = self._account(user)
        rows = []
        for token, size in acct.positions.items():
            if size == 0:
                continue
            market = self.markets[self._token_market[token]]
            bb, ba = self.top_of_book(token)
            cur = (
                (bb + ba) / 2
                if bb is not None and ba is not None
                else (market.fair_value if token == market.yes_token else ONE - market.fair_value)
            )
            rows.append(payloads.position_row(user, market, acct, token, size, cur))
        return rows

    # ------------------------------------------------------------------ placing orders

    @_locked
    def place_order(
        self, owner: str, order: dict, *, order_type: str, post_only: bool, order_id: str
    ) -> dict:
        """Validate and execute a wire order (signature already checked by the server)."""
        try:
            token = str(order["tokenId"])
            maker_amount = int(str(order["makerAmount"]))
            taker_amount = int(str(order["takerAmount"]))
            side = order["side"]
            side = {0: BUY, 1: SELL, "0": BUY, "1": SELL}.get(side, side)
            expiration = int(str(order.get("expiration", "0") or "0"))
            address = str(order["maker"])
        except (KeyError, TypeError, ValueError):
            raise SimReject(400, "Invalid order payload") from None
        if side not in (BUY, SELL) or maker_amount <= 0 or taker_amount <= 0:
            raise SimReject(400, "Invalid order payload")
        if order_type not in ("GTC", "GTD", "FOK", "FAK"):
            raise SimReject(400, "Invalid order payload")
        if token not in self._token_market:
            raise SimReject(400, "Invalid order payload")
        if side == BUY:
            exact, size = (
                Decimal(maker_amount) / Decimal(taker_amount),
                Decimal(taker_amount) * MICRO,
            )
        else:
            exact, size = (
                Decimal(taker_amount) / Decimal(maker_amount),
                Decimal(maker_amount) * MICRO,
            )
        return self._submit(
            owner=owner,
            address=address,
            token_id=token,
            side=side,
            price=self._implied_price(exact, token),
            size=size,
            order_type=order_type,
            post_only=post_only,
            order_id=order_id,
            expiration=expiration,
            now=self._clock(),
        )

    def _implied_price(self, exact: Decimal, token: str) -> Decimal:
        """makerAmount/takerAmount is exact for SDK limit orders; market orders round amounts, so a
        price within a thousandth of a tick of a tick multiple is taken as that multiple."""
        tick = self.markets[self._token_market[token]].tick
        rounded = (exact / tick).quantize(ONE, rounding=ROUND_HALF_UP) * tick
        if abs(exact - rounded) <= tick / 1000:
            return rounded
        return exact.quantize(Decimal("1e-8")).normalize()

    def _submit(
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
    ) -> dict:
        """The one order path: checks in venue order, then match, then rest. Background traders
        call this too, so their orders produce the same events and can fill anybody."""
        market = self.markets[self._token_market[token_id]]
        book = self._books[market.condition_id]
        if market.closed or not market.accepting_orders:
            raise SimReject(400, "the market is not yet ready to process new orders")
        if order_id in self._orders:
            raise SimReject(400, f"order {order_id} is invalid. Duplicated.")
        if post_only and order_type in ("FOK", "FAK"):
            raise SimReject(
                400, "invalid post-only order: post_only is not supported for FOK/FAK orders"
            )
        tick = market.tick
        if (price / tick) != (price / tick).to_integral_value():
            raise SimReject(
                400,
                f"order {order_id} is invalid. Price ({fmt(price)}) breaks minimum tick size rule: {fmt(tick)}",
            )
        if not tick <= price <= ONE - tick:
            raise SimReject(
                400,
                f"order {order_id} is invalid. Price ({fmt(price)}) is out of bounds: min {fmt(tick)} - max {fmt(ONE - tick)}",
            )
        if size < market.min_size:
            raise SimReject(
                400,
                f"order {order_id} is invalid. Size ({fmt(size)}) lower than the minimum: {fmt(market.min_size)}",
            )
        if order_type == "GTD" and expiration < now + GTD_MIN_LIFETIME_SECS:
            raise SimReject(400, "invalid expiration")

        is_yes = token_id == market.yes_token
        yes_side = side if is_yes else (SELL if side == BUY else BUY)
        yes_price = price if is_yes else ONE - price
        acct = self._account(address)
        if side == BUY:
            need = size * price
            if not post_only:
                need += size * market.fee_rate * price * (ONE - price)
            if need > acct.collateral - acct.reserved_collateral:
                raise SimReject(400, "not enough balance / allowance")
        else:
            held = acct.positions.get(token_id, ZERO) - acct.reserved_shares.get(token_id, ZERO)
            if size > held:
                raise SimReject(400, "not enough balance / allowance")

        best = book.best_ask() if yes_side == BUY else book.best_bid()
        marketable = best is not None and (
            best <= yes_price if yes_side == BUY else best >= yes_price
        )
        if post_only and marketable:
            raise SimReject(400, "invalid post-only order: order crosses book")
        cap = self._take_front_run(token_id, owner, order_type) if marketable else None
        if order_type == "FOK" and (
            not marketable or min(book.fillable(yes_side, yes_price), cap or size) < size
        ):
            if cap is not None:
                self._sweep_makers(book, yes_side, yes_price, now)
            raise SimReject(
                400, "order couldn't be fully filled. FOK orders are fully filled or killed."
            )
        if order_type == "FAK" and not marketable:
            raise SimReject(
                400,
                "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.",
            )
        if marketable and side == BUY and size * price < ONE:
            raise SimReject(
                400,
                f"invalid amount for a marketable BUY order (${fmt(size * price)}), min size: $1",
            )

        self._seq += 1
        order = SimOrder(
            id=order_id,
            owner=owner,
            address=address.lower(),
            market=market.condition_id,
            token_id=token_id,
            outcome="Yes" if is_yes else "No",
            is_yes=is_yes,
            side=side,
            price=price,
            original_size=size,
            order_type=order_type,
            expiration=expiration if order_type == "GTD" else 0,
            created_at=int(now),
            seq=self._seq,
            yes_side=yes_side,
            yes_price=yes_price,
        )
        self._orders[order_id] = order
        self._user_order_event(order, "PLACEMENT", now)
        trade = self._match(market, book, order, now, cap=cap) if marketable else None
        if cap is not None:
            self._sweep_makers(book, yes_side, yes_price, now)
        if order.remaining == 0:
            order.status = MATCHED
        if trade is not None:
            self._user_order_event(order, "UPDATE", now)

        if order.remaining > 0 and order_type in ("GTC", "GTD"):
            self._rest(market, book, order, now)
        elif order.remaining > 0:  # FAK remainder is killed
            order.status = CANCELED
            self._user_order_event(order, "CANCELLATION", now)
        if trade is not None:
            self._after_trade(market, book, trade, now)

        response = {
            "success": True,
            "errorMsg": "",
            "orderID": order_id,
            "takingAmount": "",
            "makingAmount": "",
            "status": "live",
            "transactionsHashes": [],
            "tradeIDs": [],
        }
        if trade is not None:
            paid = sum((e["_cash"] for e in trade.maker_entries), ZERO)
            shares = order.size_matched
            making, taking = (paid, shares) if side == BUY else (shares, paid)
            response.update(
                status="matched",
                makingAmount=fmt(making),
                takingAmount=fmt(taking),
                tradeIDs=[trade.id],
            )
        return response

    def _rest(self, market: SimMarket, book: UnifiedBook, order: SimOrder, now: float) -> None:
        self._ledger.reserve(order)
        order.resting = True
        self._open_by_owner.setdefault(order.owner, {})[order.id] = order
        total = book.add(order)
        if order.expiration:
            heapq.heappush(self._expiry_heap, (order.expiration, order.seq, order.id))
        self._emit_level(market, book, order.yes_side, order.yes_price, total, now)

    # ------------------------------------------------------------------ matching

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
                self._open_by_owner.get(maker.owner, {}).pop(maker.id, None)
            self._user_order_event(maker, "UPDATE", now)

        return match(
            self._ledger,
            market,
            book,
            taker,
            cap=cap,
            start_trade=lambda yes_price: new_trade(
                market, taker, yes_price, now, self.rng, self.trade_fail_share
            ),
            on_maker_filled=maker_filled,
            on_level_changed=lambda side, level, total: self._emit_level(
                market, book, side, level, total, now
            ),
        )

    def _after_trade(
        self, market: SimMarket, book: UnifiedBook, trade: SimTrade, now: float
    ) -> None:
        taker = trade.taker
        self._trades[trade.id] = trade
        for owner in trade.owners():
            self._trades_by_owner.setdefault(owner, []).append(trade.id)
        self._user_trade_event(trade, now)
        book.last_trade_yes = trade.last_yes_price()
        self._emit(
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
            snap = self._snapshot(token, now)
            snap["event_type"] = "book"
            self._emit("market", token, snap)
        delay = self.config.settle_mined_secs
        self._seq += 1
        heapq.heappush(
            self._settle_heap,
            (now + delay, self._seq, trade.id, "FAILED" if trade.will_fail else "MINED"),
        )

    # ------------------------------------------------------------------ user channel

    def _user_order_event(self, o: SimOrder, kind: str, now: float) -> None:
        if o.owner in self.internal_owners or not self._listeners:
            return
        self._emit("user", o.owner, payloads.order_event(o, kind, now))

    def _user_trade_event(self, trade: SimTrade, now: float) -> None:
        if not self._listeners:
            return
        for owner in trade.owners():
            if owner in self.internal_owners:
                continue
            self._emit("user", owner, payloads.trade_event(trade, owner, now))

    # ------------------------------------------------------------------ cancels

    def _cancel(self, order: SimOrder, now: float) -> None:
        market = self.markets[order.market]
        book = self._books[order.market]
        total = book.remove(order)
        self._ledger.release(order, order.remaining)
        order.status = CANCELED
        order.resting = False
        self._open_by_owner.get(order.owner, {}).pop(order.id, None)
        self._user_order_event(order, "CANCELLATION", now)
        self._emit_level(market, book, order.yes_side, order.yes_price, total, now)

    def _cancel_ids(self, owner: str, ids: Iterable[str], now: float) -> dict:
        canceled, not_canceled = [], {}
        for oid in ids:
            order = self._orders.get(oid)
            if order is None or order.owner != owner:
                not_canceled[oid] = "order not found"
            elif order.resting:
                self._cancel(order, now)
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
        return self._cancel_ids(owner, list(self._open_by_owner.get(owner, {})), self._clock())

    @_locked
    def cancel_market_orders(
        self, owner: str, market: str | None = None, asset_id: str | None = None
    ) -> dict:
        ids = [
            o.id
            for o in self._open_by_owner.get(owner, {}).values()
            if (not market or o.market == market) and (not asset_id or o.token_id == asset_id)
        ]
        return self._cancel_ids(owner, ids, self._clock())

    @_locked
    def cancel_all_for_key(self, owner: str, reason: str) -> list[str]:
        """The heartbeat dead-man switch: cancel every open order of this API key."""
        result = self._cancel_ids(owner, list(self._open_by_owner.get(owner, {})), self._clock())
        if result["canceled"]:
            log.info("canceled %d orders of key %s: %s", len(result["canceled"]), owner[:8], reason)
        return result["canceled"]

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
        orders = sorted(self._open_by_owner.get(owner, {}).values(), key=lambda o: o.seq)
        return [
            payloads.order_view(o)
            for o in orders
            if (not order_id or o.id == order_id)
            and (not market or o.market == market)
            and (not asset_id or o.token_id == asset_id)
        ]

    @_locked
    def get_order(self, owner: str, order_id: str) -> dict | None:
        order = self._orders.get(order_id)
        if order is None or order.owner != owner:
            return None
        return payloads.order_view(order)

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
        rows = []
        for tid in self._trades_by_owner.get(owner, []):
            t = self._trades[tid]
            if trade_id and tid != trade_id:
                continue
            if market and t.market != market:
                continue
            if (
                asset_id
                and t.taker.token_id != asset_id
                and all(e["asset_id"] != asset_id for e in t.maker_entries)
            ):
                continue
            if after is not None and int(t.matched_at) < after:
                continue
            if before is not None and int(t.matched_at) > before:
                continue
            rows.append(payloads.trade_view(t, owner))
        return rows

    # ------------------------------------------------------------------ time

    @_locked
    def step(self, now: float | None = None) -> None:
        """Advance time: GTD expiry, trade settlement, background traders."""
        now = self._clock() if now is None else now
        while self._expiry_heap and self._expiry_heap[0][0] <= now:
            _, _, oid = heapq.heappop(self._expiry_heap)
            order = self._orders[oid]
            if order.resting:
                self._cancel(order, now)
        while self._settle_heap and self._settle_heap[0][0] <= now:
            _, _, tid, status = heapq.heappop(self._settle_heap)
            self._settle(self._trades[tid], status, now)
        if self.config.background:
            self.traders.step(now)

    def _settle(self, trade: SimTrade, status: str, now: float) -> None:
        trade.status = status
        trade.last_update = now
        if status == "FAILED":
            self._ledger.reverse(trade.deltas)
            log.info("trade %s FAILED; ledger reversed", trade.id)
        elif status == "MINED":
            self._seq += 1
            due = trade.matched_at + max(
                self.config.settle_confirmed_secs, self.config.settle_mined_secs
            )
            heapq.heappush(self._settle_heap, (due, self._seq, trade.id, "CONFIRMED"))
        self._user_trade_event(trade, now)
