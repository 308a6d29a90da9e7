"""The market feed's state: per-token books and liveness, shards, the registry, the counters.

Ownership: the registry's lock guards the structure (which tokens, which shards); each shard's lock
guards its tokens' books and liveness fields; ``FeedCounters`` has its own lock because the shards'
WebSocket threads and the maintenance thread all count into it. The ``last_data_ns`` of a shard is
written by that shard's WebSocket thread only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from pmbot.model import FeedStatus, MarketInfo, MarketUpdate, Side
from pmbot.venue.book import OrderBook
from pmbot.venue.ws import WsMetrics, WsRunner

AWAITING = "awaiting_snapshot"
DISCONNECTED = "disconnected"
INCONSISTENT = "inconsistent"
RESOLVED = "resolved"
UNSUBSCRIBED = "unsubscribed"

ZERO = Decimal(0)

FeedOutput = MarketUpdate | FeedStatus


class ChildCounter(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class LabelledCounter(Protocol):
    def labels(self, *args: str, **kwargs: str) -> ChildCounter: ...


class FeedMetrics(WsMetrics, Protocol):
    """What the market feed needs of ``pmbot.metrics.Metrics`` (a fake in tests will do)."""

    # read-only members (properties), so a prometheus Counter, whose labels() returns a Counter,
    # satisfies them: a plain attribute member would be invariant and reject it
    @property
    def feed_messages_total(self) -> LabelledCounter: ...
    @property
    def feed_parse_errors_total(self) -> LabelledCounter: ...
    @property
    def feed_keepalive_frames_total(self) -> LabelledCounter: ...
    @property
    def feed_resyncs_total(self) -> LabelledCounter: ...
    @property
    def feed_rotations_total(self) -> LabelledCounter: ...

    def set_connection_up(self, connection: str, up: bool) -> None: ...

    def mark_feed_event(self, connection: str, at: float | None = None) -> None: ...

    def mark_token_event(self, market: str, token: str, at: float | None = None) -> None: ...


class TokenState:
    """One token's local book and liveness (guarded by its shard's lock)."""

    __slots__ = (
        "token_id",
        "market",
        "book",
        "live",
        "reason",
        "last_ns",
        "not_live_ns",
        "resync_pending",
        "resolved",
        "shard",
    )

    def __init__(
        self, token_id: str, market: str, tick: Decimal, shard: Shard, now_ns: int
    ) -> None:
        self.token_id = token_id
        self.market = market
        self.book = OrderBook(token_id, tick)
        self.live = False
        self.reason = AWAITING
        self.last_ns = 0  # last event for this token (0 = never)
        self.not_live_ns = now_ns  # when it last stopped being live
        self.resync_pending = False
        self.resolved = False
        self.shard = shard


class Shard:
    """One market-channel connection and the tokens it carries."""

    __slots__ = (
        "name",
        "tokens",
        "lock",
        "runner",
        "up_ns",
        "spot_mark_ns",
        "spot_cursor",
        "messages",
        "received",
        "reported",
        "last_data_ns",
        "events",
        "legacy",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.tokens: dict[str, None] = {}  # ordered set
        self.lock = threading.Lock()
        self.runner: WsRunner | None = None
        self.up_ns = 0  # when the connection last came up (0 = down)
        self.spot_mark_ns = 0  # when the previous spot check ran
        self.spot_cursor = 0
        self.messages: ChildCounter | None = None  # cached metrics child
        self.received = 0  # frames seen (written by the shard's ws thread only)
        self.reported = 0  # of those, already added to ``messages`` (under the counters' lock)
        # last frame that carried market data (ws thread only); keep-alive text and PONG do not
        self.last_data_ns = 0
        self.events = 0  # events applied (ws thread only)
        self.legacy = 0  # pre-Sept-2025 price_change frames (ws thread only)


class Registry:
    """Tokens, markets and shards; ``lock`` guards the structure, never held during I/O."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, TokenState] = {}
        self.markets: dict[str, MarketInfo] = {}
        self.shards: list[Shard] = []
        self.retired: list[WsRunner] = []
        self._seq = 0

    def place(
        self, markets: list[MarketInfo], shard_size: int, now_ns: int
    ) -> tuple[list[Shard], list[tuple[Shard, list[str]]]]:
        """Place new markets' tokens into shards with room (new shards when full). Returns the new
        shards and, for the existing ones, the tokens to subscribe on their open connections."""
        new_shards: list[Shard] = []
        sends: dict[Shard, list[str]] = {}
        with self.lock:
            for m in markets:
                if m.condition_id in self.markets:
                    continue
                toks = [t for t in (m.yes_token, m.no_token) if t and t not in self.tokens]
                room = shard_size - len(toks)
                shard = next((s for s in self.shards if len(s.tokens) <= room), None)
                if shard is None:
                    self._seq += 1
                    shard = Shard(f"market-{self._seq}")
                    self.shards.append(shard)
                    new_shards.append(shard)
                self.markets[m.condition_id] = m
                with shard.lock:
                    for tok in toks:
                        self.tokens[tok] = TokenState(tok, m.condition_id, m.tick, shard, now_ns)
                        shard.tokens[tok] = None
                if shard not in new_shards:
                    sends.setdefault(shard, []).extend(toks)
        return new_shards, list(sends.items())

    def drop(
        self, markets: Iterable[MarketInfo], now_ns: int
    ) -> tuple[dict[Shard, list[str]], list[MarketUpdate]]:
        """Forget markets' tokens; returns them by shard and their final not-live updates."""
        by_shard: dict[Shard, list[str]] = {}
        updates = []
        with self.lock:
            for m in markets:
                if self.markets.pop(m.condition_id, None) is None:
                    continue
                for tok in (m.yes_token, m.no_token):
                    st = self.tokens.pop(tok, None)
                    if st is not None:
                        by_shard.setdefault(st.shard, []).append(tok)
                        updates.append(unsubscribed_update(st, now_ns))
        return by_shard, updates

    def shard_list(self) -> list[Shard]:
        with self.lock:
            return list(self.shards)

    def runners(self) -> list[WsRunner]:
        with self.lock:
            return [s.runner for s in self.shards if s.runner is not None] + list(self.retired)


