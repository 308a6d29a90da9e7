"""Reward-aware quoting (issue 17 item 2): the band, ``edge`` with ``stay_in_band``, the
``avellaneda`` reward scoring, the venue's reward fields and the bot's own score estimate."""

from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pmbot import rewards
from pmbot.model import MarketInfo, Side, on_tick
from pmbot.strategy import BookView, StrategyInput, StrategyMemory, StrategyParams, decide
from pmbot.strategy import reward_scoring as rs
from pmbot.strategy.avellaneda import avellaneda_ladder
from pmbot.strategy.params import QuotingParams, RiskParams
from pmbot.strategy.rewards_band import Band, band_for, others_book, reward_params
from pmbot.strategy.views import LiveOrder
from pmbot.venue.markets import market_from_clob_info, market_from_gamma, market_from_listing

TICK = D("0.01")
PLAIN = MarketInfo("cond", "YES", "NO")
REWARD = replace(
    PLAIN, rewards_max_spread=D("3.5"), rewards_min_size=D(50), rewards_daily_rate=D(200)
)
BAND_ON = QuotingParams(rewards="stay_in_band")


def book(bid, ask, size="100", bids=(), asks=()):
    return BookView(D(bid), D(ask), D(size), D(size), bids=bids, asks=asks)


def decide_one(bk, *, market=REWARD, quoting=BAND_ON, inventory=None, orders=(), memory=None):
    params = StrategyParams(quoting=quoting, risk=RiskParams(max_position_size_usd=D(10_000)))
    inp = StrategyInput(
        now=1000.0,
        markets=(market,),
        books={"YES": bk},
        inventory=inventory or {},
        open_orders=tuple(orders),
    )
    return decide(inp, memory or StrategyMemory(), params)


def yes_price(order):
    return order.price if order.token_id == "YES" else 1 - order.price


# --------------------------------------------------------------------------- venue fields


def test_reward_fields_from_the_clob_market_object_compact_record_and_gamma():
    clob = {"rates": [{"rewards_daily_rate": 150}, {"rewards_daily_rate": 50}], "min_size": 20}
    clob["max_spread"] = 3.5
    assert rewards.from_venue(clob) == rewards.RewardParams(D("3.5"), D(20), D(200))
    assert rewards.from_venue(None, {"mi": 50, "ma": 4.5, "e": True}) == rewards.RewardParams(
        D("4.5"), D(50), D(0)
    )
    gamma = {
        "rewardsMinSize": 10,
        "rewardsMaxSpread": "2",
        "clobRewards": [{"rewardsDailyRate": 5}],
    }
    assert rewards.from_venue(gamma=gamma) == rewards.RewardParams(D(2), D(10), D(5))


@pytest.mark.parametrize(
    "clob", [None, {}, {"rates": None, "min_size": 0, "max_spread": 0}, {"max_spread": "x"}]
)
def test_missing_or_malformed_reward_fields_read_as_no_rewards(clob):
    assert rewards.from_venue(clob, {"ma": -1, "mi": True}).max_spread_cents == 0


def test_market_lookups_carry_the_reward_fields():
    rw = {"rates": [{"rewards_daily_rate": 200}], "min_size": 50, "max_spread": 3.5}
    row = {
        "condition_id": "0xc",
        "tokens": [{"token_id": "1", "outcome": "Yes"}, {"token_id": "2", "outcome": "No"}],
        "rewards": rw,
    }
    m = market_from_listing(row)
    assert m is not None
    assert (m.rewards_max_spread, m.rewards_min_size, m.rewards_daily_rate) == (
        D("3.5"),
        D(50),
        D(200),
    )
    info = {"t": [{"t": "1", "o": "Yes"}, {"t": "2", "o": "No"}], "r": {"mi": 20, "ma": 2}}
    c = market_from_clob_info("0xc", info, {"rewards": {"rates": [{"rewards_daily_rate": 9}]}})
    assert (c.rewards_max_spread, c.rewards_min_size, c.rewards_daily_rate) == (D(2), D(20), D(9))
    g = market_from_gamma(
        {
            "conditionId": "0xc",
            "outcomes": '["Yes", "No"]',
            "clobTokenIds": '["1", "2"]',
            "rewardsMinSize": 100,
            "rewardsMaxSpread": 1.5,
        },
        require_tradeable=False,
    )
    assert (g.rewards_max_spread, g.rewards_min_size) == (D("1.5"), D(100))


