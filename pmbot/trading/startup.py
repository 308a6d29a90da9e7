"""The strategy thread's start-up, done before its loop runs: restore the journal, seed positions
from the Data API on a fresh journal, and take over the orders this key already has resting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pmbot.model import OpenOrder, PositionsSnapshot, TradeStatus
from pmbot.trading.context import MarketIndex
from pmbot.trading.fills import FillTracker
from pmbot.trading.inventory import Inventory
from pmbot.trading.journal_records import replay
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import TradingJournal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Restored:
    fill_count: int  # fills that count (FAILED ones excluded)
    anything: bool  # the journal held fills, adjustments or hedged sets
    last_trade_ts: float  # newest journalled fill, 0.0 if none


def restore_from_journal(
    journal: TradingJournal, inventory: Inventory, fills: FillTracker
) -> Restored:
    """Rebuild inventory, P&L, hedged sets and the fill dedupe set from the journal."""
    restored = journal.load()
    replay(restored, inventory, tracker=fills)
    if restored.fills:
        log.info(
            "journal: restored %d fill(s), %d hedged set(s); realized P&L %s",
            len(restored.fills),
            len(restored.hedged_sets),
            inventory.pnl({}).realized,
        )
    return Restored(
        fill_count=sum(1 for f in restored.fills if f.status is not TradeStatus.FAILED),
        anything=bool(restored.fills or restored.adjustments or restored.hedged_sets),
        last_trade_ts=restored.last_trade_ts or 0.0,
    )


def seed_positions(
    source: Callable[[], PositionsSnapshot] | None,
    restored: Restored,
    index: MarketIndex,
    journal: TradingJournal,
    inventory: Inventory,
) -> tuple[int, float]:
    """Seed inventory from the venue (Data API) so positions persist across restarts; returns how
    many positions were seeded and when the snapshot was taken (0.0: no seed)."""
    if source is None:
        return 0, 0.0
    if restored.anything:
        # The journal already holds positions and history; the Data API lags the CLOB, so a
        # re-seed could drop the newest fills. The periodic reconcile settles any real difference.
        log.info("positions restored from the journal; the Data API reconciles them periodically")
        return 0, 0.0
    snapshot = source()
    ours = {
        r.token_id: (r.size, r.avg_price)
        for r in snapshot.positions
        if r.token_id in index.by_token and r.size != 0
    }
    journal.record_seed(ours)
    inventory.seed(ours)
    return len(ours), snapshot.taken_ts


def take_over_open_orders(
    tracker: OrderTracker, orders: tuple[OpenOrder, ...], policy: str, now: float
) -> list[str]:
    """The orders this key already has resting. ``adopt``: tracked as live from now on (never
    cancelled as orphans); ``cancel``: returned, for the caller to cancel before the first quote."""
    if policy != "adopt":
        return [o.order_id for o in orders]
    adopted = tracker.adopt(orders, now)
    if adopted:
        log.info("start-up: adopted %d open order(s) found on the venue", len(adopted))
    return []
