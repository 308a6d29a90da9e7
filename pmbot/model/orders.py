"""An order from the bot's side: the order it sends (``NewOrder``), the commands that carry orders
and cancels to the executor, and the executor's reports back.

One record type per stage of an order's life, each conversion in one place:

- desired by the strategy: ``pmbot.strategy.views.DesiredOrder`` -> ``NewOrder`` by
  ``DesiredOrder.to_new_order`` (client id, tick and neg-risk added by
  ``pmbot.trading.decisions.Decider.new_order``);
- sent and tracked by the bot: ``NewOrder`` inside ``pmbot.trading.orders.TrackedOrder`` (venue id,
  matched size, state); the strategy reads it as ``LiveOrder`` through ``TrackedOrder.as_live``;
- reported by the venue: ``OrderEvent`` (a change, user channel) and ``OpenOrder`` (a listing row),
  in ``pmbot.model.venue_reports``; an order found resting at start-up becomes tracked through
  ``pmbot.trading.orders.adopted_order``;
- journalled: ``pmbot.trading.journal_records.JournalOrder`` (a history row, read back only).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.model.venue_reports import OpenOrdersSnapshot
from pmbot.model.vocabulary import OrderType, Side, VenueMode


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
    # The markets of those orders: the executor drops quote creates of these markets that are still
    # waiting to be sent (they were decided before this cancel and must never land after it).
    markets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Replace:
    """Cancel these, then create those, batched together (cancels go first)."""

    cancel_ids: tuple[str, ...]
    creates: tuple[NewOrder, ...]
    # The creates cannot cross any order being cancelled (checked by the strategy thread), so the
    # executor may post them before the cancels: the new quotes go out one round trip sooner. A
    # create the venue refuses for balance is retried once after the cancels freed the collateral.
    post_first: bool = False
    markets: tuple[str, ...] = ()  # the markets of ``cancel_ids`` (see ``Cancel.markets``)


@dataclass(frozen=True, slots=True)
class CancelAll:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Shutdown:
    reason: str = ""


BotCommand = Create | Cancel | Replace | CancelAll | Shutdown


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
    all_failed: bool = False  # a cancel-all failed: every order being cancelled may still rest


@dataclass(frozen=True, slots=True)
class QuotesPulled:
    """The market-feed thread cancelled these quotes of ``market`` because a book move made them
    stale (issue 20); put on Inbound before the update that moved the book. The answer follows as a
    ``CancelResult``."""

    market: str
    order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VenueModeChanged:
    mode: VenueMode
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """Periodic wake-up for time-based logic (guards, expiries, summaries)."""

    now: float


ExecutorReport = (
    OrderAccepted
    | OrderRejected
    | OrderUnknown
    | CancelResult
    | QuotesPulled
    | OpenOrdersSnapshot
    | VenueModeChanged
)
