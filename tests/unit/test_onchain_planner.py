from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pmbot.onchain.messages import MergeIntent, RedeemIntent
from pmbot.onchain.planner import Holding, PlanLimits, mergeable, plan

D = Decimal
LIMITS = PlanLimits(merge_min_usd=D(20), est_cost_usd=D("0.05"))


def ids(kind: str, cid: str) -> str:
    return f"{kind}:{cid}"


def test_pairs_below_threshold_wait_and_above_merge() -> None:
    small = Holding("c1", yes=D(15), no=D(12))
    big = Holding("c2", yes=D(30), no=D("25.1234567"))
    out = plan([small, big], set(), LIMITS, ids)
    assert out == [MergeIntent("merge:c2", "c2", D("25.123456"), False, "pairs")]


def test_quoting_reserve_is_kept() -> None:
    h = Holding("c1", yes=D(50), no=D(40), keep_yes=D(25), keep_no=D(10))
    assert mergeable(h) == D(25)
    (intent,) = plan([h], set(), LIMITS, ids)
    assert isinstance(intent, MergeIntent) and intent.shares == D(25)


def test_arbitrage_set_merges_at_once_unless_cost_exceeds_it() -> None:
    arb = Holding("c1", yes=D(5), no=D(5), arbitrage=True)
    assert plan([arb], set(), LIMITS, ids)[0] == MergeIntent(
        "merge:c1", "c1", D(5), False, "arbitrage"
    )
    dust = Holding("c1", yes=D("0.04"), no=D("0.04"), arbitrage=True)
    assert plan([dust], set(), LIMITS, ids) == []


def test_resolved_is_redeemed_not_merged_and_pending_is_skipped() -> None:
    r = Holding("c1", yes=D(0), no=D(7), resolved=True, neg_risk=True)
    assert plan([r], set(), LIMITS, ids) == [RedeemIntent("redeem:c1", "c1", True)]
    assert plan([r], {"c1"}, LIMITS, ids) == []
    assert plan([Holding("c2", D(0), D(0), resolved=True)], set(), LIMITS, ids) == []


@given(
    yes=st.decimals(min_value=0, max_value=10**6, places=6),
    no=st.decimals(min_value=0, max_value=10**6, places=6),
    keep=st.decimals(min_value=0, max_value=10**6, places=6),
)
def test_never_merges_more_than_is_free(yes: Decimal, no: Decimal, keep: Decimal) -> None:
    h = Holding("c", yes=yes, no=no, keep_yes=keep, keep_no=keep)
    for intent in plan([h], set(), PlanLimits(D(0)), ids):
        assert isinstance(intent, MergeIntent)
        assert D(0) < intent.shares <= min(yes, no) - keep
