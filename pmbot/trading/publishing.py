"""What the strategy thread shows the other threads after each batch: a fresh ``StateView`` (health
check, summary, tests) and, at most every ``METRICS_EVERY_SECS``, the Prometheus gauges."""

from __future__ import annotations

import time

from pmbot.state import StateView
from pmbot.strategy.decide import Decision
from pmbot.trading.context import Books, MarketIndex, Marks, VenueStatus
from pmbot.trading.inventory import Inventory
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import StatePublisher, TradingMetrics
from pmbot.trading.reward_gauges import RewardGauges

METRICS_EVERY_SECS = 0.25


class Publisher:
    def __init__(
        self,
        *,
        index: MarketIndex,
        books: Books,
        status: VenueStatus,
        tracker: OrderTracker,
        inventory: Inventory,
        state: StatePublisher,
        metrics: TradingMetrics,
    ) -> None:
        self.index = index
        self.books = books
        self.status = status
        self.tracker = tracker
        self.inventory = inventory
        self.state = state
        self.metrics = metrics
        self._last_metrics = 0.0
        self._rewards = RewardGauges(index, books, tracker)

    def publish(
        self, marks: Marks, decision: Decision | None, *, quoting: bool, now: float
    ) -> None:
        by_market = self.tracker.count_by_market()
        self.state.publish(self.view(marks, decision, by_market, quoting=quoting, now=now))
        if time.monotonic() - self._last_metrics >= METRICS_EVERY_SECS:
            self._last_metrics = time.monotonic()
            self.publish_metrics(marks, by_market, decision)

    def view(
        self,
        marks: Marks,
        decision: Decision | None,
        by_market: dict[str, int],
        *,
        quoting: bool,
        now: float,
    ) -> StateView:
        paused: dict[str, str] = {}
        halted = ""
        if decision is not None:
            paused = {
                md.condition_id: md.verdict.reason
                for md in decision.markets
                if not md.verdict.may_quote
            }
            halted = "" if decision.verdict.may_quote else decision.verdict.reason
        tokens = self.index.by_token
        return StateView(
            started=True,
            quoting=quoting,
            venue_mode=self.status.venue_mode,
            market_feed_up=self.status.market_feed_up,
            user_feed_up=self.status.user_feed_up,
            live_tokens=self.books.live_count(),
            total_tokens=len(tokens),
            open_orders=len(self.tracker),
            open_orders_by_market=by_market,
            inventory={tok: self.inventory.shares(tok) for tok in tokens},
            position_value_usd=marks.position_value_usd,
            realized_pnl_usd=marks.pnl.realized,
            unrealized_pnl_usd=marks.pnl.unrealized,
            fees_usd=marks.pnl.fees,
            fills=self.status.fill_count,
            paused=paused,
            halted_reason=halted,
            last_decision_ts=now,
            events_processed=self.status.events_processed,
        )

    def publish_metrics(
        self, marks: Marks, by_market: dict[str, int], decision: Decision | None
    ) -> None:
        self._market_gauges(marks, by_market)
        self._quote_gauges()
        m = self.metrics
        m.unknown_outcome_orders.set(self.tracker.unknown_count())
        m.position_value_usd.set(float(marks.position_value_usd))
        m.position_value_by_kind_usd.labels(kind="hedged").set(float(marks.split.hedged_usd))
        m.position_value_by_kind_usd.labels(kind="unhedged").set(float(marks.split.unhedged_usd))
        pnl = marks.pnl
        m.set_pnl(realized=pnl.realized, unrealized=pnl.unrealized, fees=pnl.fees)
        if decision is not None:
            self._risk_gauges(decision)
        self._rewards.publish(m)

    def _market_gauges(self, marks: Marks, by_market: dict[str, int]) -> None:
        m, mids = self.metrics, marks.mids
        for cid, market in self.index.by_cid.items():
            exp = self.inventory.exposure(market, mids.get(market.yes_token))
            for tok, outcome in ((market.yes_token, "YES"), (market.no_token, "NO")):
                shares = self.inventory.shares(tok)
                tok_mid = mids.get(tok)
                m.inventory_shares.labels(market=cid, token=tok, outcome=outcome).set(float(shares))
                m.inventory_usd.labels(market=cid, token=tok, outcome=outcome).set(
                    float(shares * tok_mid) if tok_mid is not None else 0.0
                )
            m.exposure_shares.labels(market=cid).set(float(exp.net_yes_shares))
            if exp.net_yes_usd is not None:  # None until the market has a mid to mark at
                m.exposure_usd.labels(market=cid).set(float(exp.net_yes_usd))
                if exp.imbalance_usd is not None:
                    m.imbalance_usd.labels(market=cid).set(float(exp.imbalance_usd))
            m.open_orders.labels(market=cid).set(by_market.get(cid, 0))

    def _quote_gauges(self) -> None:
        quotes: dict[tuple[str, str], int] = {}
        for t in self.tracker.all():
            if t.order.tag == "quote":
                key = (t.order.market, t.order.side.value)
                quotes[key] = quotes.get(key, 0) + 1
        for cid in self.index.by_cid:
            for side in ("BUY", "SELL"):
                self.metrics.quotes.labels(market=cid, side=side).set(quotes.get((cid, side), 0))

    def _risk_gauges(self, decision: Decision) -> None:
        m = self.metrics
        for md in decision.markets:
            v = md.verdict
            m.set_risk_state(md.condition_id, None if v.state == "quoting" else v.reason or v.state)
        reducing = decision.verdict.reason if decision.verdict.state == "reduce_only" else ""
        m.risk_reduce_only.clear()
        m.risk_reduce_only.labels(reason=reducing).set(1 if reducing else 0)
        m.set_halted(None if decision.verdict.may_quote else decision.verdict.reason)

    def clear_order_metrics(self) -> None:
        """After the kill switch verified that nothing rests, the resting-order gauges read zero."""
        self.metrics.unknown_outcome_orders.set(0)
        for cid in self.index.by_cid:
            self.metrics.open_orders.labels(market=cid).set(0)
            for side in ("BUY", "SELL"):
                self.metrics.quotes.labels(market=cid, side=side).set(0)
