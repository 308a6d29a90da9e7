"""The simulator's matching engine and ledger: one unified book per condition, in YES terms.

Why YES terms: Polymarket matches complementary tokens across one book (reference 6.1). A BUY NO
at q is a YES ask at 1-q and a SELL NO at q is a YES bid at 1-q, so the NO book is always the
mirror of the YES book and single-market complete-set "arbitrage" cannot exist on a consistent
book. Three match types follow from the two parties' tokens and sides:

- NORMAL: BUY A vs SELL A (shares and collateral change hands);
- MINT:   BUY YES vs BUY NO (their collateral is split into one YES + one NO per unit);
- MERGE:  SELL YES vs SELL NO (one YES + one NO are merged back into one unit of collateral).

Fills happen at the MAKER's price with price-time priority; the taker pays
``shares * fee_rate * p * (1 - p)`` in pUSD rounded to 5 dp, makers pay nothing. Every book change
emits a ``price_change`` with mirrored entries for both tokens; trades also emit
``last_trade_price`` and a ``book`` for both tokens, and user-channel order/trade events go to
every party's API key. Trades settle MATCHED -> MINED -> CONFIRMED on ``step``; a configurable
share ends FAILED and the ledger is reversed.

Money is exact: ``Decimal`` everywhere, amounts from the wire are integers in 1e-6 units.
Thread safety: one ``RLock`` (``lock``) taken by every public method; listeners are called under
it and must only enqueue.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import logging
import random
import threading
import time
import uuid
from bisect import insort
from collections import deque
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Callable, Iterable, Optional

from pmbot.sim.markets import SimConfig, SimEvent, SimMarket

log = logging.getLogger(__name__)

ZERO = Decimal(0)
ONE = Decimal(1)
MICRO = Decimal("0.000001")
FEE_QUANTUM = Decimal("0.00001")
BUY, SELL = "BUY", "SELL"
LIVE, MATCHED, CANCELED = "LIVE", "MATCHED", "CANCELED"
GTD_MIN_LIFETIME_SECS = 60  # venue "security threshold": expiration >= now + 60

Listener = Callable[[str, str, dict], None]


class SimReject(Exception):
    """The venue refuses a request: the server answers ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fmt(value: Decimal) -> str:
    """Venue-style decimal string: ``0.5``, ``2000``, ``26.68`` (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


def _ms(now: float) -> str:
    return str(int(now * 1000))


def _locked(fn):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return fn(self, *args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- internal records


@dataclass(slots=True, eq=False)
class _Order:
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

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched


@dataclass(slots=True, eq=False)
class _Account:
    collateral: Decimal
    positions: dict = field(default_factory=dict)  # token -> Decimal
    reserved_collateral: Decimal = ZERO
    reserved_shares: dict = field(default_factory=dict)  # token -> Decimal
    cost: dict = field(default_factory=dict)  # token -> [cost basis, total bought, realized pnl]


@dataclass(slots=True, eq=False)
class _Trade:
    id: str
    market: str
    taker: _Order
    size: Decimal
    price: Decimal  # first fill, in the taker's token terms
    fee: Decimal
    fee_rate_bps: int
    matched_at: float
    tx_hash: str
    maker_entries: list  # dicts, wire shape
    maker_owners: list  # distinct, in order
    deltas: list  # (address, d_collateral, token, d_shares) for a FAILED reversal
    will_fail: bool
    status: str = "MATCHED"
    last_update: float = 0.0


class _Book:
    """The unified YES book of one condition: price levels of FIFO queues, plus level totals."""

    __slots__ = ("bids", "asks", "bid_prices", "ask_prices", "bid_total", "ask_total", "version",
                 "last_trade_yes", "last_top")

    def __init__(self) -> None:
        self.bids: dict[Decimal, deque] = {}
        self.asks: dict[Decimal, deque] = {}
        self.bid_prices: list[Decimal] = []  # ascending (best last)
        self.ask_prices: list[Decimal] = []  # ascending (best first)
        self.bid_total: dict[Decimal, Decimal] = {}
        self.ask_total: dict[Decimal, Decimal] = {}
        self.version = 0
        self.last_trade_yes: Optional[Decimal] = None
        self.last_top: tuple = (None, None)

    def best_bid(self) -> Optional[Decimal]:
        return self.bid_prices[-1] if self.bid_prices else None

    def best_ask(self) -> Optional[Decimal]:
        return self.ask_prices[0] if self.ask_prices else None

    def side(self, yes_side: str):
        if yes_side == BUY:
            return self.bids, self.bid_prices, self.bid_total
        return self.asks, self.ask_prices, self.ask_total

    def add(self, order: _Order) -> Decimal:
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

    def remove(self, order: _Order) -> Decimal:
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

    def orders(self) -> Iterable[_Order]:
        for queue in list(self.bids.values()) + list(self.asks.values()):
            yield from list(queue)


# --------------------------------------------------------------------------- the exchange


class Exchange:
    """The simulated CLOB. See the module docstring; the server calls only public methods."""

    def __init__(self, config: SimConfig, *, clock: Callable[[], float] = time.time,
                 rng: Optional[random.Random] = None) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._clock = clock
        self.rng = rng if rng is not None else random.Random(config.seed)
        self.trade_fail_share: Decimal = config.trade_fail_share
        self.markets: dict[str, SimMarket] = {}
        self.events: dict[str, SimEvent] = {e.slug: e for e in config.events}
        self._token_market: dict[str, str] = {}
        self._books: dict[str, _Book] = {}
        self._orders: dict[str, _Order] = {}
        self._open_by_owner: dict[str, dict[str, _Order]] = {}
        self._accounts: dict[str, _Account] = {}
        self._trades: dict[str, _Trade] = {}
        self._trades_by_owner: dict[str, list[str]] = {}
        self._listeners: list[Listener] = []
        self._settle_heap: list = []  # (due, seq, trade_id, next status)
        self._expiry_heap: list = []  # (expiration, seq, order_id)
        self._seq = 0
        self.fees_collected = ZERO
        self.internal_owners: set[str] = set()
        self.listener_errors = 0
        self._front_run: dict[str, list] = {}  # token -> [orders left, shares left to them] (see front_run)
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
        self._books[market.condition_id] = _Book()

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
            self._emit("market", token, {
                "event_type": "tick_size_change", "asset_id": token, "market": market.condition_id,
                "old_tick_size": fmt(old), "new_tick_size": fmt(tick), "timestamp": _ms(now),
            })
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

    def _take_front_run(self, token_id: str, owner: str, order_type: str) -> Optional[Decimal]:
        entry = self._front_run.get(token_id)
        if entry is None or order_type not in ("FOK", "FAK") or owner in self.internal_owners:
            return None
        entry[0] -= 1
        if entry[0] <= 0:
            del self._front_run[token_id]
        return entry[1]

    def _sweep_makers(self, market: SimMarket, book: _Book, taker_yes_side: str, limit: Decimal, now: float) -> None:
        """Cancel the background makers' orders a taker on ``taker_yes_side`` could reach at ``limit``."""
        prices = book.ask_prices if taker_yes_side == BUY else book.bid_prices
        levels = book.asks if taker_yes_side == BUY else book.bids
        reach = [p for p in prices if (p <= limit if taker_yes_side == BUY else p >= limit)]
        for p in reach:
            for order in [o for o in levels.get(p, ()) if o.owner in self.internal_owners]:
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
        for acct in self._accounts.values():
            for token in market.tokens:
                size = acct.positions.pop(token, ZERO)
                acct.reserved_shares.pop(token, None)
                if token == winner:
                    acct.collateral += size
        self.markets[condition_id] = replace(market, closed=True, active=False, accepting_orders=False)
        self.traders.frozen.add(condition_id)
        msg = self._new_market_message(market, now)
        msg.update(event_type="market_resolved", winning_asset_id=winner,
                   winning_outcome="Yes" if yes_wins else "No")
        self._emit("market", condition_id, msg)

    def _new_market_message(self, market: SimMarket, now: float) -> dict:
        event = self.events.get(market.event_slug or "")
        return {
            "id": market.gamma_id, "question": market.question, "market": market.condition_id,
            "slug": market.slug, "description": market.question,
            "assets_ids": [market.yes_token, market.no_token], "outcomes": ["Yes", "No"],
            "event_message": {
                "id": event.gamma_id if event else market.gamma_id,
                "ticker": event.slug if event else market.slug,
                "slug": event.slug if event else market.slug,
                "title": event.title if event else market.question,
                "description": event.title if event else market.question,
            },
            "timestamp": _ms(now), "event_type": "new_market", "tags": [],
            "condition_id": market.condition_id, "active": market.active,
            "clob_token_ids": [market.yes_token, market.no_token], "sports_market_type": "",
            "line": None, "game_start_time": None, "order_price_min_tick_size": fmt(market.tick),
            "group_item_title": market.outcome_label,
        }

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

    def _levels(self, market: SimMarket, token_id: str) -> tuple[list, list]:
        book = self._books[market.condition_id]
        if token_id == market.yes_token:
            bids = [(p, book.bid_total[p]) for p in book.bid_prices]
            asks = [(p, book.ask_total[p]) for p in reversed(book.ask_prices)]
        else:  # NO bids are YES asks at 1-p; ascending NO price = descending YES price
            bids = [(ONE - p, book.ask_total[p]) for p in reversed(book.ask_prices)]
            asks = [(ONE - p, book.bid_total[p]) for p in book.bid_prices]
        return bids, asks

    def _snapshot(self, token_id: str, now: float) -> dict:
        market = self.markets[self._token_market[token_id]]
        book = self._books[market.condition_id]
        bids, asks = self._levels(market, token_id)
        ltp = book.last_trade_yes
        if ltp is not None and token_id == market.no_token:
            ltp = ONE - ltp
        snap = {
            "market": market.condition_id, "asset_id": token_id, "timestamp": _ms(now), "hash": "",
            "bids": [{"price": fmt(p), "size": fmt(s)} for p, s in bids],
            "asks": [{"price": fmt(p), "size": fmt(s)} for p, s in asks],
            "min_order_size": fmt(market.min_size), "tick_size": fmt(market.tick),
            "neg_risk": market.neg_risk, "last_trade_price": fmt(ltp) if ltp is not None else "",
        }
        payload = json.dumps(snap, separators=(",", ":"), ensure_ascii=False)
        snap["hash"] = hashlib.sha1(payload.encode()).hexdigest()
        return snap

    @_locked
    def top_of_book(self, token_id: str) -> tuple[Optional[Decimal], Optional[Decimal]]:
        market = self.market_of_token(token_id)
        book = self._books[market.condition_id]
        bb, ba = book.best_bid(), book.best_ask()
        if token_id == market.yes_token:
            return bb, ba
        return (ONE - ba if ba is not None else None), (ONE - bb if bb is not None else None)

    def _tops(self, book: _Book) -> tuple[str, str, str, str]:
        """(yes best_bid, yes best_ask, no best_bid, no best_ask); empty bid "0", empty ask "1"."""
        bb, ba = book.best_bid(), book.best_ask()
        return (fmt(bb) if bb is not None else "0", fmt(ba) if ba is not None else "1",
                fmt(ONE - ba) if ba is not None else "0", fmt(ONE - bb) if bb is not None else "1")

    def _emit_level(self, market: SimMarket, book: _Book, yes_side: str, yes_price: Decimal,
                    total: Decimal, now: float) -> None:
        """A price_change with mirrored entries for both tokens (reference 2.3)."""
        ybb, yba, nbb, nba = self._tops(book)
        size = fmt(total)
        h = hashlib.sha1(f"{market.condition_id}:{book.version}".encode()).hexdigest()
        self._emit("market", market.condition_id, {
            "market": market.condition_id,
            "price_changes": [
                {"asset_id": market.yes_token, "price": fmt(yes_price), "size": size, "side": yes_side,
                 "hash": h, "best_bid": ybb, "best_ask": yba},
                {"asset_id": market.no_token, "price": fmt(ONE - yes_price), "size": size,
                 "side": SELL if yes_side == BUY else BUY, "hash": hashlib.sha1(h.encode()).hexdigest(),
                 "best_bid": nbb, "best_ask": nba},
            ],
            "timestamp": _ms(now), "event_type": "price_change",
        })
        self._emit_top_if_changed(market, book, now)

    def _emit_top_if_changed(self, market: SimMarket, book: _Book, now: float) -> None:
        top = (book.best_bid(), book.best_ask())
        if top == book.last_top:
            return
        book.last_top = top
        ybb, yba, nbb, nba = self._tops(book)
        for token, bb, ba in ((market.yes_token, ybb, yba), (market.no_token, nbb, nba)):
            self._emit("market", token, {
                "market": market.condition_id, "asset_id": token, "best_bid": bb, "best_ask": ba,
                "spread": fmt(Decimal(ba) - Decimal(bb)), "timestamp": _ms(now), "event_type": "best_bid_ask",
            })

    # ------------------------------------------------------------------ accounts

    def _account(self, address: str) -> _Account:
        address = address.lower()
        acct = self._accounts.get(address)
        if acct is None:
            acct = self._accounts[address] = _Account(collateral=self.config.initial_balance)
        return acct

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
        acct = self._account(address)
        return {
            "address": address.lower(),
            "collateral": fmt(acct.collateral),
            "positions": {t: fmt(s) for t, s in acct.positions.items() if s != 0},
            "reserved": {
                "collateral": fmt(acct.reserved_collateral),
                "shares": {t: fmt(s) for t, s in acct.reserved_shares.items() if s != 0},
            },
        }

    @_locked
    def audit(self) -> dict:
        """Totals across every account, for conservation checks: collateral, fees, and per token."""
        shares: dict[str, Decimal] = {}
        for acct in self._accounts.values():
            for token, size in acct.positions.items():
                shares[token] = shares.get(token, ZERO) + size
        return {"collateral": sum((a.collateral for a in self._accounts.values()), ZERO),
                "fees": self.fees_collected, "shares": shares}

    @_locked
    def positions(self, user: str) -> list[dict]:
        """Data API v1 ``/positions`` rows for a funder address (numbers are JSON numbers)."""
        acct = self._account(user)
        rows = []
        for token, size in acct.positions.items():
            if size == 0:
                continue
            market = self.markets[self._token_market[token]]
            is_yes = token == market.yes_token
            cost, bought, realized = acct.cost.get(token, [ZERO, ZERO, ZERO])
            avg = cost / size if size else ZERO
            bb, ba = self.top_of_book(token)
            cur = (bb + ba) / 2 if bb is not None and ba is not None else (
                market.fair_value if is_yes else ONE - market.fair_value)
            value = size * cur
            other = market.no_token if is_yes else market.yes_token
            rows.append({
                "proxyWallet": user.lower(), "asset": token, "conditionId": market.condition_id,
                "size": float(size), "avgPrice": float(round(avg, 6)), "initialValue": float(round(cost, 6)),
                "currentValue": float(round(value, 6)), "cashPnl": float(round(value - cost, 6)),
                "percentPnl": float(round((value - cost) / cost * 100, 4)) if cost else 0.0,
                "totalBought": float(bought), "realizedPnl": float(round(realized, 6)),
                "percentRealizedPnl": 0.0, "curPrice": float(cur), "redeemable": market.closed,
                "mergeable": acct.positions.get(other, ZERO) > 0, "title": market.question,
                "slug": market.slug, "icon": "", "eventSlug": market.event_slug or market.slug,
                "outcome": "Yes" if is_yes else "No", "outcomeIndex": 0 if is_yes else 1,
                "oppositeOutcome": "No" if is_yes else "Yes", "oppositeAsset": other,
                "endDate": market.end_date_iso[:10], "negativeRisk": market.neg_risk,
            })
        return rows

    # ------------------------------------------------------------------ placing orders

    @_locked
    def place_order(self, owner: str, order: dict, *, order_type: str, post_only: bool, order_id: str) -> dict:
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
            exact, size = Decimal(maker_amount) / Decimal(taker_amount), Decimal(taker_amount) * MICRO
        else:
            exact, size = Decimal(taker_amount) / Decimal(maker_amount), Decimal(maker_amount) * MICRO
        return self._submit(owner=owner, address=address, token_id=token, side=side,
                            price=self._implied_price(exact, token), size=size, order_type=order_type,
                            post_only=post_only, order_id=order_id, expiration=expiration, now=self._clock())

    def _implied_price(self, exact: Decimal, token: str) -> Decimal:
        """makerAmount/takerAmount is exact for SDK limit orders; market orders round amounts, so a
        price within a thousandth of a tick of a tick multiple is taken as that multiple."""
        tick = self.markets[self._token_market[token]].tick
        rounded = (exact / tick).quantize(ONE, rounding=ROUND_HALF_UP) * tick
        if abs(exact - rounded) <= tick / 1000:
            return rounded
        return exact.quantize(Decimal("1e-8")).normalize()

    def _submit(self, *, owner: str, address: str, token_id: str, side: str, price: Decimal, size: Decimal,
                order_type: str, post_only: bool, order_id: str, expiration: int, now: float) -> dict:
        """The one order path: checks in venue order, then match, then rest. Background traders
        call this too, so their orders produce the same events and can fill anybody."""
        market = self.markets[self._token_market[token_id]]
        book = self._books[market.condition_id]
        if market.closed or not market.accepting_orders:
            raise SimReject(400, "the market is not yet ready to process new orders")
        if order_id in self._orders:
            raise SimReject(400, f"order {order_id} is invalid. Duplicated.")
        if post_only and order_type in ("FOK", "FAK"):
            raise SimReject(400, "invalid post-only order: post_only is not supported for FOK/FAK orders")
        tick = market.tick
        if (price / tick) != (price / tick).to_integral_value():
            raise SimReject(400, f"order {order_id} is invalid. Price ({fmt(price)}) breaks minimum tick size rule: {fmt(tick)}")
        if not tick <= price <= ONE - tick:
            raise SimReject(400, f"order {order_id} is invalid. Price ({fmt(price)}) is out of bounds: min {fmt(tick)} - max {fmt(ONE - tick)}")
        if size < market.min_size:
            raise SimReject(400, f"order {order_id} is invalid. Size ({fmt(size)}) lower than the minimum: {fmt(market.min_size)}")
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
        marketable = best is not None and (best <= yes_price if yes_side == BUY else best >= yes_price)
        if post_only and marketable:
            raise SimReject(400, "invalid post-only order: order crosses book")
        cap = self._take_front_run(token_id, owner, order_type) if marketable else None
        if order_type == "FOK" and (not marketable or min(book.fillable(yes_side, yes_price), cap or size) < size):
            if cap is not None:
                self._sweep_makers(market, book, yes_side, yes_price, now)
            raise SimReject(400, "order couldn't be fully filled. FOK orders are fully filled or killed.")
        if order_type == "FAK" and not marketable:
            raise SimReject(400, "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.")
        if marketable and side == BUY and size * price < ONE:
            raise SimReject(400, f"invalid amount for a marketable BUY order (${fmt(size * price)}), min size: $1")

        self._seq += 1
        order = _Order(
            id=order_id, owner=owner, address=address.lower(), market=market.condition_id, token_id=token_id,
            outcome="Yes" if is_yes else "No", is_yes=is_yes, side=side, price=price, original_size=size,
            order_type=order_type, expiration=expiration if order_type == "GTD" else 0, created_at=int(now),
            seq=self._seq, yes_side=yes_side, yes_price=yes_price,
        )
        self._orders[order_id] = order
        self._user_order_event(order, "PLACEMENT", now)
        trade = self._match(market, book, order, now, cap=cap) if marketable else None
        if cap is not None:
            self._sweep_makers(market, book, yes_side, yes_price, now)
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

        response = {"success": True, "errorMsg": "", "orderID": order_id, "takingAmount": "",
                    "makingAmount": "", "status": "live", "transactionsHashes": [], "tradeIDs": []}
        if trade is not None:
            paid = sum((e["_cash"] for e in trade.maker_entries), ZERO)
            shares = order.size_matched
            making, taking = (paid, shares) if side == BUY else (shares, paid)
            response.update(status="matched", makingAmount=fmt(making), takingAmount=fmt(taking),
                            tradeIDs=[trade.id])
        return response

    def _rest(self, market: SimMarket, book: _Book, order: _Order, now: float) -> None:
        acct = self._account(order.address)
        if order.side == BUY:
            acct.reserved_collateral += order.remaining * order.price
        else:
            acct.reserved_shares[order.token_id] = acct.reserved_shares.get(order.token_id, ZERO) + order.remaining
        order.resting = True
        self._open_by_owner.setdefault(order.owner, {})[order.id] = order
        total = book.add(order)
        if order.expiration:
            heapq.heappush(self._expiry_heap, (order.expiration, order.seq, order.id))
        self._emit_level(market, book, order.yes_side, order.yes_price, total, now)

    # ------------------------------------------------------------------ matching and ledger

    def _match(self, market: SimMarket, book: _Book, taker: _Order, now: float,
               cap: Optional[Decimal] = None) -> Optional[_Trade]:
        """Match ``taker`` against the book; ``cap`` (the front_run knob) limits the shares matched."""
        if taker.yes_side == BUY:
            levels, prices, totals = book.asks, book.ask_prices, book.ask_total
        else:
            levels, prices, totals = book.bids, book.bid_prices, book.bid_total
        maker_side = SELL if taker.yes_side == BUY else BUY
        trade: Optional[_Trade] = None
        fee_raw = ZERO
        def room() -> Decimal:
            return taker.remaining if cap is None else min(taker.remaining, cap - taker.size_matched)

        while room() > 0 and prices:
            level = prices[0] if taker.yes_side == BUY else prices[-1]
            if (level > taker.yes_price) if taker.yes_side == BUY else (level < taker.yes_price):
                break
            queue = levels[level]
            while room() > 0 and queue:
                maker = queue[0]
                q = min(room(), maker.remaining)
                if trade is None:
                    trade = self._new_trade(market, taker, level, now)
                fee_raw += self._fill(market, trade, taker, maker, q, level)
                totals[level] -= q
                if maker.remaining == 0:
                    queue.popleft()
                    maker.status = MATCHED
                    maker.resting = False
                    self._open_by_owner.get(maker.owner, {}).pop(maker.id, None)
                self._user_order_event(maker, "UPDATE", now)
            book.version += 1
            total = totals[level]
            if not queue:
                del levels[level], totals[level]
                prices.remove(level)
                total = ZERO
            self._emit_level(market, book, maker_side, level, total, now)
        if trade is None:
            return None
        trade.size = taker.size_matched
        fee = fee_raw.quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)
        if fee_raw > 0 and fee == 0:
            fee = FEE_QUANTUM
        if fee:
            self._account(taker.address).collateral -= fee
            self.fees_collected += fee
            trade.deltas.append((taker.address, -fee, None, ZERO))
        trade.fee = fee
        return trade

    def _new_trade(self, market: SimMarket, taker: _Order, yes_price: Decimal, now: float) -> _Trade:
        trade_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        will_fail = self.trade_fail_share > 0 and Decimal(str(self.rng.random())) < self.trade_fail_share
        return _Trade(
            id=trade_id, market=market.condition_id, taker=taker, size=ZERO,
            price=yes_price if taker.is_yes else ONE - yes_price, fee=ZERO,
            fee_rate_bps=market.fee_rate_bps, matched_at=now,
            tx_hash="0x" + hashlib.sha256(trade_id.encode()).hexdigest(), maker_entries=[],
            maker_owners=[], deltas=[], will_fail=will_fail, last_update=now,
        )

    def _fill(self, market: SimMarket, trade: _Trade, taker: _Order, maker: _Order, q: Decimal,
              yes_price: Decimal) -> Decimal:
        """Move shares and collateral for ``q`` shares at the maker's YES price; returns the
        taker's unrounded fee for this fill."""
        if taker.token_id == maker.token_id:  # NORMAL
            x = yes_price if taker.is_yes else ONE - yes_price
            cash = (q * x).quantize(MICRO, rounding=ROUND_DOWN)
            taker_cash = maker_cash = cash
        else:  # MINT (both BUY) or MERGE (both SELL): YES and NO cash add up to exactly q
            yes_cash = (q * yes_price).quantize(MICRO, rounding=ROUND_DOWN)
            taker_cash, maker_cash = (yes_cash, q - yes_cash) if taker.is_yes else (q - yes_cash, yes_cash)
        for order, cash in ((taker, taker_cash), (maker, maker_cash)):
            self._transfer(trade, order, q, cash)
        maker_acct = self._account(maker.address)
        if maker.side == BUY:
            maker_acct.reserved_collateral -= q * maker.price
        else:
            maker_acct.reserved_shares[maker.token_id] -= q
        taker.size_matched += q
        maker.size_matched += q
        for order in (taker, maker):
            if trade.id not in order.associate_trades:
                order.associate_trades.append(trade.id)
        if maker.owner not in trade.maker_owners:
            trade.maker_owners.append(maker.owner)
        trade.maker_entries.append({
            "order_id": maker.id, "owner": maker.owner, "maker_address": maker.address,
            "asset_id": maker.token_id, "matched_amount": fmt(q), "price": fmt(maker.price),
            "outcome": maker.outcome, "side": maker.side, "fee_rate_bps": "0",
            "outcome_index": 0 if maker.is_yes else 1, "_cash": taker_cash,
        })
        x_t = yes_price if taker.is_yes else ONE - yes_price
        return q * market.fee_rate * x_t * (ONE - x_t)

    def _transfer(self, trade: _Trade, order: _Order, q: Decimal, cash: Decimal) -> None:
        acct = self._account(order.address)
        d_cash, d_shares = (-cash, q) if order.side == BUY else (cash, -q)
        self._apply(acct, order.token_id, d_cash, d_shares)
        trade.deltas.append((order.address, d_cash, order.token_id, d_shares))

    def _apply(self, acct: _Account, token: Optional[str], d_cash: Decimal, d_shares: Decimal) -> None:
        acct.collateral += d_cash
        if token is None or d_shares == 0:
            return
        held = acct.positions.get(token, ZERO)
        basis = acct.cost.setdefault(token, [ZERO, ZERO, ZERO])
        if d_shares > 0:
            basis[0] += -d_cash
            basis[1] += d_shares
        elif held > 0:
            avg = basis[0] / held
            sold = min(-d_shares, held)
            basis[2] += d_cash - avg * sold
            basis[0] -= avg * sold
        acct.positions[token] = held + d_shares

    def _after_trade(self, market: SimMarket, book: _Book, trade: _Trade, now: float) -> None:
        taker = trade.taker
        self._trades[trade.id] = trade
        owners = [taker.owner] + [o for o in trade.maker_owners if o != taker.owner]
        for owner in owners:
            self._trades_by_owner.setdefault(owner, []).append(trade.id)
        self._user_trade_event(trade, now)
        book.last_trade_yes = self._last_yes_price(trade)
        self._emit("market", taker.token_id, {
            "market": market.condition_id, "asset_id": taker.token_id,
            "price": fmt(self._last_fill_price(trade)), "size": fmt(trade.size),
            "fee_rate_bps": str(trade.fee_rate_bps), "side": taker.side, "timestamp": _ms(now),
            "event_type": "last_trade_price", "transaction_hash": trade.tx_hash,
        })
        for token in market.tokens:
            snap = self._snapshot(token, now)
            snap["event_type"] = "book"
            self._emit("market", token, snap)
        delay = self.config.settle_mined_secs
        self._seq += 1
        heapq.heappush(self._settle_heap, (now + delay, self._seq, trade.id, "FAILED" if trade.will_fail else "MINED"))

    def _last_fill_price(self, trade: _Trade) -> Decimal:
        """The last fill's price in the taker's token terms."""
        entry = trade.maker_entries[-1]
        p = Decimal(entry["price"])
        return p if entry["asset_id"] == trade.taker.token_id else ONE - p

    def _last_yes_price(self, trade: _Trade) -> Decimal:
        p = self._last_fill_price(trade)
        return p if trade.taker.is_yes else ONE - p

    # ------------------------------------------------------------------ user-channel payloads

    def _order_view(self, o: _Order) -> dict:
        return {
            "associate_trades": list(o.associate_trades), "id": o.id, "status": o.status, "market": o.market,
            "original_size": fmt(o.original_size), "outcome": o.outcome, "maker_address": o.address,
            "owner": o.owner, "price": fmt(o.price), "side": o.side, "size_matched": fmt(o.size_matched),
            "asset_id": o.token_id, "expiration": str(o.expiration), "order_type": o.order_type,
            "created_at": o.created_at,
        }

    def _user_order_event(self, o: _Order, kind: str, now: float) -> None:
        if o.owner in self.internal_owners or not self._listeners:
            return
        msg = self._order_view(o)
        msg["associate_trades"] = msg["associate_trades"] or None
        msg.update(event_type="order", order_owner=o.owner, timestamp=_ms(now), type=kind)
        self._emit("user", o.owner, msg)

    def _trade_view(self, trade: _Trade, owner: str) -> dict:
        taker = trade.taker
        is_taker = owner == taker.owner
        address = taker.address if is_taker else next(
            (e["maker_address"] for e in trade.maker_entries if e["owner"] == owner), "")
        return {
            "id": trade.id, "taker_order_id": taker.id, "market": trade.market, "asset_id": taker.token_id,
            "side": taker.side, "size": fmt(trade.size), "fee_rate_bps": str(trade.fee_rate_bps),
            "price": fmt(trade.price), "status": trade.status, "match_time": str(int(trade.matched_at)),
            "matchtime": str(int(trade.matched_at)), "last_update": str(int(trade.last_update)),
            "outcome": taker.outcome, "bucket_index": 0, "owner": owner, "trade_owner": taker.owner,
            "maker_address": address, "transaction_hash": trade.tx_hash,
            "trader_side": "TAKER" if is_taker else "MAKER",
            "maker_orders": [{k: v for k, v in e.items() if k != "_cash"} for e in trade.maker_entries],
        }

    def _user_trade_event(self, trade: _Trade, now: float) -> None:
        if not self._listeners:
            return
        owners = [trade.taker.owner] + [o for o in trade.maker_owners if o != trade.taker.owner]
        for owner in owners:
            if owner in self.internal_owners:
                continue
            msg = self._trade_view(trade, owner)
            msg.update(event_type="trade", type="TRADE", timestamp=_ms(now))
            self._emit("user", owner, msg)

    # ------------------------------------------------------------------ cancels

    def _cancel(self, order: _Order, now: float) -> None:
        market = self.markets[order.market]
        book = self._books[order.market]
        total = book.remove(order)
        acct = self._account(order.address)
        if order.side == BUY:
            acct.reserved_collateral -= order.remaining * order.price
        else:
            acct.reserved_shares[order.token_id] -= order.remaining
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
    def cancel_market_orders(self, owner: str, market: Optional[str] = None, asset_id: Optional[str] = None) -> dict:
        ids = [o.id for o in self._open_by_owner.get(owner, {}).values()
               if (not market or o.market == market) and (not asset_id or o.token_id == asset_id)]
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
    def open_orders(self, owner: str, *, order_id: Optional[str] = None, market: Optional[str] = None,
                    asset_id: Optional[str] = None) -> list[dict]:
        orders = sorted(self._open_by_owner.get(owner, {}).values(), key=lambda o: o.seq)
        return [self._order_view(o) for o in orders
                if (not order_id or o.id == order_id) and (not market or o.market == market)
                and (not asset_id or o.token_id == asset_id)]

    @_locked
    def get_order(self, owner: str, order_id: str) -> Optional[dict]:
        order = self._orders.get(order_id)
        if order is None or order.owner != owner:
            return None
        return self._order_view(order)

    @_locked
    def trades(self, owner: str, *, trade_id: Optional[str] = None, market: Optional[str] = None,
               asset_id: Optional[str] = None, after: Optional[int] = None,
               before: Optional[int] = None) -> list[dict]:
        rows = []
        for tid in self._trades_by_owner.get(owner, []):
            t = self._trades[tid]
            if trade_id and tid != trade_id:
                continue
            if market and t.market != market:
                continue
            if asset_id and t.taker.token_id != asset_id and all(e["asset_id"] != asset_id for e in t.maker_entries):
                continue
            if after is not None and int(t.matched_at) < after:
                continue
            if before is not None and int(t.matched_at) > before:
                continue
            rows.append(self._trade_view(t, owner))
        return rows

    # ------------------------------------------------------------------ time

    @_locked
    def step(self, now: Optional[float] = None) -> None:
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

    def _settle(self, trade: _Trade, status: str, now: float) -> None:
        trade.status = status
        trade.last_update = now
        if status == "FAILED":
            for address, d_cash, token, d_shares in reversed(trade.deltas):
                acct = self._account(address)
                if token is None:  # the fee goes back
                    acct.collateral -= d_cash
                    self.fees_collected += d_cash
                else:
                    self._apply(acct, token, -d_cash, -d_shares)
            log.info("trade %s FAILED; ledger reversed", trade.id)
        elif status == "MINED":
            self._seq += 1
            due = trade.matched_at + max(self.config.settle_confirmed_secs, self.config.settle_mined_secs)
            heapq.heappush(self._settle_heap, (due, self._seq, trade.id, "CONFIRMED"))
        self._user_trade_event(trade, now)
