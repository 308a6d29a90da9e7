"""Apply parsed market-channel events to one shard's local books (the feed's hot path).

``apply_events`` runs on the shard's WebSocket thread with the shard's lock held by the caller. It
marks the tokens whose top, first levels, tick, liveness or last trade changed, and the tokens whose
local top disagrees with the venue's own ``best_bid``/``best_ask`` (protocol 2.9): those stop being
live and are queued for a REST resync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pmbot.venue.market_state import INCONSISTENT, RESOLVED, FeedCounters, Shard, TokenState
from pmbot.venue.wire_market import (
    BestBidAskEvent,
    BookEvent,
    LastTradeEvent,
    MarketEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    PriceChangeEntry,
    PriceChangeEvent,
    TickSizeChangeEvent,
)

log = logging.getLogger("pmbot.venue.market_ws")


class Batch:
    """What one frame changed: tokens to publish and tokens to resync over REST."""

    __slots__ = ("shard", "tokens", "recv_ns", "depth", "counters", "changed", "resync")

    def __init__(
        self,
        shard: Shard,
        tokens: dict[str, TokenState],
        recv_ns: int,
        depth: int,
        counters: FeedCounters,
    ) -> None:
        self.shard = shard
        self.tokens = tokens
        self.recv_ns = recv_ns
        self.depth = depth
        self.counters = counters
        self.changed: dict[str, TokenState] = {}
        self.resync: list[str] = []

    def token(self, asset_id: str) -> TokenState | None:
        """The token's state if this shard carries it (a stale frame may name a moved token)."""
        st = self.tokens.get(asset_id)
        return st if st is not None and st.shard is self.shard else None


def apply_events(batch: Batch, events: list[MarketEvent]) -> None:
    """Apply ``events`` in order (caller holds ``batch.shard.lock``)."""
    for ev in events:
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(batch, ev)


def _book(batch: Batch, ev: BookEvent) -> None:
    st = batch.token(ev.asset_id)
    if st is None:
        return
    st.book.apply_snapshot(ev.bids, ev.asks, ev.tick)
    if ev.last_trade_price is not None:
        st.book.last_trade_price = ev.last_trade_price
    st.last_ns = batch.recv_ns
    if not st.resolved:
        st.live = True
        st.reason = ""
    batch.changed[st.token_id] = st


def _tick_size(batch: Batch, ev: TickSizeChangeEvent) -> None:
    st = batch.token(ev.asset_id)
    if st is None:
        return
    log.info("tick size of %s… %s -> %s", ev.asset_id[:12], st.book.tick, ev.new_tick)
    st.book.tick = ev.new_tick
    st.last_ns = batch.recv_ns
    batch.changed[st.token_id] = st


def _last_trade(batch: Batch, ev: LastTradeEvent) -> None:
    st = batch.token(ev.asset_id)
    if st is None:
        return
    st.book.last_trade_price = ev.price
    st.last_ns = batch.recv_ns
    batch.changed[st.token_id] = st


def _resolved(batch: Batch, ev: MarketResolvedEvent) -> None:
    for tok in ev.asset_ids:
        st = batch.token(tok)
        if st is None:
            continue
        st.resolved = True
        st.live = False
        st.reason = RESOLVED
        batch.changed[tok] = st
    log.info("market %s resolved (winner %s…)", ev.market, ev.winning_asset_id[:12])


def _best_bid_ask(batch: Batch, ev: BestBidAskEvent) -> None:
    st = batch.token(ev.asset_id)
    if st is not None:
        st.last_ns = batch.recv_ns


def _new_market(batch: Batch, ev: NewMarketEvent) -> None:
    log.debug("new market announced: %s %s", ev.market, ev.slug)


def _price_change(batch: Batch, ev: PriceChangeEvent) -> None:
    if ev.legacy:
        batch.shard.legacy += 1
    last: dict[str, tuple[TokenState, PriceChangeEntry]] = {}
    tokens, shard, recv_ns, depth, changed = (
        batch.tokens,
        batch.shard,
        batch.recv_ns,
        batch.depth,
        batch.changed,
    )
    for e in ev.entries:  # the hottest loop of the feed: lookups inlined
        st = tokens.get(e.asset_id)
        if st is None or st.shard is not shard:
            continue
        book = st.book
        book.set_level(e.side, e.price, e.size)
        st.last_ns = recv_ns
        last[e.asset_id] = (st, e)
        if book.within_top(e.side, e.price, depth):
            changed[e.asset_id] = st
    for st, e in last.values():
        if e.top_known and st.live and not st.book.top_matches(e.best_bid, e.best_ask):
            _mark_inconsistent(batch, st, e)


def _mark_inconsistent(batch: Batch, st: TokenState, e: PriceChangeEntry) -> None:
    """The local top disagrees with the exchange's own report: stop trusting this book."""
    batch.counters.add("inconsistencies")
    book = st.book
    log.warning(
        "book %s… inconsistent: local %s/%s, venue %s/%s; resyncing",
        st.token_id[:12],
        book.best_bid,
        book.best_ask,
        e.best_bid,
        e.best_ask,
    )
    st.live = False
    st.reason = INCONSISTENT
    st.not_live_ns = batch.recv_ns
    batch.changed[st.token_id] = st
    if not st.resync_pending:
        st.resync_pending = True
        batch.resync.append(st.token_id)


# handlers take their own event type; the table is keyed by that type
_HANDLERS: dict[type, Callable[[Batch, Any], None]] = {
    PriceChangeEvent: _price_change,
    BookEvent: _book,
    TickSizeChangeEvent: _tick_size,
    LastTradeEvent: _last_trade,
    MarketResolvedEvent: _resolved,
    BestBidAskEvent: _best_bid_ask,
    NewMarketEvent: _new_market,
}
