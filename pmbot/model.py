"""Shared vocabulary: enums, exact price helpers and the frozen messages that travel on the queues.

Money is exact: prices and sizes are ``Decimal`` (never floats), amounts on the wire are integers
in 1e-6 units. Every message is a frozen, slotted dataclass; raw venue dicts never cross into the
core. This module imports nothing from the rest of pmbot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Union

ZERO = Decimal(0)
ONE = Decimal(1)
BASE_UNITS = 1_000_000  # pUSD and outcome shares both have 6 decimals


class Side(str, enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class Outcome(str, enum.Enum):
    YES = "YES"
    NO = "NO"


class OrderType(str, enum.Enum):
    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    FAK = "FAK"


class OrderEventKind(str, enum.Enum):
    PLACEMENT = "PLACEMENT"
    UPDATE = "UPDATE"
    CANCELLATION = "CANCELLATION"


class TradeStatus(str, enum.Enum):
    MATCHED = "MATCHED"
    MINED = "MINED"
    CONFIRMED = "CONFIRMED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"


class VenueMode(str, enum.Enum):
    NORMAL = "normal"
    CANCEL_ONLY = "cancel_only"
    POST_ONLY = "post_only"
    DISABLED = "disabled"


# --------------------------------------------------------------------------- price helpers


def dec(value: str | int | float | Decimal) -> Decimal:
    """Decimal from a venue value. Floats go through ``repr`` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def round_down(price: Decimal, tick: Decimal) -> Decimal:
    """Largest multiple of ``tick`` that is <= ``price``."""
    return (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def round_up(price: Decimal, tick: Decimal) -> Decimal:
    """Smallest multiple of ``tick`` that is >= ``price``."""
    return (price / tick).to_integral_value(rounding=ROUND_CEILING) * tick


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return (price / tick) == (price / tick).to_integral_value()


def price_in_bounds(price: Decimal, tick: Decimal) -> bool:
    """The venue accepts ``tick <= price <= 1 - tick``."""
    return tick <= price <= ONE - tick


def to_base_units(amount: Decimal) -> int:
    """Exact conversion to 1e-6 units; raises if ``amount`` has more than 6 decimals."""
    scaled = amount * BASE_UNITS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than 6 decimals")
    return int(scaled)


def from_base_units(units: int) -> Decimal:
    return Decimal(units) / BASE_UNITS


# --------------------------------------------------------------------------- static market facts


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One binary market (one condition): YES and NO tokens, tick, minimum size, fees."""

    condition_id: str
    yes_token: str
    no_token: str
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)
    neg_risk: bool = False
    fee_rate: Decimal = ZERO  # taker fee = shares * fee_rate * p * (1 - p)
    slug: str = ""
    question: str = ""
    end_date_ts: float | None = None  # unix seconds; None = unknown
    event_slug: str = ""  # the neg-risk event this market belongs to, if any
    outcome_label: str = ""  # e.g. the candidate's name inside a multi-outcome event
    # liquidity rewards (pmbot.rewards), as the venue publishes them; 0 = the market pays none
    rewards_max_spread: Decimal = ZERO  # cents from the size-adjusted midpoint
    rewards_min_size: Decimal = ZERO  # shares
    rewards_daily_rate: Decimal = ZERO  # pool per day (USD)

    def outcome_of(self, token_id: str) -> Outcome:
        if token_id == self.yes_token:
            return Outcome.YES
        if token_id == self.no_token:
            return Outcome.NO
        raise KeyError(token_id)

    def other_token(self, token_id: str) -> str:
        return self.no_token if token_id == self.yes_token else self.yes_token


@dataclass(frozen=True, slots=True)
class EventInfo:
    """A multi-outcome (neg-risk) event: one binary market per outcome."""

    slug: str
    markets: tuple[MarketInfo, ...]
    neg_risk: bool = True
    neg_risk_augmented: bool = False


# --------------------------------------------------------------------------- inbound: market data


Level = tuple[Decimal, Decimal]  # (price, size)


@dataclass(frozen=True, slots=True)
class MarketUpdate:
    """A token's book changed. Levels are best first (bids descending, asks ascending), at most a
    few levels deep, enough for depth-aware arbitrage. ``live`` is False while the book is being
    resynced, is inconsistent or its connection is down: nothing may be quoted on it then."""

    token_id: str
    market: str  # condition id
    best_bid: Decimal | None
    best_ask: Decimal | None
    bid_size: Decimal
    ask_size: Decimal
    tick: Decimal
    live: bool
    recv_ns: int  # time.monotonic_ns() when the frame came off the socket
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    reason: str = ""  # why not live
    last_trade_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A connection's health changed (connected, disconnected, rotated for silence)."""

    connection: str
    up: bool
    reason: str = ""


# --------------------------------------------------------------------------- inbound: user channel


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order's state from the user channel (or from a REST reconcile)."""

    order_id: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    size_matched: Decimal  # cumulative
    kind: OrderEventKind
    status: str = ""  # LIVE, MATCHED, CANCELED, ...
    owner: str = ""
    ts: float = 0.0


@dataclass(frozen=True, slots=True)
class MakerOrderEntry:
    order_id: str
    owner: str
    token_id: str
    price: Decimal
    matched_amount: Decimal
    side: Side | None = None  # present in newer payloads; else derived (NORMAL/MINT/MERGE rule)
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A trade as the user channel or ``GET /data/trades`` reports it; top-level fields describe the
    taker order. The same ``trade_id`` is re-sent on every status change."""

    trade_id: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    status: TradeStatus
    taker_order_id: str
    owner: str
    maker_orders: tuple[MakerOrderEntry, ...]
    fee_rate_bps: Decimal = ZERO
    trader_side: str = ""  # TAKER / MAKER when present
    ts: float = 0.0


@dataclass(frozen=True, slots=True)
class Fill:
    """One of the bot's own fills, derived from a TradeEvent. Unique by (trade_id, order_id)."""

    trade_id: str
    order_id: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee_usd: Decimal
    is_maker: bool
    status: TradeStatus
    ts: float = 0.0
    # Exact pUSD exchanged (sum of matched_amount * price over the maker entries, in this token's
    # terms). A taker fill across several makers has an average ``price`` that may not be exact;
    # ``notional`` is. None means ``price * size``.
    notional: Decimal | None = None

    @property
    def cost(self) -> Decimal:
        return self.notional if self.notional is not None else self.price * self.size


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One row of the Data API ``GET /positions?user=<funder>`` (venue view, lags the CLOB)."""

    token_id: str
    condition_id: str
    size: Decimal
    avg_price: Decimal
    cur_price: Decimal | None = None
    outcome: str = ""
    outcome_index: int | None = None
    redeemable: bool = False
    mergeable: bool = False
    neg_risk: bool = False


@dataclass(frozen=True, slots=True)
class PositionsSnapshot:
    """What the Data API says the funder holds right now (positions poller -> strategy thread)."""

    positions: tuple[PositionRow, ...]
    taken_ts: float  # wall-clock seconds when the request was answered


# --------------------------------------------------------------------------- commands to the executor


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order the strategy wants placed. ``client_id`` is the strategy's handle until the executor
    reports the venue order id (the EIP-712 order hash)."""

    client_id: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    order_type: OrderType = OrderType.GTC
    post_only: bool = True
    neg_risk: bool = False
    tick: Decimal = Decimal("0.01")
    expiration: int = 0  # unix seconds, GTD only
    tag: str = "quote"  # quote | arb | unwind
    origin_ns: int = (
        0  # monotonic ns when the market data that caused it came off the socket (tick-to-order)
    )


@dataclass(frozen=True, slots=True)
class Create:
    orders: tuple[NewOrder, ...]


@dataclass(frozen=True, slots=True)
class Cancel:
    order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Replace:
    """Cancel these, then create those, batched together (cancels go first)."""

    cancel_ids: tuple[str, ...]
    creates: tuple[NewOrder, ...]
    # The creates cannot cross any order being cancelled (checked by the strategy thread), so the
    # executor may post them before the cancels: the new quotes go out one round trip sooner. A
    # create the venue refuses for balance is retried once after the cancels freed the collateral.
    post_first: bool = False


@dataclass(frozen=True, slots=True)
class CancelAll:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Shutdown:
    reason: str = ""


BotCommand = Union[Create, Cancel, Replace, CancelAll, Shutdown]


# --------------------------------------------------------------------------- executor reports


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    client_id: str
    order_id: str
    status: str  # live | matched | delayed | unmatched
    order: NewOrder
    taking_amount: str = ""
    making_amount: str = ""
    trade_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The venue (or the executor's own checks) refused the order. ``kind`` is ``rejected``,
    ``venue_mode``, ``transient`` (retries exhausted) or ``local`` (never sent)."""

    client_id: str
    order: NewOrder
    reason: str
    kind: str = "rejected"
    order_id: str = ""


@dataclass(frozen=True, slots=True)
class OrderUnknown:
    """Submit outcome unknown (timeout/reset after send): the order counts as live under
    ``order_id`` until the user channel or a reconcile resolves it."""

    client_id: str
    order_id: str
    order: NewOrder
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancelResult:
    canceled: tuple[str, ...]
    not_canceled: tuple[tuple[str, str], ...] = ()  # (order_id, reason)
    failed: tuple[str, ...] = ()  # request failed entirely; state unknown, reconcile will tell


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An open order as the venue lists it (``GET /data/orders``)."""

    order_id: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    original_size: Decimal
    size_matched: Decimal
    status: str = "LIVE"
    order_type: str = "GTC"
    owner: str = ""


@dataclass(frozen=True, slots=True)
class OpenOrdersSnapshot:
    """What the venue says is open right now (periodic reconcile)."""

    orders: tuple[OpenOrder, ...]
    taken_ns: int


@dataclass(frozen=True, slots=True)
class VenueModeChanged:
    mode: VenueMode
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """Periodic wake-up for time-based logic (guards, expiries, summaries)."""

    now: float


ExecutorReport = Union[
    OrderAccepted, OrderRejected, OrderUnknown, CancelResult, OpenOrdersSnapshot, VenueModeChanged
]
