"""The inventory-aware model: reservation price, volatility-driven spread, ladders (the reward
band's scoring: test_strategy_rewards.py)."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import MarketInfo, on_tick
from pmbot.strategy import BookView, StrategyInput, StrategyMemory, StrategyParams, decide
from pmbot.strategy.avellaneda import avellaneda_ladder, update_variance
from pmbot.strategy.params import QuotingParams

MARKET = MarketInfo("cond", "YES", "NO")
BOOK = BookView(D("0.50"), D("0.54"), D(100), D(100))
TICK = D("0.01")
MID = QuotingParams(name="avellaneda", fair_value="mid")


def ladder(net, var=D("0.000001"), params=MID, book=BOOK, market=MARKET, now=0.0):
    return avellaneda_ladder(book, TICK, D(net), D(10), var, market, now, params)


def test_flat_inventory_quotes_around_the_mid():
    # var*T = 0.0036; half = 0.01 + 0.1*0.0036/2 + 0.25*0.06 = 0.02518
    lad = ladder(0)
    assert lad.bids == ((D("0.49"), D(10)),) and lad.asks == ((D("0.55"), D(10)),) and lad.skew == 0


def test_long_inventory_shifts_the_reservation_price_down():
    # r = 0.52 - 100 * 0.1 * 0.0036 = 0.484 -> bid 0.45882 -> 0.45, ask 0.50918 -> 0.51
    lad = ladder(100)
    assert lad.best_bid == D("0.45") and lad.best_ask == D("0.51") and lad.skew == -4
    short = ladder(-100)
    assert short.best_bid == D("0.53") and short.best_ask == D("0.59") and short.skew == 4


def test_spread_widens_with_measured_volatility():
    calm, wild = ladder(0, D("0.000001")), ladder(0, D("0.00004"))
    assert wild.best_ask - wild.best_bid > calm.best_ask - calm.best_bid


def test_variance_is_an_ewma_of_mid_changes_per_second():
    p = QuotingParams(vol_halflife_secs=D(60))
    v = update_variance(
        D("0.000001"), D("0.50"), 0.0, D("0.51"), 60.0, p
    )  # weight 1/2 after one half-life
    assert abs(v - (D("0.000001") + (D("0.0001") / 60 - D("0.000001")) / 2)) < D("1e-15")
    assert update_variance(None, None, None, D("0.5"), 1.0, p) == p.initial_variance_per_sec
    assert update_variance(v, D("0.51"), 60.0, D("0.51"), 60.0, p) == v  # no time passed


def test_ladder_levels_step_away_from_the_touch():
    lad = ladder(
        0,
        params=QuotingParams(
            name="avellaneda", fair_value="mid", ladder_levels=3, ladder_step_ticks=2
        ),
    )
    assert [p for p, _ in lad.bids] == [D("0.49"), D("0.47"), D("0.45")]
    assert [p for p, _ in lad.asks] == [D("0.55"), D("0.57"), D("0.59")]


def test_time_to_end_caps_the_horizon():
    ending = MarketInfo("cond", "YES", "NO", end_date_ts=36.0)  # T = 36 s instead of 3600
    assert ladder(100, market=ending).skew == 0  # 100 * 0.1 * 0.000036 = 0.00036: under half a tick


def test_microprice_leans_toward_the_thin_side():
    thin_ask = BookView(D("0.50"), D("0.54"), D(300), D(100))
    lad = avellaneda_ladder(
        thin_ask, TICK, D(0), D(10), D("0.000001"), MARKET, 0.0, QuotingParams(name="avellaneda")
    )
    assert lad.best_bid == D("0.50")  # microprice 0.53: bid 0.5048 -> 0.50


def test_decide_runs_the_model_by_name_and_carries_variance_in_memory():
    params = StrategyParams(quoting=QuotingParams(name="avellaneda"))
    d1 = decide(
        StrategyInput(now=0.0, markets=(MARKET,), books={"YES": BOOK}), StrategyMemory(), params
    )
    assert [o.price for o in d1.new_orders] == [
        D("0.49"),
        D("0.45"),
    ]  # BUY YES 0.49, BUY NO 1 - 0.55
    moved = BookView(D("0.51"), D("0.55"), D(100), D(100))
    d2 = decide(StrategyInput(now=30.0, markets=(MARKET,), books={"YES": moved}), d1.memory, params)
    assert d2.memory.markets["cond"].variance_per_sec > d1.memory.markets["cond"].variance_per_sec


@settings(max_examples=150, deadline=None)
@given(
    st.integers(5, 90),
    st.integers(1, 8),
    st.integers(-500, 500),
    st.integers(-500, 500),
    st.sampled_from([D("0.000001"), D("0.00001"), D("0.0001")]),
)
def test_prices_valid_and_monotone_in_inventory(bid_c, spread_c, q1, q2, var):
    book = BookView(bid_c * TICK, (bid_c + spread_c) * TICK, D(100), D(100))
    p = QuotingParams(name="avellaneda", ladder_levels=2)
    lo, hi = sorted((q1, q2))
    a = avellaneda_ladder(book, TICK, D(lo), D(10), var, MARKET, 0.0, p)
    b = avellaneda_ladder(book, TICK, D(hi), D(10), var, MARKET, 0.0, p)
    for lad in (a, b):
        for price, _ in lad.bids:
            assert on_tick(price, TICK) and TICK <= price < book.best_ask
        for price, _ in lad.asks:
            assert on_tick(price, TICK) and book.best_bid < price <= 1 - TICK
        if lad.bids and lad.asks:
            assert lad.best_bid < lad.best_ask
    if a.bids and b.bids:
        assert b.best_bid <= a.best_bid
    if a.asks and b.asks:
        assert b.best_ask <= a.best_ask
