"""The strategy thread's side of pulling stale quotes on the market-feed thread (issue 20).

After each decision it arms a guard per market with resting quotes (``pull_rule.guard_for``: the
quotes, the mid bucket they were placed for, from the strategy's memory, and the YES touch it
decided on). A ``QuotesPulled``
from the feed thread marks those orders cancel-pending in the tracker (the ``CancelResult``
follows) and lets those orders be armed again. Before the strategy cancels a market's quotes
itself, that market is disarmed, and orders pulled meanwhile are left out of its cancel, so the
same orders are not cancelled twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from pmbot.model import ONE, NewOrder, QuotesPulled
from pmbot.strategy.decide import StrategyMemory
from pmbot.strategy.pull_rule import QuoteGuard, guard_for
from pmbot.strategy.views import LiveOrder
from pmbot.trading.context import Books, MarketIndex
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import PresignPort, PullPort


def neighbours(orders: Iterable[NewOrder], ticks: int) -> list[NewOrder]:
    """Each order at its own price and up to ``ticks`` ticks either side (inside the price
    range): what a re-quote anchored to the touch or the mid posts after a move of a few ticks."""
    out = []
    for o in orders:
        for k in range(-ticks, ticks + 1):
            price = o.price + o.tick * k
            if o.tick <= price <= ONE - o.tick:
                out.append(replace(o, price=price, client_id="", origin_ns=0))
    return out


class PullLink:
    def __init__(
        self,
        pulls: PullPort,
        index: MarketIndex,
        tracker: OrderTracker,
        books: Books,
        clock: Callable[[], float],
    ) -> None:
        self.pulls, self.index, self.tracker, self.clock = pulls, index, tracker, clock
        self.books = books
        self.presign: PresignPort | None = None
        self.presign_ticks = 0
        self._offered: tuple[str, ...] | None = None  # the quote set last offered for signing

    def table(self) -> dict[type, Callable[[QuotesPulled], None]]:
        return {QuotesPulled: self.on_pulled}

    def on_pulled(self, ev: QuotesPulled) -> None:
        self.tracker.on_cancel_sent(ev.order_ids, self.clock())
        self.pulls.settle(ev.order_ids)

    def arm(self, memory: StrategyMemory, quoting: bool = True) -> None:
        """After a decision: guard every market's resting quotes (and offer their neighbours for
        signing ahead); nothing once quoting stopped."""
        if not quoting:
            self.disarm_all()
            return
        by_market: dict[str, list[LiveOrder]] = {}
        resting: list[NewOrder] = []
        for t in self.tracker.all():
            if t.order.tag == "quote" and t.state == "live":
                by_market.setdefault(t.order.market, []).append(t.as_live())
                resting.append(t.order)
        offered = tuple(o.client_id for o in resting)
        if self.presign is not None and offered != self._offered:  # offered once per quote set
            self._offered = offered
            self.presign.offer(neighbours(resting, self.presign_ticks))
        guards: list[QuoteGuard] = []
        for cid, quotes in by_market.items():
            market = self.index.by_cid.get(cid)
            mem = memory.markets.get(cid)
            if market is None or mem is None or mem.state is None or mem.state.mid_bucket is None:
                continue
            top = self.books.latest.get(market.yes_token)
            bid, ask = (top.best_bid, top.best_ask) if top is not None else (None, None)
            guard = guard_for(market, mem.state.mid_bucket, quotes, bid, ask)
            if guard is not None:
                guards.append(guard)
        self.pulls.arm(guards)

    def disarm(self, markets: Iterable[str]) -> tuple[str, ...]:
        """Before the strategy cancels these markets' quotes: no pulls of them from now on.
        Returns the orders pulled since it last heard (their ``QuotesPulled`` is still queued):
        they are marked cancel-pending here and must not be cancelled again."""
        pulled = self.pulls.disarm(markets)
        if pulled:
            self.tracker.on_cancel_sent(pulled, self.clock())
        return pulled

    def disarm_all(self) -> None:
        self.pulls.arm(())
        if self.presign is not None:
            self.presign.offer(())
            self._offered = None
