"""How the strategy thread applies each inbound message, one handler per message type.

``Handlers.table()`` is the engine's dispatch table: message type -> handler. Market data is not in
it (the engine coalesces ``MarketUpdate``s per batch); fills and Data API positions are applied by
``pmbot.trading.holdings``. Handlers change the tracker, the baskets, the status and the metrics;
the only I/O is putting commands on the executor's queue and writing the journal.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmbot.control.bridge import OperatorCommand
from pmbot.model import (
    Cancel,
    CancelResult,
    CollateralSnapshot,
    FeedStatus,
    OpenOrdersSnapshot,
    OrderAccepted,
    OrderEvent,
    OrderEventKind,
    OrderRejected,
    OrderUnknown,
    PositionsSnapshot,
    Tick,
    TradeEvent,
    VenueModeChanged,
)
from pmbot.trading.baskets import BasketBook
from pmbot.trading.context import VenueStatus
from pmbot.trading.holdings import Holdings
from pmbot.trading.orders import OrderTracker, TrackedOrder
from pmbot.trading.ports import Commands, TradingJournal, TradingMetrics

log = logging.getLogger(__name__)

# "not enough balance/allowance: need 3 pUSD, balance 2.5, allowance unlimited, free 2.5"
_REFUSAL_FREE = re.compile(r"not enough balance/allowance: need \S+ pUSD, .*\bfree (\d+(?:\.\d+)?)")

Handler = Callable[[Any], None]


class Handlers:
    def __init__(
        self,
        *,
        tracker: OrderTracker,
        baskets: BasketBook,
        holdings: Holdings,
        status: VenueStatus,
        journal: TradingJournal,
        metrics: TradingMetrics,
        commands: Commands,
        clock: Callable[[], float],
        operator: Callable[[OperatorCommand], None],
    ) -> None:
        self.operator = operator  # the control desk: ctl commands and reloads (pmbot.control)
        self.tracker = tracker
        self.baskets = baskets
        self.holdings = holdings
        self.status = status
        self.journal = journal
        self.metrics = metrics
        self.commands = commands
        self.clock = clock

    def table(self) -> dict[type, Handler]:
        return {
            TradeEvent: self.holdings.on_trade,
            OrderEvent: self.on_order_event,
            OrderAccepted: self.on_accepted,
            OrderRejected: self.on_rejected,
            OrderUnknown: self.on_unknown,
            CancelResult: self.on_cancel_result,
            OpenOrdersSnapshot: self.on_open_orders,
            VenueModeChanged: self.on_venue_mode,
            FeedStatus: self.on_feed_status,
            PositionsSnapshot: self.holdings.on_positions,
            CollateralSnapshot: self.on_collateral,
            OperatorCommand: self.operator,
            Tick: lambda _tick: None,  # a wake-up: the decision after the batch is what it is for
        }

    # ------------------------------------------------------------------ order reports

    def count_cancelled(self, orders: list[TrackedOrder]) -> None:
        for t in orders:
            self.metrics.orders_cancelled_total.labels(market=t.order.market).inc()

    def on_order_event(self, ev: OrderEvent) -> None:
        gone = self.tracker.on_order_event(ev, self.clock())
        if gone is not None and ev.kind is OrderEventKind.CANCELLATION:
            self.count_cancelled([gone])

    def on_accepted(self, ev: OrderAccepted) -> None:
        now = self.clock()
        self.tracker.on_accepted(ev, now)
        self.journal.record_order(ev.order_id, ev.order, status=ev.status.upper())
        self.baskets.on_accepted(ev, now)
        self.metrics.orders_created_total.labels(market=ev.order.market).inc()

    def on_rejected(self, ev: OrderRejected) -> None:
        now = self.clock()
        self.tracker.on_rejected(ev)
        self.baskets.on_rejected(ev, now)
        if ev.kind in ("rejected", "transient"):
            # The error-rate breaker is about orders the venue refused or could not take; refusals
            # by a venue mode (cancel-only probes) or local supersession are not errors of ours.
            self.status.recent_rejects.append(now)
        self.metrics.count_rejection(ev.kind)
        self._balance_from_refusal(ev.reason)
        o = ev.order
        # A create dropped here because a newer cancel of its market overtook it (or at shutdown)
        # is the bot working as meant: not worth a warning on every busy re-quote.
        log.log(
            logging.INFO if ev.kind == "local" else logging.WARNING,
            "order rejected (%s): %s %s %s @ %s: %s",
            ev.kind,
            o.side.value,
            o.size,
            o.token_id[-8:],
            o.price,
            ev.reason,
        )

    def on_unknown(self, ev: OrderUnknown) -> None:
        now = self.clock()
        self.tracker.on_unknown(ev, now)
        self.baskets.on_accepted(ev, now)
        log.warning(
            "order %s outcome unknown (%s): treated as live until reconciled",
            ev.order_id[:12],
            ev.reason,
        )

    def on_cancel_result(self, ev: CancelResult) -> None:
        self.count_cancelled(self.tracker.on_cancel_result(ev, self.clock()))

    def on_open_orders(self, snap: OpenOrdersSnapshot) -> None:
        now = self.clock()
        taken_at = now - (time.monotonic_ns() - snap.taken_ns) / 1e9
        diff = self.tracker.reconcile(snap.orders, now, taken_at=taken_at)
        if diff.orphans:
            ids = tuple(o.order_id for o in diff.orphans)
            log.warning(
                "reconcile: %d order(s) on the venue unknown to the bot: cancelling", len(ids)
            )
            self.metrics.reconcile_diffs_total.labels(cause="unknown_on_venue").inc(len(ids))
            self.commands.put(Cancel(order_ids=ids))
        for t, cause in diff.dropped:
            log.warning("reconcile: order %s no longer on the venue (%s)", t.order_id[:12], cause)
            self.metrics.reconcile_diffs_total.labels(cause="missing_on_venue").inc()

    # ------------------------------------------------------------------ venue and feed status

    def on_collateral(self, snap: CollateralSnapshot) -> None:
        if snap.free_usd != self.status.collateral_usd:
            level = logging.INFO if self.status.collateral_usd is None else logging.DEBUG
            allowance = "unlimited" if snap.allowance_usd is None else snap.allowance_usd
            log.log(
                level,
                "pUSD balance %s, allowance %s: %s free before open orders",
                snap.balance_usd,
                allowance,
                snap.free_usd,
            )
        self.status.set_collateral(snap.free_usd, self.holdings.inventory.cash_flow())

    def _balance_from_refusal(self, reason: str) -> None:
        """A balance refusal as the executor reports it carries a fresh ``GET /balance-allowance``
        (``wire_clob.balance_refusal_message``): the strategy sizes within that figure at once."""
        found = _REFUSAL_FREE.search(reason)
        if found is None:
            return
        free = Decimal(found.group(1))
        log.warning("balance refusal: the venue reports %s pUSD free; sizing within it", free)
        self.status.set_collateral(free, self.holdings.inventory.cash_flow())

    def on_venue_mode(self, ev: VenueModeChanged) -> None:
        if ev.mode is not self.status.venue_mode:
            log.warning(
                "venue mode %s -> %s (%s)", self.status.venue_mode.value, ev.mode.value, ev.reason
            )
        self.status.venue_mode = ev.mode
        self.metrics.set_venue_mode(ev.mode)

    def on_feed_status(self, ev: FeedStatus) -> None:
        if self.status.feeds_up.get(ev.connection) != ev.up:
            log.info("feed %s %s %s", ev.connection, "up" if ev.up else "DOWN", ev.reason)
        self.status.feeds_up[ev.connection] = ev.up
