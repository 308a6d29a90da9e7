"""Shared vocabulary and the frozen messages that travel on the queues, by theme:

- ``vocabulary``: enums and exact price helpers (Decimal money, 1e-6 base units);
- ``markets``: market and event facts, book updates and feed status;
- ``venue_reports``: what the venue reports about the account (order events, trades, fills, the
  open-orders listing, positions);
- ``orders``: the orders the bot sends, the executor's commands and reports (its docstring lists the
  record type of each stage of an order's life).

Every message is a frozen, slotted dataclass; raw venue dicts never cross into the core. Nothing
here imports the rest of pmbot. Import names from ``pmbot.model`` itself.
"""

from __future__ import annotations

from pmbot.model.markets import (  # noqa: F401
    EventInfo,
    FeedStatus,
    Level,
    MarketInfo,
    MarketUpdate,
)
from pmbot.model.orders import (  # noqa: F401
    BotCommand,
    Cancel,
    CancelAll,
    CancelResult,
    Create,
    ExecutorReport,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    OrderUnknown,
    QuotesPulled,
    Replace,
    Shutdown,
    Tick,
    VenueModeChanged,
)
from pmbot.model.venue_reports import (  # noqa: F401
    CollateralSnapshot,
    Fill,
    MakerOrderEntry,
    OpenOrder,
    OpenOrdersSnapshot,
    OrderEvent,
    PositionRow,
    PositionsSnapshot,
    TradeEvent,
)
from pmbot.model.vocabulary import (  # noqa: F401
    BASE_UNITS,
    ONE,
    ZERO,
    OrderEventKind,
    OrderType,
    Outcome,
    Side,
    TradeStatus,
    VenueMode,
    dec,
    from_base_units,
    on_tick,
    price_in_bounds,
    round_down,
    round_up,
    to_base_units,
)
