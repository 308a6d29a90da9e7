"""The flatten planner: sells held shares into the bids within the slippage bound, never buys,
reports what a thin book leaves, and merges YES+NO pairs only where the account can."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from pmbot.control.flatten import plan_flatten, plan_to_data
from pmbot.model import MarketInfo, Outcome

M = MarketInfo(condition_id="0xc1", yes_token="Y", no_token="N", min_size=D(5))


def test_sells_yes_into_the_bids_down_to_the_bound_and_reports_the_rest() -> None:
    bids = ((D("0.50"), D(10)), (D("0.48"), D(10)), (D("0.44"), D(100)))
    plan = plan_flatten(
        M,
        yes_shares=D(30),
        no_shares=D(0),
        yes_bids=bids,
        no_bids=(),
        max_slippage=D("0.02"),
    )
    (sell,) = plan.sells
    assert (sell.token_id, sell.outcome, sell.size, sell.price) == (
        "Y",
        Outcome.YES,
        D(20),
        D("0.48"),
    )
    assert sell.expected_usd == D("9.80")
    assert plan.remainder == {"Y": D(10), "N": D(0)}
    assert not plan.complete
    assert any("too thin" in n for n in plan.notes)


def test_deep_book_flattens_completely() -> None:
    plan = plan_flatten(
        M,
        yes_shares=D(12),
        no_shares=D(7),
        yes_bids=((D("0.60"), D(100)),),
        no_bids=((D("0.38"), D(3)), (D("0.37"), D(50))),
        max_slippage=D("0.05"),
    )
    assert plan.complete
    assert {(s.token_id, s.size, s.price) for s in plan.sells} == {
        ("Y", D(12), D("0.60")),
        ("N", D(7), D("0.37")),
    }
    assert any("could be merged" in n for n in plan.notes)


def test_pairs_are_merged_not_sold_where_the_account_can_merge() -> None:
    plan = plan_flatten(
        M,
        yes_shares=D(12),
        no_shares=D(7),
        yes_bids=((D("0.60"), D(100)),),
        no_bids=((D("0.38"), D(100)),),
        max_slippage=D("0.05"),
        can_merge=True,
    )
    assert plan.merge_pairs == D(7)
    assert [(s.token_id, s.size) for s in plan.sells] == [("Y", D(5))]
    assert plan.complete


def test_below_minimum_size_nothing_is_sent_and_all_is_remainder() -> None:
    plan = plan_flatten(
        M,
        yes_shares=D(3),
        no_shares=D(0),
        yes_bids=((D("0.60"), D(100)),),
        no_bids=(),
        max_slippage=D("0.05"),
    )
    assert plan.sells == ()
    assert plan.remainder["Y"] == D(3)


def test_no_bids_and_negative_inventory_never_lead_to_a_buy() -> None:
    plan = plan_flatten(
        M, yes_shares=D(-4), no_shares=D(9), yes_bids=(), no_bids=(), max_slippage=D("0.1")
    )
    assert plan.sells == ()
    assert plan.remainder == {"Y": D(0), "N": D(9)}
    assert any("never buys" in n for n in plan.notes)
    data = plan_to_data(plan)
    assert data["complete"] is False and data["remainder"] == {"Y": "0", "N": "9"}


prices = st.integers(1, 99).map(lambda c: D(c) / 100)
sizes = st.integers(0, 5000).map(lambda c: D(c) / 100)
levels = st.lists(st.tuples(prices, sizes), max_size=6).map(
    lambda ls: tuple(sorted(ls, key=lambda x: x[0], reverse=True))
)


@given(
    yes=sizes,
    no=sizes,
    yes_bids=levels,
    no_bids=levels,
    slip=st.integers(0, 99).map(lambda c: D(c) / 100),
    merge=st.booleans(),
)
def test_never_sells_more_than_held_nor_below_the_bound(
    yes: D, no: D, yes_bids: tuple, no_bids: tuple, slip: D, merge: bool
) -> None:
    plan = plan_flatten(
        M,
        yes_shares=yes,
        no_shares=no,
        yes_bids=yes_bids,
        no_bids=no_bids,
        max_slippage=slip,
        can_merge=merge,
    )
    held = {"Y": yes, "N": no}
    books = {"Y": yes_bids, "N": no_bids}
    for s in plan.sells:
        assert s.size > 0 and s.size >= M.min_size
        assert s.price >= books[s.token_id][0][0] - slip
        assert s.price * s.size <= s.expected_usd  # every walked level pays at least the limit
    for tok in ("Y", "N"):
        sold = sum((s.size for s in plan.sells if s.token_id == tok), D(0))
        assert sold + plan.merge_pairs + plan.remainder[tok] == held[tok]
        assert plan.remainder[tok] >= 0
    assert plan.merge_pairs <= min(yes, no)
    assert merge or plan.merge_pairs == 0
