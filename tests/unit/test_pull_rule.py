"""Issue 20's stale-quote rule (pmbot.strategy.pull_rule): a market's quotes are stale when the
mid bucket moved or the touch reached a quote; guards are built from acknowledged quotes only, in
YES terms (a NO order maps to the opposite side at 1 - price)."""

from __future__ import annotations

from decimal import Decimal as D

from pmbot.model import MarketInfo, Side
from pmbot.strategy.pull_rule import QuoteGuard, guard_for, stale
from pmbot.strategy.views import LiveOrder

MARKET = MarketInfo("c1", "Y1", "N1")


def guard(bucket=52, bids=("0.50",), asks=("0.54",)) -> QuoteGuard:
    return QuoteGuard(
        "c1", "Y1", bucket, tuple(D(p) for p in bids), tuple(D(p) for p in asks), ("0xa", "0xb")
    )


def order(oid, token, side, price, **kw) -> LiveOrder:
    return LiveOrder(oid, token, side, D(price), D(10), market="c1", **kw)


def test_the_same_mid_bucket_is_not_stale():
    assert not stale(guard(), D("0.50"), D("0.54"))  # mid 0.52: bucket 52
    assert not stale(guard(), D("0.49"), D("0.55"))  # a wider book, same mid
    assert not stale(guard(), D("0.515"), D("0.52"))  # mid 0.5175 rounds up into 52


def test_a_moved_mid_bucket_is_stale():
    assert stale(guard(), D("0.50"), D("0.55"))  # mid 0.525: bucket 53
    assert stale(guard(), D("0.49"), D("0.53"))  # mid 0.51: bucket 51


def test_a_bid_at_or_through_the_best_ask_is_stale_even_with_the_same_bucket():
    g = guard(bucket=52, bids=("0.51",), asks=("0.56",))
    assert not stale(g, D("0.50"), D("0.54"))
    assert stale(g, D("0.50"), D("0.51"))  # best ask reached the bid (mid 0.505: bucket 51 too)
    same_bucket = guard(bucket=52, bids=("0.515",), asks=("0.60",))
    assert stale(same_bucket, D("0.51"), D("0.515"))  # mid 0.5125 -> 52: only the touch rule


def test_an_ask_at_or_through_the_best_bid_is_stale_even_with_the_same_bucket():
    g = guard(bucket=52, bids=("0.40",), asks=("0.515",))
    assert stale(g, D("0.515"), D("0.52"))  # mid 0.5175 -> 52, but the bid reached the ask
    assert not stale(g, D("0.51"), D("0.52"))  # mid 0.515 -> 52, the ask is above the bid


def test_a_one_sided_book_only_checks_the_touch():
    g = guard(bucket=52, bids=("0.50",), asks=("0.54",))
    assert not stale(g, None, D("0.80"))  # no mid: the bucket rule cannot apply
    assert not stale(g, D("0.20"), None)
    assert stale(g, None, D("0.50"))  # the only ask is at our bid
    assert stale(g, D("0.54"), None)  # the only bid is at our ask
    assert not stale(g, None, None)


def test_a_guard_with_one_side_checks_only_that_side():
    bids_only = guard(bids=("0.50",), asks=())
    assert not stale(bids_only, D("0.90"), None)  # no ask of ours to be reached
    asks_only = guard(bids=(), asks=("0.54",))
    assert not stale(asks_only, None, D("0.10"))


def test_guard_for_maps_no_token_orders_to_yes_terms():
    quotes = [
        order("0xyb", "Y1", Side.BUY, "0.48"),  # YES bid 0.48
        order("0xys", "Y1", Side.SELL, "0.56"),  # YES ask 0.56
        order("0xnb", "N1", Side.BUY, "0.45"),  # BUY NO 0.45 == YES ask 0.55
        order("0xns", "N1", Side.SELL, "0.51"),  # SELL NO 0.51 == YES bid 0.49
    ]
    g = guard_for(MARKET, 52, quotes)
    assert g is not None
    assert (g.market, g.yes_token, g.bucket) == ("c1", "Y1", 52)
    assert sorted(g.bids) == [D("0.48"), D("0.49")]
    assert sorted(g.asks) == [D("0.55"), D("0.56")]
    assert g.order_ids == ("0xnb", "0xns", "0xyb", "0xys")
    assert stale(g, D("0.55"), D("0.57"))  # a best bid at the NO bid's YES ask: through
    assert not stale(g, D("0.50"), D("0.54"))


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
    assert g.bids == (D("0.50"),) and g.asks == ()


def test_guard_for_without_resting_quotes_is_none():
    assert guard_for(MARKET, 52, []) is None
    only_pending = [order("0xp", "Y1", Side.BUY, "0.50", pending=True)]
    assert guard_for(MARKET, 52, only_pending) is None