# --------------------------------------------------------------------------- the band


def test_config_narrows_the_venue_band_raises_its_size_and_bands_a_plain_market_only_if_set():
    assert reward_params(PLAIN, BAND_ON) is None
    p = reward_params(REWARD, replace(BAND_ON, rewards_max_spread_cents=D(2)))
    assert p == rewards.RewardParams(D(2), D(50), D(200))
    assert reward_params(
        REWARD, replace(BAND_ON, rewards_max_spread_cents=D(9))
    ).max_spread_cents == D("3.5")
    assert reward_params(REWARD, replace(BAND_ON, rewards_min_size=D(80))).min_size == D(80)
    hand = reward_params(PLAIN, replace(BAND_ON, rewards_max_spread_cents=D(3)))
    assert hand == rewards.RewardParams(D(3), D(0), D(0))


@settings(max_examples=300, deadline=None)
@given(st.integers(200, 9800), st.integers(5, 120), st.sampled_from([D("0.01"), D("0.001")]))
def test_band_edges_are_the_outermost_tick_prices_strictly_inside(mid_bp, v_tenths, tick):
    band = Band(D(mid_bp) / 10_000, rewards.RewardParams(D(v_tenths) / 10, D(0)))
    lo, hi = band.lowest_bid(tick), band.highest_ask(tick)
    assert on_tick(lo, tick) and on_tick(hi, tick)
    if not band.contains(lo):  # no price on the tick strictly inside: the band is empty
        assert hi < lo and not band.contains(hi)
        return
    assert band.contains(lo) and not band.contains(lo - tick)
    assert band.contains(hi) and not band.contains(hi + tick)


def test_own_orders_are_taken_out_of_the_book_before_the_mid_is_measured():
    bk = book("0.48", "0.55", bids=((D("0.48"), D(60)), (D("0.45"), D(100))))
    bk = replace(bk, asks=((D("0.55"), D(100)),))
    mine = LiveOrder("o1", "YES", Side.BUY, D("0.48"), D(50))
    bids, asks = others_book(bk, REWARD, [mine])
    assert bids == ((D("0.48"), D(10)), (D("0.45"), D(100))) and asks == ((D("0.55"), D(100)),)
    band = band_for(REWARD, bk, [mine], BAND_ON)
    assert band is not None and band.mid == D("0.50")  # 0.48 x 10 is below the min size of 50


# --------------------------------------------------------------------------- edge + stay_in_band


def test_edge_quotes_move_inside_the_band_at_the_min_size():
    # edge: 0.45 / 0.59 around 0.52 (3.5 c band: 0.4850 .. 0.5550 exclusive) -> 0.49 / 0.55
    md = decide_one(book("0.50", "0.54")).markets[0]
    got = sorted((o.side, o.token_id, o.price, o.size) for o in md.new_orders)
    assert got == [(Side.BUY, "NO", D("0.45"), D(50)), (Side.BUY, "YES", D("0.49"), D(50))]


def test_off_quotes_a_reward_market_exactly_as_before():
    off = decide_one(book("0.50", "0.54"), quoting=QuotingParams())
    plain = decide_one(book("0.50", "0.54"), market=PLAIN, quoting=QuotingParams())
    assert off.markets[0].new_orders == plain.markets[0].new_orders
    assert sorted(o.price for o in off.markets[0].new_orders) == [D("0.41"), D("0.45")]


def test_a_price_already_inside_the_band_stays():
    md = decide_one(book("0.50", "0.54"), quoting=replace(BAND_ON, edge_fraction=D("0.02")))
    bid = next(o for o in md.markets[0].new_orders if o.token_id == "YES")
    assert bid.price == D("0.49")  # 0.50 * 0.98 = 0.49, inside: not moved


