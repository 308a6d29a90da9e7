"""Issue 20's stale-quote rule (pmbot.strategy.pull_rule): a quote is pulled when the touch reached
it, or when the mid bucket moved and the touch on its own side moved since the strategy decided;
guards are built from acknowledged quotes only, in YES terms (a NO order maps to the opposite side
at 1 - price)."""

from __future__ import annotations

from decimal import Decimal as D

from pmbot.model import MarketInfo, Side
from pmbot.strategy.pull_rule import QuoteGuard, guard_for, stale_side
from pmbot.strategy.views import LiveOrder

MARKET = MarketInfo("c1", "Y1", "N1")


def guard(bucket=52, bids=("0.45",), asks=("0.59",), top=("0.50", "0.54")) -> QuoteGuard:
    """Quotes 0xb<i> (bids) and 0xa<i> (asks), decided on the YES touch ``top``."""
    return QuoteGuard(
        "c1",
        "Y1",
        bucket,
        tuple((D(p), f"0xb{i}") for i, p in enumerate(bids)),
        tuple((D(p), f"0xa{i}") for i, p in enumerate(asks)),
        *(D(p) if p is not None else None for p in top),
    )


def order(oid, token, side, price, **kw) -> LiveOrder:
    return LiveOrder(oid, token, side, D(price), D(10), market="c1", **kw)


def test_the_same_mid_bucket_is_not_stale():
    assert stale_side(guard(), D("0.50"), D("0.54")) == ""  # mid 0.52: bucket 52
    assert stale_side(guard(), D("0.49"), D("0.55")) == ""  # a wider book, same mid
    assert stale_side(guard(), D("0.515"), D("0.52")) == ""  # mid 0.5175 rounds up into 52


def test_a_moved_bucket_pulls_the_sides_whose_touch_moved():
    assert stale_side(guard(), D("0.50"), D("0.56")) == "ask"  # only the ask moved (up)
    assert stale_side(guard(), D("0.48"), D("0.54")) == "bid"  # only the bid moved (down)
    assert stale_side(guard(), D("0.52"), D("0.56")) == "both"  # the whole book up 2 cents
    assert stale_side(guard(), D("0.48"), D("0.58")) == "both"  # wider both ways, mid 53
    # The best ask came down (mid 0.51): the asks are re-priced, the bids keep their place.
    assert stale_side(guard(), D("0.50"), D("0.52")) == "ask"


def test_a_side_of_the_touch_the_strategy_did_not_see_counts_as_moved():
    assert stale_side(guard(top=(None, None)), D("0.50"), D("0.56")) == "both"
    assert stale_side(guard(top=("0.50", None)), D("0.50"), D("0.56")) == "ask"


def test_a_bid_at_or_through_the_best_ask_is_stale_even_with_the_same_bucket():
    g = guard(bucket=52, bids=("0.515",), asks=("0.60",), top=("0.51", "0.53"))
    assert stale_side(g, D("0.51"), D("0.53")) == ""
    assert stale_side(g, D("0.51"), D("0.515")) == "bid"  # mid 0.5125 -> 52: the touch rule


def test_an_ask_at_or_through_the_best_bid_is_stale_even_with_the_same_bucket():
    g = guard(bucket=52, bids=("0.40",), asks=("0.515",), top=("0.51", "0.52"))
    assert stale_side(g, D("0.515"), D("0.52")) == "ask"  # mid 0.5175 -> 52
    assert stale_side(g, D("0.51"), D("0.52")) == ""  # mid 0.515 -> 52, the ask above the bid


def test_a_one_sided_book_only_checks_the_touch():
    g = guard(bucket=52, bids=("0.50",), asks=("0.54",))
    assert stale_side(g, None, D("0.80")) == ""  # no mid: the bucket rule cannot apply
    assert stale_side(g, D("0.20"), None) == ""
    assert stale_side(g, None, D("0.50")) == "bid"  # the only ask is at our bid
    assert stale_side(g, D("0.54"), None) == "ask"  # the only bid is at our ask
    assert stale_side(g, None, None) == ""


def test_a_guard_with_one_side_pulls_only_that_side():
    bids_only = guard(bids=("0.45",), asks=())
    assert stale_side(bids_only, D("0.90"), None) == ""  # no ask of ours to be reached
    assert stale_side(bids_only, D("0.50"), D("0.56")) == ""  # only the ask moved: none of ours
    assert bids_only.side_ids("both") == bids_only.side_ids("bid") == ("0xb0",)
    assert bids_only.side_ids("ask") == ()


def test_guard_for_maps_no_token_orders_to_yes_terms():
    quotes = [
        order("0xyb", "Y1", Side.BUY, "0.48"),  # YES bid 0.48
        order("0xys", "Y1", Side.SELL, "0.56"),  # YES ask 0.56
        order("0xnb", "N1", Side.BUY, "0.45"),  # BUY NO 0.45 == YES ask 0.55
        order("0xns", "N1", Side.SELL, "0.51"),  # SELL NO 0.51 == YES bid 0.49
    ]
    g = guard_for(MARKET, 52, quotes, D("0.50"), D("0.54"))
    assert g is not None
    assert (g.market, g.yes_token, g.bucket) == ("c1", "Y1", 52)
    assert (g.top_bid, g.top_ask) == (D("0.50"), D("0.54"))
    assert g.bids == ((D("0.48"), "0xyb"), (D("0.49"), "0xns"))
    assert g.asks == ((D("0.55"), "0xnb"), (D("0.56"), "0xys"))
    assert g.order_ids == ("0xnb", "0xns", "0xyb", "0xys")
    assert g.side_ids("ask") == ("0xnb", "0xys")
    assert stale_side(g, D("0.55"), D("0.57")) == "both"  # a best bid at the NO bid's YES ask
    assert stale_side(g, D("0.50"), D("0.55")) == "ask"  # the best ask up to 0.55 (bucket 53)
    assert stale_side(g, D("0.50"), D("0.54")) == ""


def test_guard_for_skips_pending_cancelling_and_non_quote_orders():
    quotes = [
        order("0xlive", "Y1", Side.BUY, "0.50"),
        order("0xpend", "Y1", Side.BUY, "0.53", pending=True),
        order("0xcanc", "Y1", Side.SELL, "0.51", cancel_pending=True),
        order("0xarb", "N1", Side.BUY, "0.40", tag="arb"),
    ]
    g = guard_for(MARKET, 52, quotes)
    assert g is not None
    assert g.order_ids == ("0xlive",)
    assert g.bids == ((D("0.50"), "0xlive"),) and g.asks == ()


def test_guard_for_without_resting_quotes_is_none():
    assert guard_for(MARKET, 52, []) is None
    only_pending = [order("0xp", "Y1", Side.BUY, "0.50", pending=True)]
    assert guard_for(MARKET, 52, only_pending) is None
