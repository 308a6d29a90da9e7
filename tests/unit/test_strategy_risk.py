"""Risk guards through `decide`: each trips with its reason, fails closed, releases in time."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import MarketInfo, Side, VenueMode
from pmbot.strategy import (
    BookView,
    LiveOrder,
    StrategyInput,
    StrategyMemory,
    StrategyParams,
    decide,
)
from pmbot.strategy.params import RiskParams

MARKET = MarketInfo("cond", "YES", "NO")
BOOK = BookView(D("0.50"), D("0.54"), D(100), D(100))
PARAMS = StrategyParams()
RESTING = (
    LiveOrder("bid1", "YES", Side.BUY, D("0.45"), D(10)),
    LiveOrder("ask1", "NO", Side.BUY, D("0.41"), D(10)),
)


def inp(**kw):
    base = dict(now=1000.0, markets=(MARKET,), books={"YES": BOOK})
    base.update(kw)
    return StrategyInput(**base)


def orders_of(d):
    return [(o.token_id, o.side.value, o.price, o.size) for o in d.new_orders]


LONG_YES = {"YES": D(30)}  # long 30 YES: the reducing quote is the ask, as SELL YES


def test_position_limit_cancels_all_then_reduces_and_resumes_below_ninety_percent():
    d1 = decide(
        inp(unhedged_position_usd=D(501), inventory=LONG_YES, open_orders=RESTING),
        StrategyMemory(),
        PARAMS,
    )
    assert str(d1.verdict) == "reduce_only(position_limit)"
    assert d1.cancel_all and d1.cancel_all_reason == "position_limit"
    # the cancel-all takes the resting quotes; the reducing ask goes out after it
    assert d1.cancel_ids == ()
    assert orders_of(d1) == [("YES", "SELL", D("0.59"), D(10))]
    assert str(d1.verdict_of("cond")) == "reduce_only(position_limit)"

    ask = (LiveOrder("ask2", "YES", Side.SELL, D("0.59"), D(10)),)
    d2 = decide(  # under the limit, above 90%: still reducing, the ask stays
        inp(now=1001.0, unhedged_position_usd=D(460), inventory=LONG_YES, open_orders=ask),
        d1.memory,
        PARAMS,
    )
    assert str(d2.verdict) == "reduce_only(position_limit)"
    assert not d2.cancel_all and d2.new_orders == () and d2.cancel_ids == ()

    d3 = decide(  # exactly 90%: still reducing
        inp(now=1002.0, unhedged_position_usd=D(450), inventory=LONG_YES, open_orders=ask),
        d2.memory,
        PARAMS,
    )
    assert str(d3.verdict) == "reduce_only(position_limit)" and not d3.cancel_all

    d4 = decide(
        inp(now=1003.0, unhedged_position_usd=D("449.99"), inventory=LONG_YES, open_orders=ask),
        d3.memory,
        PARAMS,
    )
    assert d4.verdict.state == "quoting" and not d4.cancel_all
    assert {o.side for o in d4.markets[0].desired} == {Side.BUY, Side.SELL}  # two-sided again
    assert orders_of(d4) == [("YES", "BUY", D("0.45"), D(10))]  # the ask already rests


def test_hedged_value_does_not_count_against_the_position_limit():
    d = decide(
        inp(position_value_usd=D(5000), hedged_position_usd=D(5000), unhedged_position_usd=D(0)),
        StrategyMemory(),
        PARAMS,
    )
    assert d.verdict.state == "quoting" and len(d.new_orders) == 2


def test_position_at_the_limit_is_not_over_it():
    d = decide(inp(unhedged_position_usd=D(500)), StrategyMemory(), PARAMS)
    assert d.verdict.state == "quoting"


def test_resume_fraction_is_configurable():
    params = StrategyParams(risk=RiskParams(resume_fraction=D("0.5")))
    d1 = decide(inp(unhedged_position_usd=D(600)), StrategyMemory(), params)
    d2 = decide(inp(now=1001.0, unhedged_position_usd=D(300)), d1.memory, params)
    d3 = decide(inp(now=1002.0, unhedged_position_usd=D(249)), d2.memory, params)
    assert [d.verdict.state for d in (d1, d2, d3)] == ["reduce_only", "reduce_only", "quoting"]


@pytest.mark.parametrize(
    "inventory,hedged,want",
    [
        ({"YES": D(30)}, {}, [("YES", "SELL", D("0.59"), D(10))]),  # long YES: sell YES
        ({"NO": D(6)}, {}, [("NO", "SELL", D("0.55"), D(6))]),  # long NO: sell NO at 1 - bid
        ({"YES": D(40), "NO": D(33)}, {}, [("YES", "SELL", D("0.59"), D(7))]),  # 33 pairs kept
        ({"YES": D(40), "NO": D(40)}, {}, []),  # only complete sets: nothing to reduce
        ({"YES": D(50)}, {"YES": D(45)}, [("YES", "SELL", D("0.59"), D(5))]),  # 45 in a basket
        ({"YES": D(3)}, {}, []),  # below the minimum size: nothing
    ],
)
def test_reduce_only_past_the_position_limit_sells_only_unhedged_holdings(inventory, hedged, want):
    d = decide(
        inp(unhedged_position_usd=D(600), inventory=inventory, hedged=hedged, open_orders=RESTING),
        StrategyMemory(),
        PARAMS,
    )
    assert str(d.markets[0].verdict) == "reduce_only(position_limit)"
    assert orders_of(d) == want


def test_a_pausing_guard_wins_over_the_position_limit_and_the_cancel_all_follows_it():
    d1 = decide(
        inp(unhedged_position_usd=D(600), user_feed_up=False, open_orders=RESTING),
        StrategyMemory(),
        PARAMS,
    )
    assert str(d1.verdict) == "paused(user_feed_down)" and d1.new_orders == ()
    d2 = decide(
        inp(now=1001.0, unhedged_position_usd=D(600), inventory=LONG_YES), d1.memory, PARAMS
    )
    assert str(d2.verdict) == "reduce_only(position_limit)" and d2.cancel_all


def test_daily_loss_limit_halts_until_the_trading_day_changes():
    d1 = decide(
        inp(daily_pnl_usd=D(-100), trading_day="2026-11-25", open_orders=RESTING),
        StrategyMemory(),
        PARAMS,
    )
    assert str(d1.verdict) == "halted(daily_loss_limit)" and d1.cancel_all
    d2 = decide(inp(now=1001.0, daily_pnl_usd=D(0), trading_day="2026-11-25"), d1.memory, PARAMS)
    assert (
        str(d2.verdict) == "halted(daily_loss_limit)" and not d2.cancel_all and d2.new_orders == ()
    )
    d3 = decide(inp(now=1002.0, daily_pnl_usd=D(0), trading_day="2026-11-26"), d2.memory, PARAMS)
    assert d3.verdict.state == "quoting" and d3.new_orders


def test_user_feed_down_means_no_new_quotes_and_resting_ones_cancelled():
    d = decide(inp(user_feed_up=False, open_orders=RESTING), StrategyMemory(), PARAMS)
    assert str(d.verdict) == "paused(user_feed_down)"
    assert d.new_orders == () and sorted(d.cancel_ids) == ["ask1", "bid1"] and not d.cancel_all


def test_venue_cancel_only_cancels_but_places_nothing_and_disabled_sends_nothing():
    d = decide(inp(venue_mode=VenueMode.CANCEL_ONLY, open_orders=RESTING), StrategyMemory(), PARAMS)
    assert (
        str(d.verdict) == "paused(venue_cancel_only)"
        and d.new_orders == ()
        and len(d.cancel_ids) == 2
    )
    d = decide(inp(venue_mode=VenueMode.DISABLED, open_orders=RESTING), StrategyMemory(), PARAMS)
    assert str(d.verdict) == "halted(venue_disabled)" and d.new_orders == () and d.cancel_ids == ()
    assert not d.cancel_all


def test_reject_breaker_pauses_for_the_cooloff_and_counts_only_new_rejects_after():
    rejects = tuple(990.0 + i for i in range(10))  # 10 rejects in the last minute
    d1 = decide(inp(recent_rejects=rejects), StrategyMemory(), PARAMS)
    assert str(d1.verdict) == "paused(reject_breaker)"
    d2 = decide(inp(now=1029.0, recent_rejects=rejects), d1.memory, PARAMS)
    assert str(d2.verdict) == "paused(reject_breaker)"
    d3 = decide(
        inp(now=1030.0, recent_rejects=rejects), d2.memory, PARAMS
    )  # cool-off over, old rejects spent
    assert d3.verdict.state == "quoting"
    d4 = decide(inp(now=1031.0, recent_rejects=rejects[:9]), StrategyMemory(), PARAMS)  # 9 < 10
    assert d4.verdict.state == "quoting"


@pytest.mark.parametrize(
    "book,reason",
    [
        (None, "no_book"),
        (BookView(D("0.50"), D("0.54"), live=False), "not_live"),
        (BookView(D("0.50"), D("0.54"), age_secs=61.0), "stale_book"),
        (BookView(D("0.50"), None), "one_sided_book"),
        (BookView(D("0.55"), D("0.54")), "crossed_book"),
    ],
)
def test_bad_books_are_not_quoted(book, reason):
    books = {} if book is None else {"YES": book}
    d = decide(inp(books=books, open_orders=RESTING), StrategyMemory(), PARAMS)
    assert d.verdict.state == "quoting"  # the global verdict is fine; this market is paused
    assert str(d.markets[0].verdict) == f"paused({reason})"
    assert d.new_orders == () and len(d.cancel_ids) == 2


def test_price_jump_starts_a_cooloff_then_quoting_resumes():
    d1 = decide(inp(), StrategyMemory(), PARAMS)
    jumped = BookView(D("0.56"), D("0.60"), D(100), D(100))  # mid 0.52 -> 0.58
    d2 = decide(inp(now=1001.0, books={"YES": jumped}), d1.memory, PARAMS)
    assert str(d2.markets[0].verdict) == "paused(price_jump)" and d2.new_orders == ()
    d3 = decide(inp(now=1010.0, books={"YES": jumped}), d2.memory, PARAMS)
    assert str(d3.markets[0].verdict) == "paused(price_jump)"
    d4 = decide(inp(now=1011.0, books={"YES": jumped}), d3.memory, PARAMS)
    assert d4.markets[0].verdict.state == "quoting" and d4.new_orders


@pytest.mark.parametrize(
    "inventory,want",
    [
        ({"YES": D(30)}, [("YES", "SELL", D("0.59"), D(10))]),  # long: only the ask, as SELL YES
        (
            {"YES": D(7)},
            [("YES", "SELL", D("0.59"), D(7))],
        ),  # long 7: capped at the position (>= min 5)
        ({"YES": D(12), "NO": D(5)}, [("YES", "SELL", D("0.59"), D(7))]),  # net 7 long
        ({"NO": D(6)}, [("NO", "SELL", D("0.55"), D(6))]),  # long NO: sell it, capped
        ({"YES": D(3)}, []),  # below the minimum size: nothing
        ({}, []),  # flat: nothing to reduce
    ],
)
def test_reduce_only_near_the_end_date(inventory, want):
    ending = MarketInfo("cond", "YES", "NO", end_date_ts=1000.0 + 3599)
    d = decide(inp(markets=(ending,), inventory=inventory), StrategyMemory(), PARAMS)
    assert str(d.markets[0].verdict) == "reduce_only(near_end)"
    assert [(o.token_id, o.side.value, o.price, o.size) for o in d.new_orders] == want


def test_far_from_end_date_quotes_both_sides():
    later = MarketInfo("cond", "YES", "NO", end_date_ts=1000.0 + 3601)
    d = decide(inp(markets=(later,)), StrategyMemory(), PARAMS)
    assert d.markets[0].verdict.state == "quoting" and len(d.new_orders) == 2


@settings(max_examples=150, deadline=None)
@given(
    feed_down=st.booleans(),
    mode=st.sampled_from(list(VenueMode)),
    over_position=st.booleans(),
    over_loss=st.booleans(),
    rejects=st.booleans(),
    book_state=st.sampled_from(["ok", "dead", "stale", "one_sided", "extreme"]),
    yes_inv=st.integers(0, 100),
)
def test_no_quote_while_any_guard_is_tripped(
    feed_down, mode, over_position, over_loss, rejects, book_state, yes_inv
):
    books = {
        "ok": BookView(D("0.50"), D("0.54")),
        "dead": BookView(D("0.50"), D("0.54"), live=False),
        "stale": BookView(D("0.50"), D("0.54"), age_secs=1e6),
        "one_sided": BookView(None, D("0.54")),
        "extreme": BookView(D("0.97"), D("0.99")),  # ask 1.00 (or 0.98 skewed down) >= max_ask
    }
    d = decide(
        inp(
            books={"YES": books[book_state]},
            user_feed_up=not feed_down,
            venue_mode=mode,
            unhedged_position_usd=D(600) if over_position else D(0),
            daily_pnl_usd=D(-150) if over_loss else D(0),
            recent_rejects=tuple(999.0 - i for i in range(10)) if rejects else (),
            inventory={"YES": D(yes_inv)},
            open_orders=RESTING,
        ),
        StrategyMemory(),
        PARAMS,
    )
    tripped = feed_down or mode in (VenueMode.CANCEL_ONLY, VenueMode.DISABLED) or over_loss
    tripped = tripped or rejects or book_state != "ok"
    if tripped:
        assert d.new_orders == () and d.arb_orders == ()
        assert d.markets[0].verdict.state in ("paused", "halted")
    elif over_position:  # reduce-only: nothing but sales of the YES held
        assert str(d.markets[0].verdict) == "reduce_only(position_limit)"
        assert all(o.token_id == "YES" and o.side is Side.SELL for o in d.new_orders)
        assert sum((o.size for o in d.new_orders), D(0)) <= yes_inv
    else:
        assert d.markets[0].desired and d.markets[0].verdict.state == "quoting"
