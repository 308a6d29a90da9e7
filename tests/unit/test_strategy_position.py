"""Issue 19: hedged sets are not inventory risk, and past the position limit the bot reduces.

The split's definition (pmbot/strategy/position.py) by hand, then the issue's two "Verified by"
cases as closed loops: the real Inventory marks the position, the real decide() quotes, and a tiny
venue in the test fills the orders the test chooses.
"""

from decimal import Decimal as D

import pytest

from pmbot.model import Fill, MarketInfo, Side, TradeStatus
from pmbot.strategy import (
    BookView,
    LiveOrder,
    QuotingParams,
    StrategyInput,
    StrategyMemory,
    StrategyParams,
    decide,
)
from pmbot.strategy.position import split_position, unhedged_shares
from pmbot.trading.inventory import Inventory

M = MarketInfo("cond", "YES", "NO")
BOOK = BookView(D("0.50"), D("0.54"), D(100), D(100))  # mid 0.52
MIDS = {"YES": D("0.52"), "NO": D("0.48")}
LIMIT, RESUME = D(500), D(450)


@pytest.mark.parametrize(
    "q_yes,q_no,h_yes,h_no,want",
    [
        (D(10), D(0), D(0), D(0), (D(10), D(0))),
        (D(10), D(4), D(0), D(0), (D(6), D(0))),  # 4 pairs from quote fills are complete sets
        (D(4), D(10), D(0), D(0), (D(0), D(6))),
        (D(10), D(10), D(0), D(0), (D(0), D(0))),
        (D(30), D(10), D(20), D(0), (D(0), D(0))),  # 20 YES in a basket, 10 pairs
        (D(30), D(0), D(25), D(0), (D(5), D(0))),
    ],
)
def test_unhedged_shares_are_what_no_complete_set_covers(q_yes, q_no, h_yes, h_no, want):
    assert unhedged_shares(q_yes, q_no, h_yes, h_no) == want


def test_split_marks_unhedged_at_mid_else_at_cost_and_the_kinds_sum_to_the_total():
    other = MarketInfo("c2", "Y2", "N2")
    shares = {"YES": D(100), "NO": D(40), "Y2": D(10), "STRAY": D(5)}
    hedged = {"YES": D(20), "NO": D(20)}
    mids = {"YES": D("0.60"), "NO": D("0.40")}  # no mid for Y2 or STRAY: marked at cost
    cost = {"YES": D("0.5"), "NO": D("0.5"), "Y2": D("0.30"), "STRAY": D("0.10")}
    total = sum((shares[t] * mids.get(t, cost[t]) for t in shares), D(0))
    split = split_position((M, other), shares, hedged, mids, cost, total)
    # market cond: free 80 YES / 20 NO -> 60 YES unhedged at 0.60; Y2 at cost; a stray token at cost
    assert split.unhedged_usd == D(60) * D("0.60") + D(10) * D("0.30") + D(5) * D("0.10")
    assert split.hedged_usd == total - split.unhedged_usd == D(40) * D("0.60") + D(40) * D("0.40")
    assert split.total_usd == total


# --------------------------------------------------------------------------- closed loop


class Loop:
    """The strategy thread in miniature: inventory -> StrategyInput -> decide -> resting orders."""

    def __init__(self, params: StrategyParams) -> None:
        self.params = params
        self.inv = Inventory()
        self.memory = StrategyMemory()
        self.resting: dict[str, LiveOrder] = {}
        self.now = 1000.0
        self.n = 0
        self.placed: list[tuple[LiveOrder, D]] = []  # (order, unhedged YES shares when placed)

    def split(self):
        return self.inv.position_split((M,), MIDS)

    def step(self):
        self.now += 1.0
        split = self.split()
        inp = StrategyInput(
            now=self.now,
            markets=(M,),
            books={"YES": BOOK},
            inventory={t: self.inv.shares(t) for t in ("YES", "NO")},
            hedged={t: self.inv.hedged_shares(t) for t in ("YES", "NO")},
            position_value_usd=split.total_usd,
            hedged_position_usd=split.hedged_usd,
            unhedged_position_usd=split.unhedged_usd,
            open_orders=tuple(self.resting.values()),
        )
        d = decide(inp, self.memory, self.params)
        self.memory = d.memory
        if d.cancel_all:
            self.resting.clear()
        for oid in d.cancel_ids:
            self.resting.pop(oid)
        for o in d.new_orders:
            self.n += 1
            live = LiveOrder(f"o{self.n}", o.token_id, o.side, o.price, o.size)
            self.resting[live.order_id] = live
            free_yes = self.inv.shares("YES") - self.inv.hedged_shares("YES")
            free_no = self.inv.shares("NO") - self.inv.hedged_shares("NO")
            self.placed.append((live, unhedged_shares(free_yes, free_no)[0]))
        return d

    def fill(self, order: LiveOrder) -> None:
        """The venue fills a resting order in full."""
        del self.resting[order.order_id]
        self.n += 1
        f = Fill(f"t{self.n}", order.order_id, "cond", order.token_id, order.side, order.price,
                 order.size_remaining, D(0), True, TradeStatus.MATCHED)  # fmt: skip
        self.inv.apply_fill(f, M)

    def buy_set(self, shares: D, cost: D) -> None:
        """An arbitrage complete set: YES and NO bought and recorded as one hedged set."""
        for tok in ("YES", "NO"):
            self.n += 1
            f = Fill(f"t{self.n}", f"arb{self.n}", "cond", tok, Side.BUY, cost / 2, shares,
                     D(0), False, TradeStatus.MATCHED)  # fmt: skip
            self.inv.apply_fill(f, M)
        self.inv.record_hedged_set(
            f"set{self.n}", {"YES": shares, "NO": shares}, cost_usd=shares * cost,
            payout_usd=shares, kind="complete_set",
        )  # fmt: skip


