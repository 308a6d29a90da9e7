"""The strategy thread's side of the control plane: what ``pmbot.control.desk.OperatorDesk`` may ask
of it (status, cancel, flatten orders, reload), on the strategy thread only (single writer).

A reload puts the new parameters in force at once (every market re-quotes at them), drops removed
markets from quoting (their orders cancelled; they stay known so late fills and positions still
land) and starts quoting added ones (their feeds were subscribed before the reload got here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

from pmbot.config import Config
from pmbot.control.bridge import ReloadApply
from pmbot.control.desk import FlattenInputs
from pmbot.control.flatten import FlattenPlan
from pmbot.control.pauses import OperatorPauses
from pmbot.control.status import BotStatus, MarketStatus
from pmbot.model import ZERO, Cancel, CancelAll, Create, MarketInfo, OrderType, Side
from pmbot.strategy.decide import StrategyMemory
from pmbot.strategy.views import DesiredOrder, Verdict
from pmbot.trading.context import Books, MarketIndex
from pmbot.trading.decisions import Decider
from pmbot.trading.inventory import Inventory
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import Commands

log = logging.getLogger(__name__)

CENT_HUNDREDTHS = Decimal("0.0001")


class OperatorSurface:
    """``control.desk.TradingSurface`` over the engine's rooms. ``apply_config`` is the engine's:
    it puts a reloaded config's parameters in force (engine, decider, arbitrage desk)."""

    def __init__(
        self,
        *,
        mode: str,
        funder: str,
        index: MarketIndex,
        books: Books,
        tracker: OrderTracker,
        inventory: Inventory,
        decider: Decider,
        commands: Commands,
        clock: Callable[[], float],
        apply_config: Callable[[Config], None],
    ) -> None:
        self.mode, self.funder = mode, funder
        self.index, self.books, self.tracker, self.inventory = index, books, tracker, inventory
        self.decider, self.commands, self.clock = decider, commands, clock
        self.apply_config = apply_config
        self.started = clock()

    def markets(self) -> Sequence[MarketInfo]:
        return self.index.markets

    # ------------------------------------------------------------------ status

    def status(self, pauses: OperatorPauses) -> BotStatus:
        now = self.clock()
        decision = self.decider.last
        verdicts = {md.condition_id: md.verdict for md in decision.markets} if decision else {}
        mids = self.books.mids()
        rows = tuple(
            self._row(m, verdicts.get(m.condition_id), pauses, mids, now)
            for m in self.index.markets
        )
        bot_pause = pauses.bot
        verdict = decision.verdict if decision is not None else None
        return BotStatus(
            mode=self.mode,
            wallet=self.funder,
            uptime_secs=now - self.started,
            verdict="paused" if bot_pause else (verdict.state if verdict else "starting"),
            reason="operator" if bot_pause else (verdict.reason if verdict else ""),
            paused_by=bot_pause.who if bot_pause else "",
            markets=rows,
        )

    def _row(
        self,
        m: MarketInfo,
        verdict: Verdict | None,
        pauses: OperatorPauses,
        mids: dict[str, Decimal],
        now: float,
    ) -> MarketStatus:
        inv = self.inventory
        pnl = ZERO
        for tok in (m.yes_token, m.no_token):
            if tok in mids:
                pnl += inv.shares(tok) * (mids[tok] - inv.avg_cost(tok))
        paused = pauses.paused(m.condition_id)
        ts = self.books.applied_ts.get(m.yes_token)
        return MarketStatus(
            condition_id=m.condition_id,
            slug=m.slug,
            verdict=verdict.state if verdict is not None else "starting",
            reason=verdict.reason if verdict is not None else "",
            paused_by=paused.who if paused else "",
            quotes=sum(
                1
                for t in self.tracker.all()
                if t.order.market == m.condition_id and t.order.tag == "quote"
            ),
            yes_shares=inv.shares(m.yes_token),
            no_shares=inv.shares(m.no_token),
            exposure_usd=inv.exposure(m, mids.get(m.yes_token)).net_yes_usd,
            pnl_usd=pnl.quantize(CENT_HUNDREDTHS),
            feed_age_secs=None if ts is None else max(0.0, now - ts),
        )

    # ------------------------------------------------------------------ orders

    def cancel_orders(self, condition_id: str | None, reason: str) -> int:
        now = self.clock()
        if condition_id is None:
            ids = list(self.tracker.live_ids())
            self.commands.put(CancelAll(reason=reason))
            self.tracker.on_cancel_sent(ids, now)
            return len(ids)
        ids = [
            t.order_id
            for t in self.tracker.all()
            if t.order.market == condition_id and t.order_id and t.state != "cancelling"
        ]
        if ids:
            self.tracker.on_cancel_sent(ids, now)
            self.commands.put(Cancel(order_ids=tuple(ids), markets=(condition_id,)))
        return len(ids)

    def flatten_inputs(self, market: MarketInfo) -> FlattenInputs:
        yes = self.books.latest.get(market.yes_token)
        no = self.books.latest.get(market.no_token)
        return FlattenInputs(
            yes_shares=self.inventory.shares(market.yes_token),
            no_shares=self.inventory.shares(market.no_token),
            yes_bids=tuple(yes.bids) if yes is not None else (),
            no_bids=tuple(no.bids) if no is not None else (),
        )

    def submit_flatten(self, plan: FlattenPlan) -> None:
        """The plan's SELLs as marketable FAK orders (tag ``unwind``), tracked before they go."""
        now = self.clock()
        orders = []
        for s in plan.sells:
            desired = DesiredOrder(
                plan.market,
                s.token_id,
                Side.SELL,
                s.price,
                s.size,
                post_only=False,
                order_type=OrderType.FAK,
                tag="unwind",
            )
            o = self.decider.new_order(desired, 0)
            self.tracker.on_sent(o, now)
            orders.append(o)
        if orders:
            self.commands.put(Create(orders=tuple(orders)))

    # ------------------------------------------------------------------ reload

    def apply_reload(self, change: ReloadApply) -> str:
        if change.plan.params:
            self.apply_config(change.config)
            # Every market re-quotes at once with the new parameters (its quote state forgotten).
            memory = self.decider.memory
            markets = {cid: replace(mm, state=None) for cid, mm in memory.markets.items()}
            self.decider.memory = StrategyMemory(markets, memory.risk, memory.arb_fired)
        gone = {m.condition_id for m in change.removed}
        for cid in gone:
            self.cancel_orders(cid, "market removed by reload")
        kept = tuple(m for m in self.index.markets if m.condition_id not in gone)
        known = {m.condition_id for m in kept}
        self.index.set_quoted(kept + tuple(m for m in change.added if m.condition_id not in known))
        return change.plan.summary()
