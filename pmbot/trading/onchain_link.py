"""The strategy thread's link to the on-chain worker (merges and redemptions, issue 18). Only built
when ``onchain.enabled``; without it the engine does exactly what it did before.

``OnchainDesk`` (pmbot.onchain.desk) plans; this module feeds it from the thread's state and books
its outcomes: after each decision the desk plans on the inventory (keeping the shares resting in
the bot's own SELL orders); a completed binary arbitrage set is merged at the next tick; a market
whose book reports ``resolved`` is redeemed; ``OnchainSettled`` becomes synthetic fills through the
ordinary fill path (journal first; a replayed settlement is a duplicate and dropped) and releases
the market's hedged sets; the Data API positions check skips tokens with a merge or redeem in
flight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from pmbot.model import ZERO, MarketInfo, Side
from pmbot.onchain.desk import IntentSink, OnchainDesk
from pmbot.onchain.messages import OnchainFailed, OnchainSettled
from pmbot.onchain.planner import PlanLimits
from pmbot.trading.context import MarketIndex
from pmbot.trading.holdings import Holdings
from pmbot.trading.inventory import HedgedSet, Inventory
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import TradingJournal

log = logging.getLogger(__name__)

RESOLVED_REASON = "resolved"  # MarketUpdate.reason once the market channel saw market_resolved


class OnchainMetricsPort(Protocol):
    """``pmbot.onchain.metrics.OnchainMetrics``."""

    def observe(self, ev: OnchainSettled | OnchainFailed) -> None: ...

    def set_pending(self, n: int) -> None: ...


class OnchainLink:
    def __init__(
        self,
        *,
        sink: IntentSink,
        merge_min_usd: Decimal,
        index: MarketIndex,
        inventory: Inventory,
        tracker: OrderTracker,
        holdings: Holdings,
        journal: TradingJournal,
        metrics: OnchainMetricsPort | None,
        clock: Callable[[], float],
    ) -> None:
        self.desk = OnchainDesk(sink, PlanLimits(merge_min_usd))
        self.index = index
        self.inventory = inventory
        self.tracker = tracker
        self.holdings = holdings
        self.journal = journal
        self.metrics = metrics
        self.clock = clock

    def table(self) -> dict[type, Callable[[Any], None]]:
        return {OnchainSettled: self.on_settled, OnchainFailed: self.on_failed}

    # ------------------------------------------------------------------ what happened

    def on_hedged_set(self, hs: HedgedSet) -> None:
        """The arbitrage desk recorded a set: a binary complete set (the YES and the NO of one
        market) is merged at the next tick."""
        tokens = {tok for tok, _ in hs.legs}
        market = self.index.by_token.get(next(iter(tokens), ""))
        if market is not None and tokens == {market.yes_token, market.no_token}:
            self.desk.on_arbitrage_set(market.condition_id)

    def on_book_reason(self, condition_id: str, reason: str) -> None:
        if reason == RESOLVED_REASON and not self.desk.is_resolved(condition_id):
            log.info("onchain: market %s resolved: its positions will be redeemed", condition_id)
            self.desk.on_resolved(condition_id, None)  # the winner is learnt from the payout

    def on_resolved(self, condition_id: str, winning_token: str | None) -> None:
        self.desk.on_resolved(condition_id, winning_token)

    # ------------------------------------------------------------------ planning

    def tick(self) -> None:
        self.desk.tick(self.index.by_cid.values(), self.inventory.shares, self._resting_sells)
        if self.metrics is not None:
            self.metrics.set_pending(len(self.desk.pending))

    def _resting_sells(self, token_id: str) -> Decimal:
        return sum(
            (
                t.remaining
                for t in self.tracker.all()
                if t.order.token_id == token_id and t.order.side is Side.SELL
            ),
            ZERO,
        )

    def pending_tokens(self) -> set[str]:
        return self.desk.pending_tokens(self.index.by_cid.values())

    # ------------------------------------------------------------------ outcomes

    def on_settled(self, ev: OnchainSettled) -> None:
        market = self.index.by_cid.get(ev.condition_id)
        if market is None:
            log.warning("onchain: settlement for unknown market %s ignored", ev.condition_id)
            return
        fills = self.desk.on_settled(
            ev, market, self.inventory.shares, self.inventory.avg_cost, ts=self.clock()
        )
        booked = [f for f in fills if self.holdings.book(f)]
        if booked:
            self._release_sets(market, ev.shares if ev.kind == "merge" else None)
            log.info("onchain: %s of %s settled: %s pUSD", ev.kind, ev.condition_id, ev.collateral)
        if self.metrics is not None:
            self.metrics.observe(ev)

    def _release_sets(self, market: MarketInfo, merged: Decimal | None) -> None:
        """The market's hedged sets that were merged (up to ``merged`` sets) or redeemed (all,
        ``merged`` None): their shares are gone."""
        tokens = {market.yes_token, market.no_token}
        left = merged
        for hs in self.inventory.hedged_sets():
            size = min((s for _, s in hs.legs), default=ZERO)
            if not {tok for tok, _ in hs.legs} <= tokens or (left is not None and size > left):
                continue
            self.inventory.release_hedged_set(hs.set_id)
            self.journal.release_hedged_set(hs.set_id)
            if left is not None:
                left -= size

    def on_failed(self, ev: OnchainFailed) -> None:
        self.desk.on_failed(ev)
        level = logging.ERROR if ev.final else logging.WARNING
        log.log(level, "onchain: %s of %s failed: %s", ev.kind, ev.condition_id, ev.error)
        if self.metrics is not None:
            self.metrics.observe(ev)
