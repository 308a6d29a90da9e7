"""What the strategy thread's package needs from the outside, as ``typing.Protocol``s.

The concrete objects are built by the composition root (``pmbot.runner_parts``): the SQLite
``Journal``, ``pmbot.metrics.Metrics`` and the ``AppState`` the health server reads. Queues are
typed here once: ``Inbound`` carries every message the strategy thread applies (market data,
user-channel events, executor reports, snapshots), ``Commands`` the executor's commands.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pmbot.model import BotCommand, Fill, NewOrder, TradeStatus
from pmbot.state import StateView

if TYPE_CHECKING:
    from pmbot.strategy.pull_rule import QuoteGuard
    from pmbot.trading.inventory import HedgedSet
    from pmbot.trading.journal_records import JournalState

Inbound = queue.Queue[Any]  # MarketUpdate | TradeEvent | OrderEvent | ExecutorReport | ... | _STOP


class PullPort(Protocol):
    """The market-feed thread's stale-quote pulls (``pmbot.execution.pulls.PullDesk``)."""

    def arm(self, guards: Iterable[QuoteGuard]) -> None: ...

    def disarm(self, markets: Iterable[str]) -> tuple[str, ...]: ...

    def settle(self, order_ids: Iterable[str]) -> None: ...


class PresignPort(Protocol):
    """Orders signed ahead while the strategy thread is idle (``execution.presign.Presigner``)."""

    def offer(self, candidates: Iterable[NewOrder]) -> None: ...

    def work_one(self) -> bool: ...


class Commands(Protocol):
    """Where the strategy thread's commands go: the executor's queue, or (in the bot) its
    ``CommandLoop.submit``, which routes on the strategy thread when it can (issue 20)."""

    def put(self, item: BotCommand) -> None: ...


class TradingJournal(Protocol):
    """The durable record the strategy thread writes before it changes memory (``Journal``)."""

    def load(self) -> JournalState: ...

    def record_order(
        self, order_id: str, order: NewOrder, *, status: str = ..., ts: float | None = ...
    ) -> None: ...

    def record_fill(self, fill: Fill) -> bool: ...

    def update_fill_status(self, trade_id: str, order_id: str, status: TradeStatus) -> bool: ...

    def record_seed(
        self, positions: Mapping[str, tuple[Decimal, Decimal]], ts: float | None = ...
    ) -> None: ...

    def record_adoption(
        self,
        token_id: str,
        size: Decimal,
        avg_price: Decimal | None = ...,
        ts: float | None = ...,
    ) -> None: ...

    def record_hedged_set(self, hs: HedgedSet) -> None: ...

    def release_hedged_set(self, set_id: str, ts: float | None = ...) -> None: ...

    def load_operator_pauses(self) -> str | None: ...

    def save_operator_pauses(self, text: str) -> None: ...


class TradingMetrics(Protocol):
    """The metrics the strategy thread writes (a subset of ``pmbot.metrics.Metrics``)."""

    orders_created_total: Any
    orders_cancelled_total: Any
    reconcile_diffs_total: Any
    inventory_mismatch_total: Any
    inventory_shares: Any
    inventory_usd: Any
    exposure_shares: Any
    exposure_usd: Any
    imbalance_usd: Any
    open_orders: Any
    quotes: Any
    unknown_outcome_orders: Any
    position_value_usd: Any
    position_value_by_kind_usd: Any
    risk_reduce_only: Any
    arb_opportunities_total: Any
    arb_taken_total: Any
    arb_skipped_total: Any
    arb_edge_usd_total: Any
    arb_legging_loss_usd_total: Any
    arb_open_sets: Any
    reward_score: Any
    reward_share_estimate: Any

    def set_risk_state(self, market: str, reason: str | None) -> None: ...

    def set_halted(self, reason: str | None) -> None: ...

    def set_venue_mode(self, mode: object) -> None: ...

    def set_pnl(self, *, realized: Decimal, unrealized: Decimal, fees: Decimal) -> None: ...

    def count_fill(self, market: str, side: object, size: Decimal, price: Decimal) -> None: ...

    def count_rejection(self, kind: str) -> None: ...


class StatePublisher(Protocol):
    """Where the strategy thread publishes its read-only view (``AppState``)."""

    def publish(self, view: StateView) -> None: ...