class FeedCounters:
    """Counters for tests and the bench written by several threads: every update takes the lock.
    Per-frame counts (events, legacy frames) stay on their shard, whose ws thread is the only
    writer, and are added here when the shard is removed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parse_errors: dict[str, int] = {}
        self._keepalives: dict[str, int] = {}
        self._resyncs: dict[str, int] = {}
        # events/legacy of removed shards (live shards count their own: one writer each)
        self._totals = {"rotations": 0, "inconsistencies": 0, "events": 0, "legacy": 0}

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._totals[name] += n

    def add_kind(self, table: str, kind: str) -> None:
        with self._lock:
            counts = self._table(table)
            counts[kind] = counts.get(kind, 0) + 1

    def total(self, name: str) -> int:
        with self._lock:
            return self._totals[name]

    def kinds(self, table: str) -> dict[str, int]:
        with self._lock:
            return dict(self._table(table))

    def _table(self, table: str) -> dict[str, int]:
        return {
            "parse_errors": self._parse_errors,
            "keepalives": self._keepalives,
            "resyncs": self._resyncs,
        }[table]


def make_update(st: TokenState, depth: int, recv_ns: int) -> MarketUpdate:
    """The self-contained update for one token (call under its shard's lock)."""
    book = st.book
    bids = book.levels(Side.BUY, depth)
    asks = book.levels(Side.SELL, depth)
    return MarketUpdate(
        st.token_id,
        st.market,
        bids[0][0] if bids else None,
        asks[0][0] if asks else None,
        bids[0][1] if bids else ZERO,
        asks[0][1] if asks else ZERO,
        book.tick or ZERO,
        st.live,
        recv_ns,
        tuple(bids),
        tuple(asks),
        st.reason,
        book.last_trade_price,
    )


def unsubscribed_update(st: TokenState, now_ns: int) -> MarketUpdate:
    return MarketUpdate(
        st.token_id,
        st.market,
        None,
        None,
        ZERO,
        ZERO,
        st.book.tick or ZERO,
        False,
        now_ns,
        reason=UNSUBSCRIBED,
    )


def subscribe_msg(tokens: list[str]) -> str:
    return json.dumps({"assets_ids": tokens, "type": "market", "custom_feature_enabled": True})


def subscribe_op(tokens: list[str]) -> str:
    return json.dumps(
        {"operation": "subscribe", "assets_ids": tokens, "custom_feature_enabled": True}
    )


def unsubscribe_op(tokens: list[str]) -> str:
    return json.dumps({"operation": "unsubscribe", "assets_ids": tokens})
