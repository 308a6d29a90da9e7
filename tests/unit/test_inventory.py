"""Inventory and P&L: hand-computed cases and accounting invariants."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import Fill, MarketInfo, NewOrder, OpenOrder, Side, TradeStatus
from pmbot.trading.inventory import Inventory, reserved_by_orders
from pmbot.trading.orders import TrackedOrder

M = MarketInfo("0xcid", "YES", "NO")
_n = 0


def fill(
    side,
    size,
    price,
    token="YES",
    fee="0",
    status=TradeStatus.MATCHED,
    notional=None,
    trade_id=None,
):
    global _n
    _n += 1
    return Fill(
        trade_id or f"t{_n}",
        f"o{_n}",
        M.condition_id,
        token,
        side,
        D(price),
        D(size),
        D(fee),
        False,
        status,
        notional=None if notional is None else D(notional),
    )


def test_average_cost_and_realized_on_reduce():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 10, "0.40"), M)
    inv.apply_fill(fill(Side.BUY, 10, "0.60"), M)
    assert inv.shares("YES") == 20 and inv.avg_cost("YES") == D("0.50")
    inv.apply_fill(fill(Side.SELL, 5, "0.70"), M)
    assert inv.shares("YES") == 15 and inv.avg_cost("YES") == D("0.50")
    p = inv.pnl({"YES": D("0.55")})
    assert p.realized == D("1.00")  # 5 * (0.70 - 0.50)
    assert p.unrealized == D("0.75")  # 15 * (0.55 - 0.50)
    assert p.fees == 0 and p.total == D("1.75")


def test_fees_accumulate_and_reduce_total_and_cash():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 15, "0.5033", fee="0.18748", notional="7.55"), M)
    p = inv.pnl({})
    assert p.fees == D("0.18748") and p.total == D("-0.18748")
    assert inv.cash_flow() == D("-7.73748")  # 7.55 exact notional + fee
    assert inv.avg_cost("YES") * 15 == pytest.approx(D("7.55"))


def test_flip_long_to_short_and_back():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 10, "0.40"), M)
    inv.apply_fill(fill(Side.SELL, 15, "0.50"), M)
    assert inv.shares("YES") == -5 and inv.avg_cost("YES") == D("0.50")
    assert inv.pnl({}).realized == D("1.00")
    inv.apply_fill(fill(Side.BUY, 8, "0.30"), M)
    assert inv.shares("YES") == 3 and inv.avg_cost("YES") == D("0.30")
    assert inv.pnl({}).realized == D("2.00")  # + 5 * (0.50 - 0.30)
    inv.apply_fill(fill(Side.SELL, 3, "0.30"), M)
    assert inv.shares("YES") == 0 and inv.avg_cost("YES") == 0
    assert inv.snapshot().positions["YES"].cost_basis == 0


def test_reversing_a_failed_fill_replays_the_rest_exactly():
    inv = Inventory()
    a, b, c = (
        fill(Side.BUY, 10, "0.40", fee="0.01"),
        fill(Side.BUY, 10, "0.60", fee="0.02"),
        fill(Side.SELL, 5, "0.70"),
    )
    for f in (a, b, c):
        inv.apply_fill(f, M)
    assert inv.reverse_fill(b, M)
    assert inv.shares("YES") == 5 and inv.avg_cost("YES") == D("0.40")
    p = inv.pnl({})
    assert p.realized == D("1.50") and p.fees == D("0.01")
    assert not inv.reverse_fill(b, M)  # once


def test_confirmed_fills_are_folded_and_can_no_longer_be_reversed():
    inv = Inventory()
    a = fill(Side.BUY, 10, "0.40")
    inv.apply_fill(a, M)
    inv.update_status(
        Fill(**{**{s: getattr(a, s) for s in a.__slots__}, "status": TradeStatus.CONFIRMED})
    )
    assert not inv.reverse_fill(a, M)
    assert inv.shares("YES") == 10 and inv.avg_cost("YES") == D("0.40")


def test_exposure_net_yes_imbalance_and_value():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 30, "0.55"), M)
    inv.apply_fill(fill(Side.BUY, 10, "0.45", token="NO"), M)
    e = inv.exposure(M, D("0.6"))
    assert e.net_yes_shares == 20 and e.net_yes_usd == D("12.0") and e.imbalance_usd == D("12.0")
    assert e.value_usd == D("22.0")  # 30 * 0.6 + 10 * 0.4
    none = inv.exposure(M, None)
    assert none.net_yes_shares == 20 and none.net_yes_usd is None and none.value_usd is None


def test_hedged_sets_are_flat_for_skew_but_count_in_value():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 30, "0.55"), M)
    inv.apply_fill(fill(Side.BUY, 10, "0.45", token="NO"), M)
    inv.record_hedged_set(
        "basket-1", {"YES": D(5), "OTHER_YES": D(5)}, cost_usd=D("4.7"), payout_usd=D(5), ts=1.0
    )
    e = inv.exposure(M, D("0.6"))
    assert e.hedged_yes == 5 and e.net_yes_shares == 15 and e.imbalance_usd == D("9.0")
    assert e.value_usd == D("22.0")
    assert (
        inv.hedged_shares("YES") == 5 and inv.hedged_shares("OTHER_YES") == 0
    )  # not held, never over-counted
    with pytest.raises(ValueError):
        inv.record_hedged_set("basket-1", {"YES": D(1)}, cost_usd=D(1), payout_usd=D(1))
    assert inv.hedged_sets()[0].locked_edge_usd == D("0.3")
    inv.release_hedged_set("basket-1")
    assert inv.exposure(M, D("0.6")).net_yes_shares == 20


def test_position_value_marks_missing_mids_at_cost():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 10, "0.40"), M)
    inv.apply_fill(fill(Side.BUY, 4, "0.50", token="NO"), M)
    assert inv.position_value_usd({"YES": D("0.5")}) == D("5.0") + D("2.00")


def test_seed_replaces_positions_and_keeps_realized():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 10, "0.40"), M)
    inv.apply_fill(fill(Side.SELL, 5, "0.50"), M)
    inv.seed({"NO": (D("7"), D("0.3"))})
    assert inv.shares("YES") == 0 and inv.shares("NO") == 7 and inv.avg_cost("NO") == D("0.3")
    assert inv.pnl({}).realized == D("0.50")
    inv.set_position("NO", D(9))
    assert inv.shares("NO") == 9 and inv.avg_cost("NO") == D("0.3")


def test_fill_for_a_token_outside_the_market_is_refused():
    with pytest.raises(ValueError):
        Inventory().apply_fill(fill(Side.BUY, 1, "0.5", token="ELSEWHERE"), M)


def test_reserved_by_open_orders_and_tracked_orders():
    open_orders = [
        OpenOrder("a", "m", "YES", Side.BUY, D("0.40"), D(10), D(4)),
        OpenOrder("b", "m", "YES", Side.SELL, D("0.60"), D(5), D(0)),
        OpenOrder("c", "m", "NO", Side.BUY, D("0.30"), D(5), D(5)),
    ]
    tracked = [
        TrackedOrder(NewOrder("x", "m", "NO", Side.SELL, D("0.7"), D(3)), "0xx", D(1), "live")
    ]
    r = reserved_by_orders(open_orders + tracked)
    assert r.usd == D("2.40") and dict(r.shares) == {"YES": D(5), "NO": D(2)}


prices = st.integers(min_value=1, max_value=99).map(lambda c: D(c) / 100)
fills_st = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 50),
        prices,
        st.integers(0, 500).map(lambda f: D(f) / 100000),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=120, deadline=None)
@given(fills_st, prices)
def test_pnl_equals_cash_plus_marked_position(seq, mid):
    inv = Inventory()
    for side, size, price, fee in seq:
        inv.apply_fill(fill(side, size, price, fee=str(fee)), M)
    signed = sum((D(s) if sd is Side.BUY else -D(s) for sd, s, _, _ in seq), D(0))
    assert inv.shares("YES") == signed
    p = inv.pnl({"YES": mid})
    assert p.total - (inv.cash_flow() + signed * mid) == pytest.approx(D(0), abs=D("1e-18"))


@settings(max_examples=80, deadline=None)
@given(fills_st, st.data())
def test_reversing_any_subset_equals_never_applying_it(seq, data):
    made = [fill(side, size, price, fee=str(fee)) for side, size, price, fee in seq]
    drop = data.draw(st.sets(st.integers(0, len(made) - 1)))
    inv, fresh = Inventory(), Inventory()
    for f in made:
        inv.apply_fill(f, M)
    for i in sorted(drop, reverse=True):
        assert inv.reverse_fill(made[i], M)
    for i, f in enumerate(made):
        if i not in drop:
            fresh.apply_fill(f, M)
    assert inv.snapshot() == fresh.snapshot()


def test_position_split_keeps_hedged_sets_and_pairs_out_of_the_unhedged_value():
    inv = Inventory()
    inv.apply_fill(fill(Side.BUY, 50, "0.40"), M)
    inv.apply_fill(fill(Side.BUY, 20, "0.55", token="NO"), M)
    inv.record_hedged_set("s1", {"YES": D(10), "NO": D(10)}, cost_usd=D("9.5"), payout_usd=D(10))
    mids = {"YES": D("0.50"), "NO": D("0.50")}
    split = inv.position_split((M,), mids)
    # free 40 YES / 10 NO: 10 pairs, 30 YES unhedged at 0.50
    assert split.unhedged_usd == D(15) and split.total_usd == D(35) == inv.position_value_usd(mids)
    assert split.hedged_usd == D(20)
    inv.release_hedged_set("s1")  # released shares are ordinary inventory: still paired here
    assert inv.position_split((M,), mids).unhedged_usd == D(15)
    inv.apply_fill(fill(Side.SELL, 20, "0.50", token="NO"), M)
    assert inv.position_split((M,), mids).unhedged_usd == D(25)  # 50 YES, of them 0 paired