def yes_terms(d) -> set[str]:
    """The desired quotes as bid/ask on the YES book (BUY NO is an ask, SELL NO a bid)."""
    return {
        "bid" if (o.token_id == "YES") == (o.side is Side.BUY) else "ask"
        for o in d.markets[0].desired
    }


def test_arbitrage_sets_worth_more_than_the_limit_are_held_while_quoting_two_sided():
    loop = Loop(StrategyParams())
    loop.buy_set(D(1200), D("0.97"))  # 1200 YES + 1200 NO, worth $1200 at mid
    split = loop.split()
    assert split.total_usd == D(1200) > LIMIT and split.hedged_usd == D(1200)
    assert split.unhedged_usd == 0
    for _ in range(5):
        d = loop.step()
        assert str(d.verdict) == "quoting" and not d.cancel_all
        assert str(d.markets[0].verdict) == "quoting"
    kinds = {(o.token_id, o.side) for o in loop.resting.values()}
    # two-sided, and the hedged YES is never offered: the ask is a BUY NO, not a SELL YES
    assert kinds == {("YES", Side.BUY), ("NO", Side.BUY)}
    assert loop.inv.shares("YES") == loop.inv.shares("NO") == D(1200)


def test_fills_over_the_limit_make_every_later_order_reduce_until_under_ninety_percent():
    loop = Loop(StrategyParams(quoting=QuotingParams(order_size=D(100))))
    loop.buy_set(D(800), D("0.97"))  # held throughout: never sold, never counted
    # phase 1: the market keeps hitting our bid until the unhedged position is over the limit
    for _ in range(30):
        d = loop.step()
        assert d.verdict.state == "quoting"
        bid = next(o for o in loop.resting.values() if o.token_id == "YES" and o.side is Side.BUY)
        loop.fill(bid)
        if loop.split().unhedged_usd > LIMIT:
            break
    assert loop.split().unhedged_usd > LIMIT
    breach = len(loop.placed)

    # phase 2: cancel all once, then only orders that shrink the unhedged position
    d = loop.step()
    assert d.cancel_all and d.cancel_all_reason == "position_limit"
    assert str(d.verdict) == "reduce_only(position_limit)"
    resumed = None
    for _ in range(30):
        before = loop.split().unhedged_usd
        for order in list(loop.resting.values()):
            loop.fill(order)
        assert loop.split().unhedged_usd < before  # each round of fills reduced it
        d = loop.step()
        assert not d.cancel_all
        if d.verdict.state == "quoting":
            resumed = d
            break
        assert str(d.markets[0].verdict) == "reduce_only(position_limit)"
    assert resumed is not None
    assert loop.split().unhedged_usd < RESUME
    assert yes_terms(resumed) == {"bid", "ask"}  # two-sided again
    reducing = loop.placed[breach : len(loop.placed) - len(resumed.new_orders)]
    assert reducing  # the reduce phase did place orders
    for order, unhedged_yes in reducing:  # sells of unhedged YES, never more than is unhedged
        assert order.token_id == "YES" and order.side is Side.SELL
        assert order.size_remaining <= unhedged_yes and order.price > BOOK.best_bid
    assert loop.inv.hedged_shares("YES") == loop.inv.hedged_shares("NO") == D(800)
