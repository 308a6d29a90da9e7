"""Issue 13 item 8: quotes and arbitrage baskets sized within the free pUSD, and FOK arbitrage legs
that fit the depth they were sized on (pure sizing; the sim test is
tests/integration/test_balance_sim.py)."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import EventInfo, MarketInfo, Side
from pmbot.strategy import (
    BookView,
    LiveOrder,
    StrategyInput,
    StrategyMemory,
    StrategyParams,
    decide,
)
from pmbot.strategy.arb_sizing import cent_exact_sets, leg_spend, size_basket
from pmbot.strategy.arbitrage import basket_yes
from pmbot.strategy.params import ArbitrageParams, QuotingParams
from pmbot.strategy.quoting import free_after_orders, within_balance
from pmbot.strategy.views import DesiredOrder
from pmbot.venue.market_orders import market_buy_for_shares, sweep_market_buy

MARKET = MarketInfo("cond", "YES", "NO")
QUOTES = StrategyParams(
    quoting=QuotingParams(order_size=D(10)), arbitrage=ArbitrageParams(enabled=False)
)


def quote_input(free, open_orders=()):
    return StrategyInput(
        now=1000.0,
        markets=(MARKET,),
        books={"YES": BookView(D("0.50"), D("0.54"), D(100), D(100))},
        open_orders=tuple(open_orders),
        free_balance_usd=free,
    )


def buys(md):
    return sorted((o.token_id, o.price, o.size) for o in md.new_orders if o.side is Side.BUY)


def test_unknown_balance_caps_nothing():
    md = decide(quote_input(None), StrategyMemory(), QUOTES).markets[0]
    # bid 0.45 (BUY YES) and ask 0.59 as BUY NO 0.41: 4.50 + 4.10 pUSD
    assert buys(md) == [("NO", D("0.41"), D(10)), ("YES", D("0.45"), D(10))]


def test_a_buy_quote_that_does_not_fit_the_free_balance_is_skipped_not_sent():
    md = decide(quote_input(D("5.00")), StrategyMemory(), QUOTES).markets[0]
    assert buys(md) == [("YES", D("0.45"), D(10))]  # 4.50 fits; the 4.10 one no longer does
    md = decide(quote_input(D("4.00")), StrategyMemory(), QUOTES).markets[0]
    assert buys(md) == []


def test_the_skipped_quote_is_placed_once_the_balance_allows():
    first = decide(quote_input(D("5.00")), StrategyMemory(), QUOTES)
    resting = LiveOrder("o1", "YES", Side.BUY, D("0.45"), D(10))
    # the venue reports 10 pUSD; the resting bid locks 4.50 of it: 5.50 free, the BUY NO fits
    free = free_after_orders(D(10), [resting])
    assert free == D("5.50")
    md = decide(quote_input(free, [resting]), first.memory, QUOTES).markets[0]
    assert buys(md) == [("NO", D("0.41"), D(10))] and md.requote_reason == "incomplete"


def test_free_after_orders_subtracts_open_buys_only():
    orders = [
        LiveOrder("a", "YES", Side.BUY, D("0.45"), D(10)),
        LiveOrder("b", "YES", Side.SELL, D("0.60"), D(10)),
        LiveOrder("c", "NO", Side.BUY, D("0.30"), D(5), cancel_pending=True),  # still locked
    ]
    assert free_after_orders(D(20), orders) == D(20) - D("4.50") - D("1.50")
    assert free_after_orders(None, orders) is None


def test_within_balance_keeps_sells_and_later_buys_that_fit():
    orders = (
        DesiredOrder("c", "YES", Side.BUY, D("0.50"), D(10)),  # 5.00
        DesiredOrder("c", "YES", Side.SELL, D("0.60"), D(10)),  # locks shares, not pUSD
        DesiredOrder("c", "NO", Side.BUY, D("0.20"), D(10)),  # 2.00
    )
    kept, left = within_balance(orders, D("3.00"))
    assert kept == orders[1:] and left == D("1.00")


def outcome(i, tick="0.01"):
    return MarketInfo(f"c{i}", f"Y{i}", f"N{i}", tick=D(tick), min_size=D(5), neg_risk=True)


def asks(*levels):
    lv = tuple((D(p), D(s)) for p, s in levels)
    return BookView(None, lv[0][0], D(0), lv[0][1], asks=lv)


EVENT = EventInfo("ev", tuple(outcome(i) for i in range(3)))
BOOKS = {"Y0": asks(("0.30", 100)), "Y1": asks(("0.32", 100)), "Y2": asks(("0.32", 100))}


def test_a_basket_is_sized_within_the_free_balance():
    opp = basket_yes(EVENT, BOOKS, ArbitrageParams(), D(1000), free_usd=D(20))
    # 0.94 per set; 3 cents of spend rounding kept aside: (20 - 0.03) / 0.94 = 21.24 sets
    assert opp.actionable and opp.sets == D("21.24")
    assert opp.locks <= D(20)
    assert basket_yes(EVENT, BOOKS, ArbitrageParams(), D(1000), free_usd=D(3)).skipped == "budget"


def test_decide_sizes_quotes_first_then_the_basket_within_what_is_left():
    params = StrategyParams(quoting=QuotingParams(order_size=D(10)))
    inp = StrategyInput(
        now=1000.0,
        markets=(),
        books=BOOKS,
        events=(EVENT,),
        free_balance_usd=D("10.00"),
    )
    decision = decide(inp, StrategyMemory(), params)
    spend = sum(leg_spend(o.size, o.price, fok=False) for o in decision.arb_orders)
    assert decision.arb_orders and spend <= D("10.00")


def test_fok_legs_on_a_level_holding_exactly_the_set_count_buy_it_whole():
    """The integration test's book: 12.37 shares at 0.305 (tick 0.001), 0.31 and 0.33. FAK-style
    legs round the spend up and would ask more than the level gives; FOK sets are cent-exact."""
    levels = [((D("0.305"), D("12.37")),), ((D("0.31"), D("12.37")),), ((D("0.33"), D("12.37")),)]
    rates = [(D(0), 1)] * 3
    w = size_basket(levels, rates, D(1), D("0.01"), D(100), fok=True, min_size=D(5))
    assert w.sets == D(12)  # 12 x 0.305 = 3.66: whole cents on every leg
    for lv, limit in zip(levels, w.limits, strict=True):
        amounts = market_buy_for_shares(w.sets, limit, D("0.001"))
        fill = sweep_market_buy(lv, amounts.pusd, amounts.price)
        assert fill.spent == amounts.pusd and fill.shares == w.sets


def test_fok_sets_fit_the_pusd_the_walked_levels_hold():
    # the deeper level is used in full: sets x 0.40 would ask more pUSD than 5 x 0.30 + 5 x 0.40
    levels = [((D("0.30"), D(5)), (D("0.40"), D(5))), ((D("0.20"), D(100)),)]
    rates = [(D(0), 1)] * 2
    fak = size_basket(levels, rates, D(1), D("0.01"), D(100), fok=False)
    fok = size_basket(levels, rates, D(1), D("0.01"), D(100), fok=True, min_size=D(5))
    assert fak.sets == D(10)
    assert fok.sets == D("8.75")  # 3.50 pUSD visible up to 0.40 -> 8.75 x 0.40 = 3.50
    spend = leg_spend(fok.sets, fok.limits[0], fok=True)
    assert sweep_market_buy(levels[0], spend, fok.limits[0]).spent == spend


def test_cent_exact_sets():
    assert cent_exact_sets(D("12.37"), [D("0.305"), D("0.31")]) == D(12)
    assert cent_exact_sets(D("12.37"), [D("0.30")]) == D("12.3")
    assert cent_exact_sets(D("12.37"), [D("0.31"), D("0.33")]) == D(12)
    assert cent_exact_sets(D("12.37"), [D("0.50")]) == D("12.36")


prices_001 = st.integers(50, 400).map(lambda k: D(k) / 1000)
sizes = st.integers(500, 5000).map(lambda k: D(k) / 100)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(prices_001, sizes), min_size=1, max_size=3), min_size=2, max_size=3
    ),
    st.sampled_from([None, D(5), D(20), D(100)]),
)
def test_every_fok_leg_is_filled_whole_and_the_legs_fit_the_balance(books, free):
    levels = [tuple(sorted(b)) for b in books]
    rates = [(D(0), 1)] * len(levels)
    w = size_basket(levels, rates, D(1), D("0.001"), D(1000), fok=True, free_usd=free)
    if w.sets <= 0:
        return
    spends = []
    for lv, limit in zip(levels, w.limits, strict=True):
        amounts = market_buy_for_shares(w.sets, limit, D("0.001"))
        fill = sweep_market_buy(lv, amounts.pusd, amounts.price)
        # not killed: all spent but the sub-micro-share dust of flooring (the sim's FOK rule)
        assert fill.spent > amounts.pusd - amounts.price * D("0.000001")
        assert fill.shares >= amounts.shares
        spends.append(amounts.pusd)
    if free is not None:
        assert sum(spends) <= free
