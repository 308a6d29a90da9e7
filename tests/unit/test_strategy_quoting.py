"""The seed's `edge` rules, table-tested on hand-computed cases, plus Hypothesis invariants."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import MarketInfo, OrderType, Side, on_tick
from pmbot.strategy import BookView, StrategyInput, StrategyMemory, StrategyParams, decide
from pmbot.strategy.params import QuotingParams, RiskParams
from pmbot.strategy.quoting import edge_ladder, edge_prices, ladder_orders, skew_direction

MARKET = MarketInfo("cond", "YES", "NO")


def book(bid, ask, tick="0.01", size="100"):
    return BookView(D(bid), D(ask), D(size), D(size), tick=D(tick))


def run(bid, ask, *, tick="0.01", inventory=None, hedged=None, market=MARKET, **quoting):
    params = StrategyParams(quoting=QuotingParams(**quoting))
    m = MarketInfo(
        market.condition_id,
        market.yes_token,
        market.no_token,
        tick=D(tick),
        min_size=market.min_size,
    )
    inp = StrategyInput(
        now=1000.0,
        markets=(m,),
        books={"YES": book(bid, ask, tick)},
        inventory=inventory or {},
        hedged=hedged or {},
    )
    return decide(inp, StrategyMemory(), params).markets[0]


def prices(md):
    """(bid, ask) in YES terms from a market decision's orders."""
    bid = ask = None
    for o in md.new_orders:
        if o.token_id == "YES" and o.side is Side.BUY:
            bid = o.price
        elif o.token_id == "YES" and o.side is Side.SELL:
            ask = o.price
        elif o.token_id == "NO" and o.side is Side.BUY:
            ask = 1 - o.price
    return bid, ask


@pytest.mark.parametrize(
    "bid,ask,tick,want_bid,want_ask",
    [
        ("0.50", "0.54", "0.01", "0.45", "0.59"),  # the worked example
        (
            "0.500",
            "0.540",
            "0.001",
            "0.450",
            "0.586",
        ),  # 0.54 + 0.1*0.46 = 0.586 exactly on a 0.001 tick
        ("0.123", "0.127", "0.001", "0.110", "0.215"),  # 0.1107 down, 0.2143 up
        ("0.30", "0.31", "0.01", "0.27", "0.38"),  # 0.379 rounds up
        ("0.61", "0.62", "0.01", "0.54", "0.66"),  # 0.549 down, 0.658 up
    ],
)
def test_edge_prices_on_hand_computed_books(bid, ask, tick, want_bid, want_ask):
    md = run(bid, ask, tick=tick)
    assert md.verdict.state == "quoting"
    assert prices(md) == (D(want_bid), D(want_ask))


def test_worked_example_orders_are_post_only_gtc_buy_yes_and_buy_no_at_one_minus_ask():
    md = run("0.50", "0.54")
    assert [
        (o.token_id, o.side, o.price, o.size, o.post_only, o.order_type) for o in md.new_orders
    ] == [
        ("YES", Side.BUY, D("0.45"), D(10), True, OrderType.GTC),
        ("NO", Side.BUY, D("0.41"), D(10), True, OrderType.GTC),
    ]


def test_ask_is_sell_yes_when_yes_inventory_covers_the_size():
    md = run("0.50", "0.54", inventory={"YES": D(10)})
    assert ("YES", Side.SELL, D("0.59")) in [(o.token_id, o.side, o.price) for o in md.new_orders]


def test_ask_is_buy_no_when_yes_inventory_is_short_or_held_in_hedged_sets():
    for inv, hedged in (({"YES": D(9)}, {}), ({"YES": D(10)}, {"YES": D(10)})):
        md = run("0.50", "0.54", inventory=inv, hedged=hedged)
        assert ("NO", Side.BUY, D("0.41")) in [(o.token_id, o.side, o.price) for o in md.new_orders]


