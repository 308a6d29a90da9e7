"""Typed, frozen events of the Polymarket market channel (protocol section 2); parsed by
``wire_market``, applied by ``market_apply``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import Level, Side


@dataclass(frozen=True, slots=True)
class BookEvent:
    asset_id: str
    market: str
    bids: tuple[Level, ...]  # as sent (any order)
    asks: tuple[Level, ...]
    timestamp_ms: int | None = None
    hash: str = ""
    tick: Decimal | None = None
    last_trade_price: Decimal | None = None
    min_order_size: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceChangeEntry:
    asset_id: str
    price: Decimal
    size: Decimal  # new total at that level; 0 deletes
    side: Side  # BUY = bid side
    best_bid: Decimal | None  # None = that side is empty (or unknown if not top_known)
    best_ask: Decimal | None
    hash: str = ""
    top_known: bool = True  # False only for the legacy schemas, which carry no best_bid/best_ask


@dataclass(frozen=True, slots=True)
class PriceChangeEvent:
    market: str
    entries: tuple[PriceChangeEntry, ...]
    timestamp_ms: int | None = None
    legacy: bool = False


@dataclass(frozen=True, slots=True)
class TickSizeChangeEvent:
    asset_id: str
    market: str
    old_tick: Decimal | None
    new_tick: Decimal
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class LastTradeEvent:
    asset_id: str
    market: str
    price: Decimal
    size: Decimal | None
    side: Side | None  # the taker's side
    fee_rate_bps: Decimal | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class BestBidAskEvent:
    asset_id: str
    market: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    spread: Decimal | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class NewMarketEvent:
    market: str
    asset_ids: tuple[str, ...]
    outcomes: tuple[str, ...] = ()
    question: str = ""
    slug: str = ""
    tick: Decimal | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MarketResolvedEvent:
    market: str
    asset_ids: tuple[str, ...]
    winning_asset_id: str = ""
    winning_outcome: str = ""
    timestamp_ms: int | None = None


MarketEvent = (
    BookEvent
    | PriceChangeEvent
    | TickSizeChangeEvent
    | LastTradeEvent
    | BestBidAskEvent
    | NewMarketEvent
    | MarketResolvedEvent
)
