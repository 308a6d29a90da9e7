"""What the venue reports about the bot's account: order events and trades (user channel, REST
catch-up), the open-orders listing (``GET /data/orders``), the bot's fills derived from trades, and
the Data API's positions. Parsed once in ``pmbot.venue``; raw dicts never cross into the core."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.model.vocabulary import ZERO, OrderEventKind, Side, TradeStatus


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


@dataclass(frozen=True, slots=True)
class CollateralSnapshot:
    """The funder's pUSD as ``GET /balance-allowance`` reports it (collateral poller -> strategy
    thread). ``free_usd`` is the balance capped by the binding allowance, before open orders."""

    free_usd: Decimal
    balance_usd: Decimal
    allowance_usd: Decimal | None  # None: the answer named no allowance
    taken_ts: float


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