def test_size_never_below_market_minimum():
    big_min = MarketInfo("cond", "YES", "NO", min_size=D(15))
    md = run("0.50", "0.54", market=big_min)
    assert {o.size for o in md.new_orders} == {D(15)}


@pytest.mark.parametrize(
    "inventory,want",
    [
        ({"YES": D(200)}, ("0.43", "0.57")),  # long YES: |200|*0.52 = 104 > 50 -> both down 2 ticks
        ({"NO": D(200)}, ("0.47", "0.61")),  # short YES: both up 2 ticks
        ({"YES": D(90)}, ("0.45", "0.59")),  # 46.8 <= 50: no skew
        ({"YES": D(300), "NO": D(250)}, ("0.45", "0.59")),  # net 50 * 0.52 = 26: no skew
        ({"YES": D(400), "NO": D(250)}, ("0.43", "0.57")),  # net 150 * 0.52 = 78: skew
    ],
)
def test_skew_only_while_dollar_imbalance_exceeds_limit(inventory, want):
    md = run("0.50", "0.54", inventory=inventory)
    assert prices(md) == (D(want[0]), D(want[1]))


def test_skew_at_exactly_the_limit_does_not_apply():
    assert skew_direction(D(100), D("0.50"), D(50)) == 0
    assert skew_direction(D("100.01"), D("0.50"), D(50)) == -1
    assert skew_direction(D("-100.01"), D("0.50"), D(50)) == 1


def test_hedged_sets_are_flat_for_the_skew():
    md = run("0.50", "0.54", inventory={"YES": D(200)}, hedged={"YES": D(200)})
    assert prices(md) == (D("0.45"), D("0.59"))


def test_skew_never_crosses_the_book():
    # short YES with a huge skew on a tight book: bid clamped one tick below the best ask
    md = run("0.50", "0.51", inventory={"NO": D(1000)}, skew_ticks=10)
    bid, ask = prices(md)
    assert bid == D("0.50") and ask == D("0.66")


def test_edge_prices_keep_quotes_inside_tick_bounds():
    # bid 0.009 -> 0.00, minus 3 ticks, clamped up to the tick; ask 0.118 -> 0.12, minus 3 ticks
    assert edge_prices(D("0.01"), D("0.02"), D("0.01"), D("0.10"), -3) == (D("0.01"), D("0.09"))
    # bid 0.882 -> 0.88 + 5 ticks; ask 0.991 -> 1.00 + 5 ticks, clamped down to 1 - tick
    assert edge_prices(D("0.98"), D("0.99"), D("0.01"), D("0.10"), 5) == (D("0.93"), D("0.99"))
    # a post-only bid below a best ask of one tick does not exist
    assert edge_prices(D("0.001"), D("0.01"), D("0.01"), D("0.10"), 0)[0] is None


@pytest.mark.parametrize(
    "bid,ask", [("0.02", "0.04"), ("0.95", "0.97"), ("0.01", "0.03"), ("0.97", "0.99")]
)
def test_extreme_prices_pause_the_market(bid, ask):
    md = run(bid, ask)
    assert str(md.verdict) == "paused(extreme_price)"
    assert md.new_orders == ()