def test_a_guard_still_pulls_banded_quotes():
    wild = book("0.01", "0.03")  # extreme prices: the guard pauses the market
    m = replace(REWARD, rewards_max_spread=D(5))
    md = decide_one(wild, market=m).markets[0]
    assert not md.verdict.may_quote and md.new_orders == ()


def test_resting_quotes_that_left_the_band_are_replaced():
    first = decide_one(book("0.50", "0.54"))
    rest = [
        LiveOrder(f"o{i}", o.token_id, o.side, o.price, o.size)
        for i, o in enumerate(first.markets[0].new_orders)
    ]
    # the others' book moves up by 0.009: the same mid bucket ceil(52.9) != ceil(52)? use 0.004
    moved = book("0.508", "0.548")
    moved = replace(moved, bids=((D("0.508"), D(100)),), asks=((D("0.548"), D(100)),))
    # resting 0.49 is now 0.038 from the mid 0.528: outside the 3.5 c band
    again = decide_one(moved, orders=rest, memory=first.memory).markets[0]
    assert again.requote_reason in ("rewards_band", "mid_bucket")
    assert again.cancel_ids and all(
        abs(yes_price(o) - D("0.528")) < D("0.035") for o in again.new_orders
    )


def test_band_breach_alone_forces_a_requote_the_mid_bucket_would_not():
    first = decide_one(book("0.501", "0.541"))  # mid 0.521, bucket 53
    rest = [
        LiveOrder(f"o{i}", o.token_id, o.side, o.price, o.size)
        for i, o in enumerate(first.markets[0].new_orders)
    ]
    assert sorted(yes_price(o) for o in rest) == [D("0.49"), D("0.55")]
    again = decide_one(book("0.509", "0.549"), orders=rest, memory=first.memory).markets[0]
    assert again.requote_reason == "rewards_band"  # mid 0.529, still bucket 53; 0.49 is 3.9 c away
    # the bid 0.49 moves in to 0.50; the ask follows the mid too (< 0.564: 0.56)
    assert sorted(yes_price(o) for o in again.new_orders) == [D("0.50"), D("0.56")]


@st.composite
def reward_books(draw):
    bid = draw(st.integers(5, 90))
    spread = draw(st.integers(1, 9))
    ask = min(bid + spread, 98)
    v = draw(st.sampled_from([D("1.5"), D(2), D(3), D("3.5"), D("4.5"), D(6)]))
    return bid * TICK, ask * TICK, v


@settings(max_examples=300, deadline=None)
@given(
    reward_books(),
    st.integers(-300, 300),
    st.sampled_from([D("0.02"), D("0.10"), D("0.30")]),
    st.sampled_from([D(5), D(10), D(100)]),
)
def test_banded_edge_quotes_score_on_the_venue_s_book_including_themselves(tb, net, e, size):
    bid, ask, v = tb
    assume(bid < ask)
    market = replace(REWARD, rewards_max_spread=v)
    bk = book(bid, ask, size="200")
    inv = {"YES": D(net)} if net > 0 else {"NO": D(-net)}
    d = decide_one(
        bk, market=market, quoting=replace(BAND_ON, edge_fraction=e, order_size=size), inventory=inv
    )
    md = d.markets[0]
    if md.verdict.state != "quoting":
        return
    quotes = [
        rewards.yes_terms(o.token_id == "YES", o.side.value, o.price, o.size) for o in md.new_orders
    ]
    levels_b = [(bid, D(200))] + [(q.price, q.size) for q in quotes if q.side == "BUY"]
    levels_a = [(ask, D(200))] + [(q.price, q.size) for q in quotes if q.side == "SELL"]
    venue_mid = rewards.adjusted_midpoint(levels_b, levels_a, D(50))
    for q in quotes:
        assert q.size >= D(50)
        assert abs(q.price - venue_mid) * 100 < v, (q, venue_mid)


# --------------------------------------------------------------------------- avellaneda scoring


