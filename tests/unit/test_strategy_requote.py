"""Conditional re-quoting and reconcile: quotes are touched only when something relevant changed."""

from collections import Counter
from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pmbot.model import MarketInfo, Side
from pmbot.strategy import (
    BookView,
    DesiredOrder,
    LiveOrder,
    StrategyInput,
    StrategyMemory,
    StrategyParams,
    decide,
)
from pmbot.strategy.reconcile import reconcile
from pmbot.strategy.requote import QuoteState, mid_bucket, requote_reason

MARKET = MarketInfo("cond", "YES", "NO")
PARAMS = StrategyParams()


def as_live(orders, prefix="o"):
    return tuple(
        LiveOrder(f"{prefix}{i}", o.token_id, o.side, o.price, o.size) for i, o in enumerate(orders)
    )


def step(mem, bid, ask, now, open_orders=(), inventory=None, tick="0.01", **kw):
    b = BookView(D(bid), D(ask), D(100), D(100), tick=D(tick))
    m = MarketInfo("cond", "YES", "NO", tick=D(tick))
    return decide(
        StrategyInput(
            now=now,
            markets=(m,),
            books={"YES": b},
            open_orders=open_orders,
            inventory=inventory or {},
            **kw,
        ),
        mem,
        PARAMS,
    )


def test_mid_bucket_is_ceil_of_mid_in_cents():
    assert mid_bucket(D("0.52")) == 52
    assert mid_bucket(D("0.521")) == 53
    assert mid_bucket(D("0.5205")) == 53
    assert mid_bucket(None) is None


def test_unchanged_book_leaves_quotes_alone():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    live = as_live(d1.new_orders)
    d2 = step(d1.memory, "0.50", "0.54", 2.0, live)
    assert d2.markets[0].requote_reason == "" and d2.cancel_ids == () and d2.new_orders == ()


def test_move_within_the_same_mid_bucket_leaves_quotes_alone_even_if_prices_would_differ():
    d1 = step(StrategyMemory(), "0.500", "0.540", 1.0, tick="0.001")  # mid 0.520 -> bucket 52
    live = as_live(d1.new_orders)
    d2 = step(d1.memory, "0.505", "0.533", 2.0, live, tick="0.001")  # mid 0.519 -> bucket 52
    assert d2.markets[0].desired != d1.markets[0].desired  # the model would quote elsewhere...
    assert d2.cancel_ids == () and d2.new_orders == ()  # ...but the rule leaves the quotes alone


def test_mid_bucket_change_replaces_the_quotes():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    live = as_live(d1.new_orders)
    d2 = step(d1.memory, "0.51", "0.55", 2.0, live)
    assert d2.markets[0].requote_reason == "mid_bucket"
    # bid 0.459 -> 0.45 is unchanged and stays; ask 0.595 -> 0.60 (BUY NO 0.40) replaces BUY NO 0.41
    assert d2.cancel_ids == ("o1",)
    assert [(o.token_id, o.price) for o in d2.new_orders] == [("NO", D("0.40"))]


def test_fill_makes_the_set_incomplete_and_only_the_filled_quote_is_replaced():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    bid, ask = as_live(d1.new_orders)
    partly = LiveOrder(bid.order_id, bid.token_id, bid.side, bid.price, D(4))  # 6 of 10 filled
    d2 = step(d1.memory, "0.50", "0.54", 2.0, (partly, ask), inventory={"YES": D(6)})
    assert d2.markets[0].requote_reason == "incomplete"
    assert d2.cancel_ids == ("o0",)
    assert [(o.token_id, o.side, o.price, o.size) for o in d2.new_orders] == [
        ("YES", Side.BUY, D("0.45"), D(10))
    ]


def test_rejected_or_cancelled_quote_is_put_back():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    live = as_live(d1.new_orders)
    d2 = step(d1.memory, "0.50", "0.54", 2.0, live[:1])
    assert d2.markets[0].requote_reason == "incomplete" and d2.cancel_ids == ()
    assert [(o.token_id, o.price) for o in d2.new_orders] == [("NO", D("0.41"))]


def test_skew_change_requotes():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    live = as_live(d1.new_orders)
    d2 = step(d1.memory, "0.50", "0.54", 2.0, live, hedged={}, inventory={"NO": D(200)})
    assert d2.markets[0].requote_reason == "skew"
    assert [o.price for o in d2.new_orders] == [D("0.47"), D("0.39")]