def test_extreme_price_pause_cancels_resting_quotes_and_resumes_when_prices_return():
    from pmbot.strategy import LiveOrder

    params = StrategyParams()
    first = decide(
        StrategyInput(now=0.0, markets=(MARKET,), books={"YES": book("0.50", "0.54")}),
        StrategyMemory(),
        params,
    )
    live = tuple(
        LiveOrder(f"o{i}", o.token_id, o.side, o.price, o.size)
        for i, o in enumerate(first.markets[0].new_orders)
    )
    # a slow drift (no jump) down to the floor: computed bid 0.018 -> 0.01 <= min_bid
    mem, t = first.memory, 0.0
    for bb, ba in [
        ("0.46", "0.50"),
        ("0.42", "0.46"),
        ("0.38", "0.42"),
        ("0.34", "0.38"),
        ("0.30", "0.34"),
        ("0.26", "0.30"),
        ("0.22", "0.26"),
        ("0.18", "0.22"),
        ("0.14", "0.18"),
        ("0.10", "0.14"),
        ("0.06", "0.10"),
        ("0.02", "0.06"),
    ]:
        t += 1
        d = decide(
            StrategyInput(now=t, markets=(MARKET,), books={"YES": book(bb, ba)}, open_orders=live),
            mem,
            params,
        )
        mem = d.memory
        if d.markets[0].verdict.state == "paused":
            break
    assert str(d.markets[0].verdict) == "paused(extreme_price)"
    assert sorted(d.markets[0].cancel_ids) == ["o0", "o1"] and d.markets[0].new_orders == ()
    back = decide(
        StrategyInput(now=t + 1, markets=(MARKET,), books={"YES": book("0.05", "0.09")}),
        mem,
        params,
    )
    assert back.markets[0].verdict.state == "quoting" and back.markets[0].new_orders


# ----------------------------------------------------------------------------- properties

TICKS = [D("0.01"), D("0.001"), D("0.005"), D("0.0025"), D("0.0001"), D("0.1")]


@st.composite
def yes_books(draw):
    tick = draw(st.sampled_from(TICKS))
    steps = int(1 / tick)
    b = draw(st.integers(1, steps - 2))
    a = draw(st.integers(b + 1, steps - 1))
    return tick, b * tick, a * tick


@settings(max_examples=200, deadline=None)
@given(yes_books(), st.decimals(D(0), D("0.5"), places=3), st.integers(-6, 6))
def test_edge_prices_on_tick_inside_bounds_post_only_and_bid_below_ask(tb, e, shift):
    tick, bb, ba = tb
    bid, ask = edge_prices(bb, ba, tick, e, shift)
    if bid is not None:
        assert on_tick(bid, tick) and tick <= bid <= 1 - tick and bid < ba
    if ask is not None:
        assert on_tick(ask, tick) and tick <= ask <= 1 - tick and ask > bb
    if bid is not None and ask is not None:
        assert bid < ask


@settings(max_examples=150, deadline=None)
@given(yes_books(), st.integers(-2000, 2000), st.integers(-2000, 2000))
def test_skew_moves_prices_monotonically_with_inventory(tb, q1, q2):
    tick, bb, ba = tb
    lo, hi = sorted((D(q1), D(q2)))
    bk = BookView(bb, ba, D(100), D(100), tick=tick)
    qp, rp = QuotingParams(), RiskParams()
    a = edge_ladder(bk, tick, lo, D(10), qp, rp)
    b = edge_ladder(bk, tick, hi, D(10), qp, rp)
    assert b.skew <= a.skew
    if a.best_bid is not None and b.best_bid is not None:
        assert b.best_bid <= a.best_bid
    if a.best_ask is not None and b.best_ask is not None:
        assert b.best_ask <= a.best_ask


@settings(max_examples=150, deadline=None)
@given(yes_books(), st.integers(0, 50), st.integers(0, 50))
def test_orders_never_cross_the_book_on_either_token(tb, yes_inv, no_inv):
    tick, bb, ba = tb
    m = MarketInfo("cond", "YES", "NO", tick=tick)
    bk = BookView(bb, ba, D(100), D(100), tick=tick)
    ladder = edge_ladder(bk, tick, D(yes_inv - no_inv), D(10), QuotingParams(), RiskParams())
    for o in ladder_orders(m, ladder, D(yes_inv)):
        assert o.post_only and tick <= o.price <= 1 - tick and on_tick(o.price, tick)
        if o.token_id == "YES" and o.side is Side.BUY:
            assert o.price < ba
        elif o.token_id == "YES":
            assert o.price > bb and o.size <= yes_inv
        else:  # BUY NO must stay below the NO best ask = 1 - YES best bid
            assert o.price < 1 - bb