def test_touch_probability_is_one_at_the_mid_and_falls_with_distance():
    p = [rs.touch_probability(d, 0.001, 3600.0) for d in (0.0, 0.01, 0.03, 0.5)]
    assert p[0] == 1.0 and p == sorted(p, reverse=True) and p[-1] < 1e-6
    assert rs.touch_probability(0.01, 0.0, 3600.0) == 0.0


AV = QuotingParams(
    name="avellaneda", fair_value="mid", min_half_spread_ticks=6, rewards="stay_in_band"
)


def av_ladder(net, market, var=D("0.000001"), params=AV, bk=None):
    bk = bk or book("0.50", "0.54", size="100")
    band = band_for(market, bk, (), params)
    return avellaneda_ladder(bk, TICK, D(net), D(10), var, market, 0.0, params, band)


def test_a_rich_pool_pulls_level_zero_into_the_band_at_the_min_size():
    lad = av_ladder(0, replace(REWARD, rewards_daily_rate=D(5000)))
    assert lad.bids[0][1] == D(50) and lad.asks[0][1] == D(50)
    assert D("0.485") < lad.best_bid and lad.best_ask < D("0.555")


def test_without_a_pool_the_adverse_selection_keeps_the_model_s_prices():
    plain = avellaneda_ladder(
        book("0.50", "0.54"), TICK, D(0), D(10), D("0.000001"), PLAIN, 0.0, AV
    )
    lad = av_ladder(0, replace(REWARD, rewards_daily_rate=D(0)))
    assert lad == plain and plain.best_bid == D("0.44")


def test_high_volatility_outweighs_a_small_pool():
    small = replace(REWARD, rewards_daily_rate=D("0.5"))
    calm = av_ladder(0, small, var=D("0.0000001"))
    wild = av_ladder(0, small, var=D("0.0001"))
    assert wild.best_bid <= calm.best_bid and wild.best_ask >= calm.best_ask


@settings(max_examples=150, deadline=None)
@given(
    reward_books(),
    st.integers(-500, 500),
    st.sampled_from([D("0.0000001"), D("0.00001"), D("0.0001")]),
    st.sampled_from([D(0), D(10), D(1000)]),
)
def test_scored_ladders_are_valid_and_never_grow_the_inventory_faster(tb, net, var, rate):
    bid, ask, v = tb
    assume(bid < ask)
    bk = book(bid, ask)
    market = replace(REWARD, rewards_max_spread=v, rewards_daily_rate=rate)
    params = replace(AV, ladder_levels=2)
    scored = av_ladder(net, market, var, params, bk)
    model = avellaneda_ladder(
        bk, TICK, D(net), D(10), var, market, 0.0, replace(params, rewards="off")
    )
    for price, _ in scored.bids:
        assert on_tick(price, TICK) and TICK <= price < ask
    for price, _ in scored.asks:
        assert on_tick(price, TICK) and bid < price <= 1 - TICK
    if scored.bids and scored.asks:
        assert scored.best_bid < scored.best_ask
    if net > 0 and scored.bids and model.bids:
        assert scored.best_bid <= model.best_bid
    if net < 0 and scored.asks and model.asks:
        assert scored.best_ask >= model.best_ask


# --------------------------------------------------------------------------- own estimate


def test_own_estimate_by_hand():
    # book: our bid 0.50 x 50 and ask 0.54 x 50 (YES terms), others 0.49 x 100 and 0.55 x 100
    bids = [(D("0.50"), D(50)), (D("0.49"), D(100))]
    asks = [(D("0.54"), D(50)), (D("0.55"), D(100))]
    own = [rewards.Quote("BUY", D("0.50"), D(50)), rewards.Quote("SELL", D("0.54"), D(50))]
    est = rewards.own_estimate(REWARD, bids, asks, own)
    assert est is not None and est.mid == D("0.52")
    # mine: 2 c from the mid each side, ((3.5 - 2) / 3.5)^2 * 50 each -> Q_min = that
    mine = (D("1.5") / D("3.5")) ** 2 * 50
    others = (D("0.5") / D("3.5")) ** 2 * 100  # 3 c away
    assert est.score == mine
    assert est.share == mine / (mine + others)
    assert rewards.own_estimate(PLAIN, bids, asks, own) is None
