"""The arbitrage desk: carries out the strategy's arbitrage decisions inside the strategy thread.

It sends all legs of a fired opportunity together (FOK/FAK), follows each leg's fills in a
``BasketBook``, records complete sets as hedged positions (journal first), and when legs fill
unevenly plans a repair from the books of the moment (``strategy.legging.plan_leg_repair``).
Repairs are verified, never assumed: their orders form a repair basket that is settled here again,
up to ``MAX_REPAIR_ROUNDS`` rounds whose expected losses together stay within ``max_leg_loss_usd``;
what is still uneven after that is counted and logged as naked exposure.

Single writer: only the strategy thread calls it. It does no I/O beyond putting commands on the
executor's queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal

from pmbot.model import ZERO, Create, NewOrder, Side
from pmbot.strategy.decide import Decision
from pmbot.strategy.legging import plan_leg_repair
from pmbot.strategy.params import StrategyParams
from pmbot.strategy.views import BookView, DesiredOrder
from pmbot.trading.baskets import Basket, BasketBook
from pmbot.trading.inventory import HedgedSet, Inventory
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import Commands, TradingJournal, TradingMetrics

log = logging.getLogger(__name__)

MAX_REPAIR_ROUNDS = 2  # leg repairs per basket; each is planned from fresh books and then verified


class ArbitrageDesk:
    def __init__(
        self,
        *,
        tracker: OrderTracker,
        inventory: Inventory,
        journal: TradingJournal,
        metrics: TradingMetrics,
        commands: Commands,
        params: StrategyParams,
        new_order: Callable[[DesiredOrder, int], NewOrder],
        book_views: Callable[[float], Mapping[str, BookView]],
    ) -> None:
        self.tracker = tracker
        self.inventory = inventory
        self.journal = journal
        self.metrics = metrics
        self.commands = commands
        self.params = params
        self._new_order = new_order
        self._book_views = book_views
        self.baskets = BasketBook()
        # told of every hedged set recorded (the on-chain link merges binary complete sets)
        self.on_hedged_set: Callable[[HedgedSet], None] = lambda hs: None
        self._skip_state: dict[
            str, str
        ] = {}  # opportunity key -> its last state (taken or a skip reason)

    def on_decision(self, decision: Decision, origin_ns: int, now: float) -> None:
        """Send the opportunities the strategy fired, count what was seen and skipped, and settle
        the baskets whose legs have all been reported."""
        present = {opp.key for opp in decision.opportunities}
        for gone in [k for k in self._skip_state if k not in present]:
            del self._skip_state[gone]  # it went away; its next appearance is a new sighting
        for opp in decision.opportunities:
            previous = self._skip_state.get(opp.key)
            state = "taken" if opp.actionable else opp.skipped
            if (
                opp.edge_usd > 0
                and state != previous
                and (opp.actionable or previous is None or previous == "below_edge")
            ):
                # A sighting: an opportunity with positive edge after fees that was not there a
                # moment ago (counted once per appearance, whether it is then taken or skipped).
                self.metrics.arb_opportunities_total.labels(kind=opp.kind).inc()
            if opp.actionable:
                self._skip_state[opp.key] = "taken"
                legs = [self._new_order(d, origin_ns) for d in opp.orders()]
                for o in legs:
                    self.tracker.on_sent(o, now)
                self.baskets.open(opp, legs, now)
                self.commands.put(Create(orders=tuple(legs)))
                self.metrics.arb_taken_total.labels(kind=opp.kind).inc()
                self.metrics.arb_edge_usd_total.inc(float(opp.edge_usd))
                log.info(
                    "arbitrage %s: %s sets x %d legs, cost %s, fees %s, expected edge %s",
                    opp.key,
                    opp.sets,
                    len(opp.legs),
                    opp.cost_usd,
                    opp.fees_usd,
                    opp.edge_usd,
                )
            elif opp.skipped and opp.skipped != previous:
                self._skip_state[opp.key] = opp.skipped
                if opp.edge_usd > 0 or opp.skipped not in ("below_edge",):
                    self.metrics.arb_skipped_total.labels(reason=opp.skipped).inc()
        for basket in self.baskets.ready(now):
            self.settle(basket, now)
        self.metrics.arb_open_sets.set(
            float(
                sum(
                    (
                        min((size for _, size in hs.legs), default=ZERO)
                        for hs in self.inventory.hedged_sets()
                    ),
                    ZERO,
                )
            )
        )

    def settle(self, basket: Basket, now: float) -> None:
        """Record the basket's complete sets and repair uneven legs, then verify the repair: its
        orders form a repair basket settled here again. Up to ``MAX_REPAIR_ROUNDS`` rounds, each
        planned from the books of the moment, with the expected losses of all rounds together
        within ``max_leg_loss_usd``; what is still uneven after that is reported as naked."""
        filled = _set_fills(basket)
        done = min(filled.values(), default=ZERO)
        if done - basket.hedged > 0:
            self._record_sets(basket, filled, done, now)
        if done == max(filled.values(), default=ZERO):
            if basket.repair_round:
                log.info(
                    "arbitrage %s: legs repaired, %s set(s) hedged in all", basket.opp.key, done
                )
            return
        if basket.repair_round >= MAX_REPAIR_ROUNDS:
            self.metrics.arb_skipped_total.labels(reason="naked_leg").inc()
            log.error(
                "arbitrage %s: NAKED exposure left (repairs filled partly): %s",
                basket.opp.key,
                ", ".join(f"{t[-8:]}={s - done}" for t, s in filled.items() if s > done),
            )
            return
        self._repair(basket, filled, now)

    def _record_sets(
        self, basket: Basket, filled: dict[str, Decimal], done: Decimal, now: float
    ) -> None:
        """The complete sets the basket's fills made since last time: a hedged position (journal
        first)."""
        new_sets = done - basket.hedged
        real = basket.filled  # the cost is of every share bought, surplus included
        cost = sum(
            (basket.cost.get(tok, ZERO) * new_sets / real[tok] for tok in filled if real.get(tok)),
            ZERO,
        )
        suffix = f"/r{basket.repair_round}" if basket.repair_round else ""
        hs = self.inventory.record_hedged_set(
            f"{basket.opp.key}@{basket.opened:.3f}{suffix}",
            {tok: new_sets for tok in filled},
            cost_usd=cost,
            payout_usd=new_sets * basket.opp.payout_per_set,
            kind=basket.opp.kind,
            ts=now,
        )
        self.journal.record_hedged_set(hs)
        basket.hedged = done
        self.on_hedged_set(hs)
        log.info(
            "arbitrage %s: %s complete set(s) held as a hedged position (cost %s, pays %s)",
            basket.opp.key,
            new_sets,
            cost,
            hs.payout_usd,
        )

    def _repair(self, basket: Basket, filled: dict[str, Decimal], now: float) -> None:
        """Plan a repair of uneven legs from the books of now and send it as a repair basket."""
        plan = plan_leg_repair(
            basket.opp.legs,
            filled,
            self._book_views(now),
            self.params.arbitrage.max_leg_loss_usd - basket.planned_loss,
            payout=basket.opp.payout_per_set,
            order_type=self.params.arbitrage.leg_order_type,
            stale_secs=float(self.params.risk.stale_book_secs),
        )
        if plan.action in ("unwind", "complete"):
            orders = [self._new_order(d, 0) for d in plan.orders]
            for o in orders:
                self.tracker.on_sent(o, now)
            basket.planned_loss += max(plan.expected_loss_usd, ZERO)
            self.baskets.open_repair(basket, orders, now)
            self.commands.put(Create(orders=tuple(orders)))
            self.metrics.arb_legging_loss_usd_total.inc(float(max(plan.expected_loss_usd, ZERO)))
            log.warning(
                "arbitrage %s: legs filled unevenly (%s); %s with expected loss %s (round %d)",
                basket.opp.key,
                {t[-8:]: s for t, s in filled.items()},
                plan.action,
                plan.expected_loss_usd,
                basket.repair_round + 1,
            )
        elif plan.action == "hold":
            self.metrics.arb_skipped_total.labels(reason="naked_leg").inc()
            log.error(
                "arbitrage %s: NAKED exposure left (%s): %s",
                basket.opp.key,
                plan.reason,
                ", ".join(f"{t[-8:]}={s}" for t, s in plan.naked),
            )


def _set_fills(basket: Basket) -> dict[str, Decimal]:
    """Each leg's fill as far as it counts towards sets: at most the leg's requested size. A
    market BUY spends its pUSD at the limit or better and can fill more shares than asked
    (py-clob-client-v2 #89); that surplus is plain inventory, not part of a set nor a leg to
    repair, so one leg's bonus shares never make an even basket look uneven."""
    out: dict[str, Decimal] = {}
    for leg in basket.opp.legs:
        got = basket.filled.get(leg.token_id, ZERO)
        out[leg.token_id] = min(got, leg.size) if leg.side is Side.BUY else got
        if got > out[leg.token_id] and basket.repair_round == 0:
            log.info(
                "arbitrage %s: leg %s filled %s shares for %s asked; the surplus is inventory",
                basket.opp.key,
                leg.token_id[-8:],
                got,
                leg.size,
            )
    return out