def test_tick_change_requotes():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    d2 = step(d1.memory, "0.50", "0.54", 2.0, as_live(d1.new_orders), tick="0.001")
    assert d2.markets[0].requote_reason == "tick"


def test_risk_state_change_requotes():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    d2 = step(d1.memory, "0.50", "0.54", 2.0, as_live(d1.new_orders), user_feed_up=False)
    assert d2.markets[0].requote_reason == "risk_state" and len(d2.cancel_ids) == 2


def test_pending_orders_count_as_present_and_cancels_in_flight_as_gone():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    pending = tuple(
        LiveOrder(f"c{i}", o.token_id, o.side, o.price, o.size, pending=True)
        for i, o in enumerate(d1.new_orders)
    )
    d2 = step(d1.memory, "0.50", "0.54", 2.0, pending)
    assert d2.new_orders == () and d2.cancel_ids == ()
    going = LiveOrder("old", "YES", Side.BUY, D("0.30"), D(10), cancel_pending=True)
    d3 = step(d2.memory, "0.50", "0.54", 3.0, pending + (going,))
    assert d3.cancel_ids == () and d3.new_orders == ()


def test_arb_orders_are_not_touched_by_quote_reconcile():
    d1 = step(StrategyMemory(), "0.50", "0.54", 1.0)
    arb = LiveOrder("arb1", "YES", Side.BUY, D("0.54"), D(10), tag="arb")
    d2 = step(d1.memory, "0.50", "0.54", 2.0, as_live(d1.new_orders) + (arb,))
    assert d2.cancel_ids == () and d2.new_orders == ()


def test_reconcile_is_a_multiset_diff_by_token_side_price_size():
    want = [DesiredOrder("c", "Y", Side.BUY, D("0.40"), D(5))] * 2 + [
        DesiredOrder("c", "Y", Side.BUY, D("0.39"), D(5))
    ]
    have = [
        LiveOrder("a", "Y", Side.BUY, D("0.40"), D(5)),
        LiveOrder("b", "Y", Side.BUY, D("0.400"), D("5.00")),  # same key numerically
        LiveOrder("c", "Y", Side.BUY, D("0.40"), D(5)),  # a third one is surplus
        LiveOrder("d", "Y", Side.SELL, D("0.39"), D(5)),  # wrong side
        LiveOrder(
            "e", "Y", Side.BUY, D("0.38"), D(5), pending=True
        ),  # unwanted but not cancellable yet
    ]
    rec = reconcile(want, have)
    assert rec.cancel_ids == ("c", "d")
    assert rec.new_orders == (want[2],)


def test_requote_reason_first_time_is_initial():
    state = QuoteState(52, 0, D("0.01"), "quoting")
    assert requote_reason(None, (), state, Counter()) == "initial"
    assert requote_reason(state, (), state, Counter()) == ""


@settings(max_examples=150, deadline=None)
@given(
    b1=st.integers(100, 800),
    a1=st.integers(1, 100),
    db=st.integers(-9, 9),
    da=st.integers(-9, 9),
    dt=st.floats(0.001, 100.0),
    size=st.integers(1, 1000),
)
def test_requote_rule_leaves_quotes_untouched_when_nothing_relevant_changed(
    b1, a1, db, da, dt, size
):
    tick = D("0.001")
    bid1, ask1 = b1 * tick, (b1 + a1) * tick
    bid2, ask2 = (b1 + db) * tick, (b1 + a1 + da) * tick
    assume(bid2 < ask2)
    assume(mid_bucket((bid1 + ask1) / 2) == mid_bucket((bid2 + ask2) / 2))
    m = MarketInfo("cond", "YES", "NO", tick=tick)
    b = BookView(bid1, ask1, D(100), D(100), tick=tick)
    d1 = decide(StrategyInput(now=1.0, markets=(m,), books={"YES": b}), StrategyMemory(), PARAMS)
    assume(d1.markets[0].verdict.state == "quoting")
    b2 = BookView(bid2, ask2, D(size), D(size), tick=tick, age_secs=dt / 2)
    d2 = decide(
        StrategyInput(
            now=1.0 + dt, markets=(m,), books={"YES": b2}, open_orders=as_live(d1.new_orders)
        ),
        d1.memory,
        PARAMS,
    )
    assert d2.markets[0].requote_reason == ""
    assert d2.cancel_ids == () and d2.new_orders == ()
