"""From the strategy thread's state to the pure strategy and back: build the ``StrategyInput``, call
``decide``, and turn the ``Decision`` into executor commands (cancels and creates together in one
``Replace`` when both), the tracker learning of each command as it is queued.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from pmbot.control.pauses import OperatorPauses
from pmbot.model import ONE, ZERO, Cancel, CancelAll, Create, MarketInfo, NewOrder, Replace
from pmbot.strategy.decide import Decision, StrategyInput, StrategyMemory, decide
from pmbot.strategy.params import StrategyParams
from pmbot.strategy.quoting import free_after_orders
from pmbot.strategy.views import DesiredOrder
from pmbot.trading.arbitrage_desk import ArbitrageDesk
from pmbot.trading.context import Books, MarketIndex, Marks, VenueStatus
from pmbot.trading.inventory import Inventory, Pnl
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import Commands
from pmbot.trading.verdict_log import VerdictLog

log = logging.getLogger(__name__)


def _yes_terms(o: NewOrder, market: MarketInfo) -> tuple[str, Decimal]:
    """An order as a bid or ask on its market's YES book (one book: BUY NO @q = YES ask @1-q)."""
    if o.token_id == market.yes_token:
        return ("bid" if o.side.value == "BUY" else "ask"), o.price
    return ("ask" if o.side.value == "BUY" else "bid"), ONE - o.price


def crosses(new: NewOrder, old: NewOrder, market: MarketInfo) -> bool:
    """Would ``new`` trade against ``old`` (same market) if both rested at once?"""
    if new.market != old.market:
        return False
    new_kind, new_px = _yes_terms(new, market)
    old_kind, old_px = _yes_terms(old, market)
    if new_kind == old_kind:
        return False
    return new_px >= old_px if new_kind == "bid" else new_px <= old_px


