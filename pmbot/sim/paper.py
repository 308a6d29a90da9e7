"""Paper mode: the bot trades against a local ``Exchange`` whose book mirrors the live venue.

In paper mode the bot reads market data from the configured (live) market WebSocket, but every
order, cancel, user-channel event, position and heartbeat goes to an in-process ``SimServer`` with
no background traders. The local exchange has no other traders, so nothing would ever fill the
bot; :class:`PaperMirror` supplies the other side. It keeps, per market, a copy of the live book's
visible levels resting on the local exchange under one internal account, placed and cancelled
through the exchange's public order path (``Exchange.place_order`` / ``cancel_orders``). So:

* a bot order that is marketable against the live book (an arbitrage FOK/FAK leg, a crossing
  limit) takes the mirrored depth level by level, at the live prices, and pays the taker fee;
* when the live book moves through a resting bot order (live best ask <= the bot's BUY price,
  live best bid >= the bot's SELL price, in YES terms: a BUY NO at q rests as a YES ask at 1-q),
  the mirror's new level is the taker and fills the bot at the bot's own limit price (the bot is
  the maker: conservative, it never gets price improvement from the move);
* every fill is a normal match: trade, order UPDATE, price_change, ledger and Data API positions
  come out exactly as for any other fill, so the bot's user channel and inventory need no paper
  special case.

Why a continuously mirrored ladder rather than taker orders sent only on a cross: the same resting
levels serve both fill paths (resting bot orders crossed by the market and bot orders that take),
and arbitrage legs need the depth to be there *before* they arrive.

Liquidity is not conjured twice: whatever the bot took from (or was filled by) a mirrored level is
remembered as consumed at that (side, price) and subtracted from the live size until the level
leaves the live book. On the real venue the bot's trade would have removed that liquidity; the live
feed cannot know, so without this a bot quote would be refilled by the same live order on every
update.

Known limits (conservative: they only ever withhold fills):

* queue position is not modelled: a bot order at the same price as live orders fills only when
  the live book trades *through* it, never when the live level merely shrinks;
* only the levels in ``MarketUpdate`` (the feed's ``depth``, 5 a side) are mirrored;
* a level smaller than the market's minimum order size (after consumption) cannot be placed, and a
  crossing mirror BUY worth less than $1 is refused by the engine's marketable-BUY minimum; both
  are counted in :attr:`PaperMirror.stats` (``below_min``, ``refused``);
* sizes are rounded down to 0.01 shares (keeps the wire amounts exact in 1e-6 units);
* market resolution is not mirrored (the winner is not in a ``MarketUpdate``).

Threading: :meth:`PaperMirror.on_update` runs synchronously on the feed's thread, *before* the
update reaches the strategy (see :class:`PaperTee`): as on the venue, a fill caused by a book move
happens before the bot can react to that move. All mirror state is guarded by the exchange's lock.
"""

from __future__ import annotations

import hashlib
import logging
import queue
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from pmbot.model import BASE_UNITS, MarketInfo, MarketUpdate
from pmbot.sim.markets import DEFAULT_END_DATE, SimMarket
from pmbot.sim.order_checks import SimReject

log = logging.getLogger(__name__)


class LocalExchange(Protocol):
    """What the mirror uses of the local exchange (``pmbot.sim.engine.Exchange``)."""

    lock: Any  # the exchange's RLock; the mirror's state is guarded by it too
    markets: dict[str, SimMarket]

    @property
    def internal_owners(self) -> set[str]: ...
    def add_market(self, market: SimMarket, *, background: bool = False) -> SimMarket: ...
    def set_balance(self, address: str, amount: Decimal) -> None: ...
    def tick_size(self, token_id: str) -> Decimal: ...
    def set_tick_size(self, token_id: str, tick: Decimal) -> None: ...
    def get_order(self, owner: str, order_id: str) -> dict | None: ...
    def place_order(
        self, owner: str, order: dict, *, order_type: str, post_only: bool, order_id: str
    ) -> dict: ...
    def cancel_orders(self, owner: str, order_ids: list[str]) -> dict: ...


ZERO, ONE = Decimal(0), Decimal(1)
SIZE_QUANTUM = Decimal("0.01")
MIRROR_OWNER = "paper-live-book"
MIRROR_ADDRESS = "0x00000000000000000000000000000000000a11ce"
MIRROR_BALANCE = Decimal(10) ** 12
BID, ASK = "BUY", "SELL"  # sides of the unified YES book


