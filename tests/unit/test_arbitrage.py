"""Arbitrage detection on hand-made books: baskets of 2-10 outcomes, fees, augmented events, depth,
budgets, minimum sizes, and binary complete sets that never appear on a consistent mirrored book."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import EventInfo, MarketInfo, OrderType, Outcome, Side
from pmbot.strategy import (
    BookView,
    LiveOrder,
    StrategyInput,
    StrategyMemory,
    StrategyParams,
    decide,
)
from pmbot.strategy.arbitrage import basket_no, basket_yes, binary_set, scan, taker_fee
from pmbot.strategy.params import ArbitrageParams

P = ArbitrageParams()


def outcome(i, fee="0", min_size="5"):
    return MarketInfo(
        f"c{i}",
        f"Y{i}",
        f"N{i}",
        fee_rate=D(fee),
        min_size=D(min_size),
        neg_risk=True,
        event_slug="ev",
    )


def event(n, augmented=False, fee="0"):
    return EventInfo("ev", tuple(outcome(i, fee) for i in range(n)), neg_risk_augmented=augmented)


def asks_book(*levels, live=True, age=0.0):
    lv = tuple((D(p), D(s)) for p, s in levels)
    return BookView(None, lv[0][0], D(0), lv[0][1], asks=lv, live=live, age_secs=age)


def two_sided(bid, ask, size="100"):
    return BookView(D(bid), D(ask), D(size), D(size))


def test_three_outcome_basket_summing_to_094_buys_one_yes_of_each_per_set():
    books = {
        "Y0": asks_book(("0.30", 100)),
        "Y1": asks_book(("0.32", 100)),
        "Y2": asks_book(("0.32", 100)),
    }
    opp = basket_yes(event(3), books, P, D(1000))
    assert opp.actionable and opp.kind == "basket_yes" and opp.key == "basket_yes:ev"
    assert opp.sets == D(100)  # depth 100; budget 100 / 0.94 = 106 sets would allow more
    assert [(leg.token_id, leg.side, leg.price, leg.size, leg.outcome) for leg in opp.legs] == [
        ("Y0", Side.BUY, D("0.30"), D(100), Outcome.YES),
        ("Y1", Side.BUY, D("0.32"), D(100), Outcome.YES),
        ("Y2", Side.BUY, D("0.32"), D(100), Outcome.YES),
    ]
    assert opp.cost_usd == D("94.00") and opp.fees_usd == 0 and opp.edge_usd == D("6.00")
    orders = opp.orders()
    assert all(o.order_type is OrderType.FAK and not o.post_only and o.tag == "arb" for o in orders)


@pytest.mark.parametrize("n", range(2, 11))
def test_baskets_of_two_to_ten_outcomes(n):
    price = ((D("0.95") / n) * 100).to_integral_value(rounding="ROUND_FLOOR") / 100
    depths = [50 + 10 * i for i in range(n)]
    books = {f"Y{i}": asks_book((str(price), depths[i])) for i in range(n)}
    opp = basket_yes(event(n), books, ArbitrageParams(max_basket_usd=D(10_000)), D(10_000))
    assert opp.actionable
    assert opp.sets == D(50)  # the thinnest leg
    assert opp.edge_usd == D(50) * (1 - n * price)
    assert len(opp.legs) == n


@pytest.mark.parametrize(
    "prices,rate,actionable,edge_per_set",
    [
        (
            ("0.45", "0.50"),
            "0.05",
            True,
            D("0.05") - D("0.05") * (D("0.45") * D("0.55") + D("0.25")),
        ),
        (
            ("0.45", "0.50"),
            "0.10",
            False,
            D("0.05") - D("0.10") * (D("0.45") * D("0.55") + D("0.25")),
        ),
        (
            ("0.10", "0.85"),
            "0.10",
            True,
            D("0.05") - D("0.10") * (D("0.09") + D("0.85") * D("0.15")),
        ),
        (
            ("0.02", "0.93"),
            "0.07",
            True,
            D("0.05") - D("0.07") * (D("0.02") * D("0.98") + D("0.93") * D("0.07")),
        ),
    ],
)
def test_fee_aware_edge_at_several_prices(prices, rate, actionable, edge_per_set):
    books = {"Y0": asks_book((prices[0], 100)), "Y1": asks_book((prices[1], 100))}
    opp = basket_yes(event(2, fee=rate), books, P, D(1000))
    assert opp.top_edge_per_set == edge_per_set
    if actionable:
        assert opp.actionable
        assert opp.fees_usd == opp.sets * (D(rate) * sum(D(p) * (1 - D(p)) for p in prices))
        assert opp.edge_usd == opp.sets * edge_per_set
    else:
        assert opp.skipped == "below_edge"


def test_taker_fee_formula():
    assert taker_fee(D(100), D("0.5"), D("0.07")) == D("1.75")
    assert taker_fee(D(10), D("0.9"), D("0.05")) == D("0.045")


def test_min_edge_is_exclusive():
    books = {"Y0": asks_book(("0.49", 100)), "Y1": asks_book(("0.50", 100))}
    assert basket_yes(event(2), books, P, D(1000)).skipped == "below_edge"  # edge exactly 0.01
    assert basket_yes(event(2), books, ArbitrageParams(min_edge_usd=D("0.009")), D(1000)).actionable


def test_augmented_events_are_skipped():
    books = {f"Y{i}": asks_book(("0.30", 100)) for i in range(3)}
    opp = basket_yes(event(3, augmented=True), books, P, D(1000))
    assert opp.skipped == "augmented" and not opp.actionable and opp.orders() == ()


def test_not_live_or_stale_leg_is_no_signal():
    books = {
        "Y0": asks_book(("0.30", 100), live=False),
        "Y1": asks_book(("0.30", 100)),
        "Y2": asks_book(("0.30", 100)),
    }
    assert basket_yes(event(3), books, P, D(1000)).skipped == "not_live"
    books["Y0"] = asks_book(("0.30", 100), age=61.0)
    assert basket_yes(event(3), books, P, D(1000), stale_secs=60.0).skipped == "not_live"


def test_depth_walks_levels_while_the_marginal_set_still_pays():
    books = {
        "Y0": asks_book(("0.30", 20), ("0.31", 100)),
        "Y1": asks_book(("0.32", 100)),
        "Y2": asks_book(("0.32", 100)),
    }
    opp = basket_yes(event(3), books, P, D(1000))
    assert opp.sets == D(100)
    assert [leg.price for leg in opp.legs] == [
        D("0.31"),
        D("0.32"),
        D("0.32"),
    ]  # limit = deepest level used
    assert opp.cost_usd == D(20) * D("0.94") + D(80) * D("0.95")
    assert opp.legs[0].cost_usd == D(20) * D("0.30") + D(80) * D("0.31")


def test_depth_stops_where_the_next_level_has_no_edge():
    books = {
        "Y0": asks_book(("0.30", 20), ("0.40", 100)),
        "Y1": asks_book(("0.32", 100)),
        "Y2": asks_book(("0.32", 100)),
    }
    opp = basket_yes(event(3), books, P, D(1000))
    assert (
        opp.sets == D(20) and opp.legs[0].price == D("0.30") and opp.edge_usd == D(20) * D("0.06")
    )


def test_thinnest_leg_below_minimum_size_is_skipped():
    books = {
        "Y0": asks_book(("0.30", 3)),
        "Y1": asks_book(("0.32", 100)),
        "Y2": asks_book(("0.32", 100)),
    }
    assert basket_yes(event(3), books, P, D(1000)).skipped == "below_min_size"


def test_marketable_buy_under_one_dollar_is_skipped():
    books = {"Y0": asks_book(("0.05", 10)), "Y1": asks_book(("0.90", 100))}
    opp = basket_yes(event(2), books, P, D(1000))
    assert opp.sets == D(10) and opp.skipped == "below_min_size"  # leg 0 notional $0.50


def test_budget_limits_the_set_count():
    books = {f"Y{i}": asks_book(("0.30", 1000)) for i in range(3)}
    opp = basket_yes(event(3), books, ArbitrageParams(max_basket_usd=D(50)), D(1000))
    assert opp.actionable and opp.sets == D("55.55")  # 50 / 0.90 rounded down to 0.01
    assert opp.cost_usd <= D(50)
    opp = basket_yes(
        event(3), books, P, D(30)
    )  # remaining total budget smaller than the basket cap
    assert opp.sets == D("33.33")
    assert basket_yes(event(3), books, P, D(0)).skipped == "budget"
    assert basket_yes(event(3), books, P, D(3)).skipped == "budget"  # 3.33 sets < min size 5


def test_no_basket_when_yes_bids_sum_above_one():
    books = {
        f"Y{i}": two_sided(b, str(D(b) + D("0.02"))) for i, b in enumerate(["0.40", "0.36", "0.30"])
    }
    opp = basket_no(event(3), books, P, D(1000))
    assert opp.actionable and opp.kind == "basket_no" and opp.payout_per_set == 2
    assert [(leg.token_id, leg.price, leg.outcome) for leg in opp.legs] == [
        ("N0", D("0.60"), Outcome.NO),
        ("N1", D("0.64"), Outcome.NO),
        ("N2", D("0.70"), Outcome.NO),
    ]
    # cost n - sum(bids) = 1.94 per set, pays n - 1 = 2; budget 100 / 1.94 = 51.54 sets < depth 100
    assert opp.sets == D("51.54") and opp.edge_usd == opp.sets * D("0.06")
    assert basket_yes(event(3), books, P, D(1000)) is None  # asks sum 1.12: nothing there


def test_consistent_event_shows_nothing():
    books = {
        f"Y{i}": two_sided(b, str(D(b) + D("0.02"))) for i, b in enumerate(["0.30", "0.33", "0.35"])
    }
    assert scan((), (event(3),), books, P) == ()


def test_binary_set_needs_a_stale_no_book_and_is_fill_or_kill():
    m = outcome(0)
    books = {
        "Y0": two_sided("0.48", "0.50"),
        "N0": two_sided("0.40", "0.45"),
    }  # NO ask 0.45, not 1 - 0.48
    opp = binary_set(m, books, P, D(1000))
    assert opp.actionable and opp.order_type is OrderType.FOK
    assert {(leg.token_id, leg.price) for leg in opp.legs} == {("Y0", D("0.50")), ("N0", D("0.45"))}
    books["N0"] = BookView(D("0.40"), D("0.45"), D(100), D(100), live=False)
    assert binary_set(m, books, P, D(1000)).skipped == "not_live"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([D("0.01"), D("0.001")]), st.integers(1, 998), st.integers(1, 50), st.booleans()
)
def test_consistent_mirrored_binary_book_never_signals(tick, bid_steps, spread_steps, with_no_book):
    bid = bid_steps * tick
    ask = bid + spread_steps * tick
    if ask >= 1:
        return
    m = MarketInfo("c", "Y", "N", tick=tick)
    yes = BookView(bid, ask, D(100), D(100), tick=tick)
    books = {"Y": yes, "N": yes.mirrored()} if with_no_book else {"Y": yes}
    assert binary_set(m, books, ArbitrageParams(min_edge_usd=D(0)), D(10**6)) is None


def test_decide_fires_an_arbitrage_once_then_cools_down_and_respects_in_flight_legs():
    ev = event(3)
    books = {
        "Y0": asks_book(("0.30", 100)),
        "Y1": asks_book(("0.32", 100)),
        "Y2": asks_book(("0.32", 100)),
    }
    inp = StrategyInput(now=10.0, markets=(), books=books, events=(ev,))
    d1 = decide(inp, StrategyMemory(), StrategyParams())
    assert [o.token_id for o in d1.arb_orders] == ["Y0", "Y1", "Y2"]
    assert d1.opportunities[0].actionable
    d2 = decide(
        StrategyInput(now=11.0, markets=(), books=books, events=(ev,)), d1.memory, StrategyParams()
    )
    assert d2.arb_orders == () and d2.opportunities[0].skipped == "cooldown"
    busy = (LiveOrder("x", "Y1", Side.BUY, D("0.32"), D(100), tag="arb"),)
    d3 = decide(
        StrategyInput(now=20.0, markets=(), books=books, events=(ev,), open_orders=busy),
        d2.memory,
        StrategyParams(),
    )
    assert d3.arb_orders == () and d3.opportunities[0].skipped == "in_flight"


def test_decide_counts_open_hedged_exposure_against_the_total_budget():
    ev = event(3)
    books = {f"Y{i}": asks_book(("0.30", 100)) for i in range(3)}
    inp = StrategyInput(now=10.0, markets=(), books=books, events=(ev,), arb_exposure_usd=D(1000))
    d = decide(inp, StrategyMemory(), StrategyParams())
    assert d.arb_orders == () and d.opportunities[0].skipped == "budget"


def test_no_arbitrage_while_a_global_guard_holds_or_when_disabled():
    ev = event(3)
    books = {f"Y{i}": asks_book(("0.30", 100)) for i in range(3)}
    d = decide(
        StrategyInput(now=1.0, markets=(), books=books, events=(ev,), user_feed_up=False),
        StrategyMemory(),
        StrategyParams(),
    )
    assert d.arb_orders == () and d.opportunities == ()
    off = StrategyParams(arbitrage=ArbitrageParams(enabled=False))
    assert (
        decide(
            StrategyInput(now=1.0, markets=(), books=books, events=(ev,)), StrategyMemory(), off
        ).arb_orders
        == ()
    )