class Decider:
    """The strategy's memory, the previous decision and the client-id counter live here."""

    def __init__(
        self,
        *,
        params: StrategyParams,
        index: MarketIndex,
        books: Books,
        status: VenueStatus,
        tracker: OrderTracker,
        inventory: Inventory,
        commands: Commands,
        clock: Callable[[], float],
    ) -> None:
        self.params = params
        self.index = index
        self.books = books
        self.status = status
        self.tracker = tracker
        self.inventory = inventory
        self.commands = commands
        self.clock = clock
        self.memory = StrategyMemory()
        self.last: Decision | None = None  # the previous decision (verdict changes, publishing)
        self.verdicts = VerdictLog(index)
        self._ids = itertools.count(1)
        # called with the markets whose quotes are about to be cancelled (the pull desk disarms);
        # returns the orders of theirs pulled meanwhile, already cancel-pending (issue 20)
        self.before_cancel: Callable[[tuple[str, ...]], tuple[str, ...]] = lambda markets: ()
        self._pnl_day = ""  # the UTC day _pnl_day_start belongs to
        self._pnl_day_start = ZERO

    def marks(self) -> Marks:
        mids = self.books.mids()
        split = self.inventory.position_split(self.index.by_cid.values(), mids)
        return Marks(mids, self.inventory.pnl(mids), split.total_usd, split)

    def decide(self, inp: StrategyInput) -> Decision:
        decision = decide(inp, self.memory, self.params)
        self.memory = decision.memory
        self.verdicts.changes(self.last, decision)
        return decision

    def strategy_input(
        self, marks: Marks, arb_in_flight_usd: Decimal, pauses: OperatorPauses | None = None
    ) -> StrategyInput:
        """``pauses``: the operator's; a paused market does not quote, a bot-wide pause stops
        every market and the event arbitrage too."""
        now = self.clock()
        pauses = pauses or OperatorPauses()
        tokens = self.index.by_token
        pnl = marks.pnl
        hedged = {tok: self.inventory.hedged_shares(tok) for tok in tokens}
        hedged_cost = sum((hs.cost_usd for hs in self.inventory.hedged_sets()), ZERO)
        open_orders = tuple(t.as_live() for t in self.tracker.all())
        return StrategyInput(
            now=now,
            markets=self.index.markets,
            events=() if pauses.bot else self.index.events,
            books=self.books.views(now),
            inventory={tok: self.inventory.shares(tok) for tok in tokens},
            position_value_usd=marks.position_value_usd,
            unhedged_position_usd=marks.split.unhedged_usd,
            hedged_position_usd=marks.split.hedged_usd,
            daily_pnl_usd=pnl.realized + pnl.unrealized - self._day_start_pnl(pnl, now),
            open_orders=open_orders,
            just_gone=tuple(t.as_live() for t in self.tracker.just_gone(now)),
            user_feed_up=self.status.user_feed_up,
            venue_mode=self.status.venue_mode,
            recent_rejects=tuple(self.status.recent_rejects),
            hedged={t: s for t, s in hedged.items() if s},
            trading_day=time.strftime("%Y-%m-%d", time.gmtime(now)),
            arb_exposure_usd=hedged_cost + arb_in_flight_usd,
            operator_paused=frozenset(
                m.condition_id for m in self.index.markets if pauses.paused(m.condition_id)
            ),
            free_balance_usd=free_after_orders(
                self.status.collateral_now(self.inventory.cash_flow()), open_orders
            ),
        )

    def _day_start_pnl(self, pnl: Pnl, now: float) -> Decimal:
        """P&L at the start of the UTC day, so the daily loss limit measures today's loss only."""
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        if self._pnl_day != day:
            self._pnl_day = day
            self._pnl_day_start = pnl.realized + pnl.unrealized
        return self._pnl_day_start

    def new_order(self, d: DesiredOrder, origin_ns: int) -> NewOrder:
        """The strategy's desired order as the order the bot sends (client id, tick, neg-risk)."""
        m = self.index.by_cid.get(d.market) or self.index.by_token[d.token_id]
        book = self.books.latest.get(d.token_id)
        tick = book.tick if book is not None else m.tick
        o = d.to_new_order(f"c{next(self._ids)}", neg_risk=m.neg_risk, tick=tick)
        return replace(o, origin_ns=origin_ns) if origin_ns else o

    def emit(self, decision: Decision, origin_ns: int, arb: ArbitrageDesk) -> None:
        now = self.clock()
        if decision.cancel_all:
            log.warning("risk: cancel all (%s)", decision.cancel_all_reason)
            self.commands.put(CancelAll(reason=decision.cancel_all_reason))
            self.tracker.on_cancel_sent(list(self.tracker.live_ids()), now)
        live_ids = self.tracker.live_ids()
        cancel_ids = [i for i in decision.cancel_ids if i in live_ids]
        creates = [self.new_order(d, origin_ns) for d in decision.new_orders]
        for md in decision.markets:
            if md.requote_reason:
                log.debug("re-quote %s: %s", md.condition_id[:10], md.requote_reason)
        if cancel_ids or creates:
            self._send(cancel_ids, creates, now)
        self.last = decision
        arb.on_decision(decision, origin_ns, now)

    def _markets_of(self, order_ids: list[str]) -> tuple[str, ...]:
        return tuple(sorted({t.order.market for t in map(self.tracker.get, order_ids) if t}))

    def _crossing(self, creates: list[NewOrder], orders: list[NewOrder]) -> list[NewOrder]:
        """The creates that would cross any of ``orders`` (ours) if both rested at once."""
        by_cid = self.index.by_cid
        return [c for c in creates if any(crosses(c, o, by_cid[c.market]) for o in orders)]

    def _cancels_in_flight(self, creates: list[NewOrder]) -> list[NewOrder]:
        """Our orders in the creates' markets still being cancelled by an earlier cancel: a pull
        (issue 20), which the executor does not order creates after, or an earlier decision's (the
        executor would hold a create until that answer anyway)."""
        markets = {c.market for c in creates}
        return [
            t.order
            for t in self.tracker.all()
            if t.state == "cancelling" and t.order.market in markets
        ]

    def _send(self, cancel_ids: list[str], creates: list[NewOrder], now: float) -> None:
        if cancel_ids:  # no pull of these quotes as well; those pulled meanwhile are on their way
            pulled = set(self.before_cancel(self._markets_of(cancel_ids)))
            cancel_ids = [oid for oid in cancel_ids if oid not in pulled]
        # No new quote crosses an order still being cancelled: such a create waits for that
        # cancel's answer. It is left out now (the market stays incomplete) and the decision that
        # follows the answer posts it. Cancelling the order again instead would cost a request, and
        # the create would wait for the later of the two answers.
        held = self._crossing(creates, self._cancels_in_flight(creates)) if creates else []
        if held:
            log.debug("%d create(s) wait for a cancel in flight they would cross", len(held))
            waiting = {c.client_id for c in held}
            creates = [c for c in creates if c.client_id not in waiting]
        if not cancel_ids and not creates:
            return
        cancelling = [t.order for t in map(self.tracker.get, cancel_ids) if t is not None]
        markets = self._markets_of(cancel_ids)
        for o in creates:
            self.tracker.on_sent(o, now)
        self.tracker.on_cancel_sent(cancel_ids, now)
        if cancel_ids and creates:
            post_first = not self._crossing(creates, cancelling)
            self.commands.put(
                Replace(
                    cancel_ids=tuple(cancel_ids),
                    creates=tuple(creates),
                    post_first=post_first,
                    markets=markets,
                )
            )
        elif creates:
            self.commands.put(Create(orders=tuple(creates)))
        else:
            self.commands.put(Cancel(order_ids=tuple(cancel_ids), markets=markets))