def sim_market_from_info(info: MarketInfo) -> SimMarket:
    """The local exchange's record of a live market: same condition and token ids, tick, minimum
    size, neg_risk flag and fee rate, so the bot's orders are validated as the venue would."""
    end = DEFAULT_END_DATE
    if info.end_date_ts is not None:
        end = datetime.fromtimestamp(info.end_date_ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return SimMarket(
        condition_id=info.condition_id,
        question=info.question or info.slug or info.condition_id,
        slug=info.slug or info.condition_id,
        yes_token=info.yes_token,
        no_token=info.no_token,
        tick=info.tick,
        min_size=info.min_size,
        neg_risk=info.neg_risk,
        fee_rate=info.fee_rate,
        event_slug=info.event_slug or None,
        outcome_label=info.outcome_label,
        end_date_iso=end,
        base_tick=info.tick,
    )


def add_live_market(exchange: LocalExchange, info: MarketInfo) -> SimMarket:
    """Register a live market on the local exchange (frozen, empty book; no background traders).
    Idempotent: a market the exchange already knows is returned as is."""
    with exchange.lock:
        if info.condition_id in exchange.markets:
            return exchange.markets[info.condition_id]
        return exchange.add_market(sim_market_from_info(info), background=False)


@dataclass(slots=True)
class _Resting:
    yes_side: str
    yes_price: Decimal
    remaining: Decimal
    seen_matched: Decimal = ZERO


@dataclass(slots=True)
class _MarketMirror:
    info: MarketInfo
    orders: dict = field(default_factory=dict)  # order id -> _Resting
    consumed: dict = field(default_factory=dict)  # (yes_side, yes_price) -> shares taken by the bot


class PaperMirror:
    """Keeps the live book's visible levels resting on the local exchange (see the module doc)."""

    def __init__(
        self, exchange: LocalExchange, *, owner: str = MIRROR_OWNER, address: str = MIRROR_ADDRESS
    ) -> None:
        self.exchange = exchange
        self.owner = owner
        self.address = address.lower()
        self._markets: dict[str, _MarketMirror] = {}
        self._by_token: dict[str, str] = {}
        self._n = 0
        self.stats = {
            "updates": 0,
            "ignored": 0,
            "placed": 0,
            "cancelled": 0,
            "refused": 0,
            "below_min": 0,
            "withdrawn": 0,
            "errors": 0,
        }
        with exchange.lock:
            exchange.internal_owners.add(owner)  # no user-channel events for the mirror's account
            exchange.set_balance(self.address, MIRROR_BALANCE)

    # ------------------------------------------------------------------ markets

    def add_market(self, info: MarketInfo) -> None:
        with self.exchange.lock:
            add_live_market(self.exchange, info)
            self._markets.setdefault(info.condition_id, _MarketMirror(info))
            self._by_token[info.yes_token] = info.condition_id
            self._by_token[info.no_token] = info.condition_id

    # ------------------------------------------------------------------ the feed side

    def on_update(self, update: MarketUpdate) -> None:
        """Bring the local mirror of ``update``'s market in line with it. YES and NO updates are
        equivalent (the NO book is the YES book mirrored); a non-live (or crossed) update withdraws
        the market's mirrored liquidity so nothing fills on a book we cannot trust."""
        cid = self._by_token.get(update.token_id)
        if cid is None:
            self.stats["ignored"] += 1
            return
        with self.exchange.lock:
            mm = self._markets[cid]
            self.stats["updates"] += 1
            self._harvest(mm)
            bids, asks = _yes_levels(update, mm.info)
            crossed = bool(bids and asks and max(p for p, _ in bids) >= min(p for p, _ in asks))
            if not update.live or crossed:
                if mm.orders:
                    self.stats["withdrawn"] += 1
                    log.info(
                        "paper: live book of %s not trusted (%s); mirrored liquidity withdrawn",
                        mm.info.slug or cid,
                        "crossed" if crossed else update.reason or "not live",
                    )
                self._cancel(mm, list(mm.orders))
                return
            if update.tick != self.exchange.tick_size(mm.info.yes_token):
                self.exchange.set_tick_size(mm.info.yes_token, update.tick)
            self._sync(mm, {(BID, p): s for p, s in bids} | {(ASK, p): s for p, s in asks})
            self._harvest(mm)

    def withdraw_all(self) -> None:
        """Cancel every mirrored level (shutdown, or the live feed is gone for good)."""
        with self.exchange.lock:
            for mm in self._markets.values():
                self._harvest(mm)
                self._cancel(mm, list(mm.orders))

    def close(self) -> None:
        """Withdraw the mirrored levels and log what the mirror did (the paper fills' context)."""
        self.withdraw_all()
        log.info("paper mirror: %s", " ".join(f"{k}={v}" for k, v in self.stats.items()))

    def consumed(self, condition_id: str) -> dict:
        """(YES side, YES price) -> shares of live liquidity the bot has already used up."""
        with self.exchange.lock:
            return dict(self._markets[condition_id].consumed)

    # ------------------------------------------------------------ internals (exchange lock held)

    def _harvest(self, mm: _MarketMirror) -> None:
        """Account for what traded against the mirror's orders since the last look."""
        for oid in list(mm.orders):
            rest = mm.orders[oid]
            view = self.exchange.get_order(self.owner, oid)
            if view is None:
                del mm.orders[oid]
                continue
            matched = Decimal(view["size_matched"])
            rest.remaining = Decimal(view["original_size"]) - matched
            if matched > rest.seen_matched:
                key = (rest.yes_side, rest.yes_price)
                mm.consumed[key] = mm.consumed.get(key, ZERO) + matched - rest.seen_matched
                rest.seen_matched = matched
            if view["status"] != "LIVE":
                del mm.orders[oid]

    def _sync(self, mm: _MarketMirror, live: dict) -> None:
        market = self.exchange.markets[mm.info.condition_id]
        for key in [k for k in mm.consumed if k not in live]:
            del mm.consumed[
                key
            ]  # the level left the live book: its next incarnation is fresh liquidity
        want: dict = {}
        for key, size in live.items():
            avail = (size - mm.consumed.get(key, ZERO)).quantize(SIZE_QUANTUM, rounding=ROUND_DOWN)
            if avail >= market.min_size:
                want[key] = avail
            elif avail > 0:
                self.stats["below_min"] += 1
        have: dict = {}
        stale = []
        for oid, rest in mm.orders.items():
            key = (rest.yes_side, rest.yes_price)
            if (
                want.get(key) == rest.remaining and key not in have
            ):  # remaining as of the harvest just done
                have[key] = oid
            else:
                stale.append(oid)
        self._cancel(mm, stale)  # before placing: an old level must never cross a new one
        # Bids best first, then asks best first: each crossing level meets the bot's best orders.
        for side in (BID, ASK):
            keys = sorted(
                (k for k in want if k[0] == side and k not in have),
                key=lambda k: k[1],
                reverse=side == BID,
            )
            for key in keys:
                self._place(mm, market, key[0], key[1], want[key])

    def _place(
        self, mm: _MarketMirror, market: SimMarket, yes_side: str, yes_price: Decimal, size: Decimal
    ) -> None:
        # A YES bid is BUY YES at p; a YES ask is BUY NO at 1-p: collateral only, no shares needed.
        token, price = (
            (market.yes_token, yes_price) if yes_side == BID else (market.no_token, ONE - yes_price)
        )
        collateral = size * price * BASE_UNITS
        if collateral != collateral.to_integral_value():
            size = size.to_integral_value(
                rounding=ROUND_DOWN
            )  # whole shares keep the amounts exact
            collateral = size * price * BASE_UNITS
        self._n += 1
        oid = "0x" + hashlib.sha256(f"pmbot.paper:{self.owner}:{self._n}".encode()).hexdigest()
        wire = {
            "tokenId": token,
            "makerAmount": str(int(collateral)),
            "takerAmount": str(int(size * BASE_UNITS)),
            "side": "BUY",
            "maker": self.address,
            "expiration": "0",
        }
        try:
            self.exchange.place_order(
                self.owner, wire, order_type="GTC", post_only=False, order_id=oid
            )
        except SimReject as exc:
            self.stats["refused"] += 1
            log.debug(
                "paper: mirror level %s %s x %s refused: %s", yes_side, yes_price, size, exc.message
            )
            return
        self.stats["placed"] += 1
        mm.orders[oid] = _Resting(yes_side, yes_price, size)

    def _cancel(self, mm: _MarketMirror, ids: list) -> None:
        if not ids:
            return
        result = self.exchange.cancel_orders(self.owner, ids)
        self.stats["cancelled"] += len(result["canceled"])
        self._harvest(mm)  # cancelled (or already matched) orders leave mm.orders here


def _yes_levels(update: MarketUpdate, info: MarketInfo) -> tuple[list, list]:
    """The update's levels in YES terms: a NO bid at q is a YES ask at 1-q and vice versa."""
    if update.token_id == info.yes_token:
        return list(update.bids), list(update.asks)
    return [(ONE - p, s) for p, s in update.asks], [(ONE - p, s) for p, s in update.bids]


class PaperTee:
    """Stands in for the market feed's out-queue: every ``MarketUpdate`` first goes to the mirror
    (synchronously, so a fill the move causes precedes the strategy seeing the move), then
    everything goes on to the strategy's queue. A mirror failure is counted and logged, never
    raised into the feed thread."""

    def __init__(self, inner: queue.Queue, mirror: PaperMirror) -> None:
        self.inner = inner
        self.mirror = mirror

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        if isinstance(item, MarketUpdate):
            try:
                self.mirror.on_update(item)
            except Exception:  # noqa: BLE001 - the feed thread must survive a mirror bug
                self.mirror.stats["errors"] += 1
                log.exception("paper: mirroring an update of %s failed", item.token_id)
        self.inner.put(item, block, timeout)

    def put_nowait(self, item) -> None:
        self.put(item, block=False)


__all__ = [
    "PaperMirror",
    "PaperTee",
    "add_live_market",
    "sim_market_from_info",
    "MIRROR_OWNER",
    "MIRROR_ADDRESS",
]
