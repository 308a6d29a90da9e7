"""What the bot holds: the user channel's trades become fills (journal first, then inventory), and
the Data API's positions are compared with the inventory (``position_check``), a difference that
outlives the settlement lag being adopted from the venue (journal first as well).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pmbot.model import Fill, MarketInfo, PositionsSnapshot, TradeEvent
from pmbot.trading.baskets import BasketBook
from pmbot.trading.context import MarketIndex, VenueStatus
from pmbot.trading.fills import FillChange, FillTracker
from pmbot.trading.inventory import Inventory
from pmbot.trading.ports import TradingJournal, TradingMetrics
from pmbot.trading.position_check import PositionAction, PositionReconciler

log = logging.getLogger(__name__)


class Holdings:
    def __init__(
        self,
        *,
        index: MarketIndex,
        fills: FillTracker,
        inventory: Inventory,
        baskets: BasketBook,
        status: VenueStatus,
        journal: TradingJournal,
        metrics: TradingMetrics,
        clock: Callable[[], float],
        settlement_lag_secs: float,
    ) -> None:
        self.index = index
        self.fills = fills
        self.inventory = inventory
        self.baskets = baskets
        self.status = status
        self.journal = journal
        self.metrics = metrics
        self.clock = clock
        self.reconciler = PositionReconciler(settlement_lag_secs=settlement_lag_secs)
        # tokens the positions check leaves alone (a merge or redeem in flight moves them on chain)
        self.skip_tokens: Callable[[], set[str]] = set
        # Trades stamped before this second are in the Data API seed of a fresh start (0.0: no
        # seed), so the user channel's first catch-up (which looks back a while) or a late status
        # update of such a trade must not book them a second time. Venue trade times have
        # one-second resolution: a trade in the seed's own second is booked (the positions check
        # settles the rare double count), never one made after the seed dropped.
        self.seeded_before = 0.0

    # ------------------------------------------------------------------ fills

    def on_trade(self, trade: TradeEvent) -> None:
        if trade.ts and trade.ts < self.seeded_before:
            log.info(
                "trade %s (%s) predates the position seed: already counted, not booked again",
                trade.trade_id[:12],
                trade.status.value,
            )
            return
        for change in self.fills.on_trade(trade, self.index.by_cid):
            fill = change.fill
            market = self.index.by_token.get(fill.token_id)
            if change.kind == "new":
                if not self.journal.record_fill(fill):
                    continue  # already journalled (e.g. replayed by a reconcile after restart)
                self._apply_new(fill, market)
            elif change.kind == "reversed":
                self.journal.update_fill_status(fill.trade_id, fill.order_id, fill.status)
                self.inventory.reverse_fill(fill, market)
                self.status.fill_count -= 1
                log.warning(
                    "fill reversed (trade %s FAILED): %s %s @ %s",
                    fill.trade_id[:12],
                    fill.side.value,
                    fill.size,
                    fill.price,
                )
            else:
                self.journal.update_fill_status(fill.trade_id, fill.order_id, fill.status)
                self.inventory.update_status(fill)
            self._after(change)

    def book(self, fill: Fill) -> bool:
        """A fill that is not a venue trade (an on-chain settlement): journal first, then inventory.
        False when it was booked before (a settlement replayed after a restart)."""
        if not self.journal.record_fill(fill):
            return False
        self._apply_new(fill, self.index.by_token.get(fill.token_id))
        return True

    def _apply_new(self, fill: Fill, market: MarketInfo | None) -> None:
        if market is not None:
            self.inventory.apply_fill(fill, market)
        self.status.fill_count += 1
        self.metrics.count_fill(fill.market, fill.side, fill.size, fill.price)
        log.info(
            "fill %s %s %s @ %s on %s (%s, %s)",
            fill.side.value,
            fill.size,
            market.outcome_of(fill.token_id).value if market else "?",
            fill.price,
            fill.market[:10],
            "maker" if fill.is_maker else "taker",
            fill.status.value,
        )

    def _after(self, change: FillChange) -> None:
        self.baskets.on_fill(change)
        self.status.last_trade_ts = max(self.status.last_trade_ts, change.fill.ts)

    # ------------------------------------------------------------------ Data API positions

    def on_positions(self, snap: PositionsSnapshot) -> None:
        tokens = set(self.index.by_token) - self.skip_tokens()
        local = {tok: self.inventory.shares(tok) for tok in tokens}
        for act in self.reconciler.compare(local, snap.positions, self.clock(), tokens=tokens):
            if act.kind == "mismatch":
                self.metrics.inventory_mismatch_total.inc()
                log.warning(
                    "position mismatch on %s: local %s, venue %s "
                    "(resolved for the venue if it persists)",
                    act.token_id[-8:],
                    act.local,
                    act.venue,
                )
            elif act.kind == "adopt":
                self._adopt(act)
            else:
                log.info("position on %s agrees with the venue again", act.token_id[-8:])

    def _adopt(self, act: PositionAction) -> None:
        self.journal.record_adoption(act.token_id, act.venue, act.avg_price)
        self.inventory.set_position(act.token_id, act.venue, act.avg_price)
        log.warning(
            "position on %s set to the venue's %s (was %s for %.0fs)",
            act.token_id[-8:],
            act.venue,
            act.local,
            self.clock() - act.since,
        )
