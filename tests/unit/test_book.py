"""OrderBook: snapshot + level totals, best-first reads, and replay against a reference model."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import Side
from pmbot.venue.book import OrderBook


def lv(*pairs):
    return [(D(p), D(s)) for p, s in pairs]


def test_snapshot_in_venue_order_best_last_gives_best_first_reads():
    b = OrderBook("t", tick=D("0.01"))
    # real venue order: bids ascending, asks descending (best LAST)
    b.apply_snapshot(lv(("0.47", "2500"), ("0.48", "1000")), lv(("0.53", "1500"), ("0.52", "800")))
    assert b.best_bid == D("0.48") and b.best_bid_size == D("1000")
    assert b.best_ask == D("0.52") and b.best_ask_size == D("800")
    assert b.levels(Side.BUY, 5) == lv(("0.48", "1000"), ("0.47", "2500"))
    assert b.levels(Side.SELL, 1) == lv(("0.52", "800"))
    assert b.snapshot() == (
        lv(("0.48", "1000"), ("0.47", "2500")),
        lv(("0.52", "800"), ("0.53", "1500")),
    )


def test_snapshot_order_does_not_matter():
    a, b = OrderBook(), OrderBook()
    bids = lv(("0.1", "1"), ("0.3", "3"), ("0.2", "2"))
    asks = lv(("0.9", "1"), ("0.7", "3"), ("0.8", "2"))
    a.apply_snapshot(bids, asks)
    b.apply_snapshot(list(reversed(bids)), list(reversed(asks)))
    assert a.snapshot() == b.snapshot()
    assert a.best_bid == D("0.3") and a.best_ask == D("0.7")


def test_set_level_is_a_total_not_a_delta_and_zero_deletes():
    b = OrderBook()
    b.apply_snapshot(lv(("0.48", "30")), lv(("0.52", "25")))
    b.set_level(Side.BUY, D("0.48"), D("10"))
    assert b.best_bid_size == D("10")
    b.set_level(Side.BUY, D("0.49"), D("5"))
    assert b.best_bid == D("0.49")
    b.set_level(Side.BUY, D("0.49"), D("0"))
    assert b.best_bid == D("0.48")
    b.set_level(Side.SELL, D("0.52"), D("0"))
    assert b.best_ask is None and b.best_ask_size == 0
    b.set_level(Side.SELL, D("0.60"), D("0"))  # deleting an absent level is a no-op
    assert b.depth(Side.SELL) == 0


def test_equal_decimals_with_different_spelling_are_one_level():
    b = OrderBook()
    b.set_level(Side.BUY, D("0.5"), D("1"))
    b.set_level(Side.BUY, D("0.50"), D("2"))
    assert b.depth(Side.BUY) == 1 and b.best_bid_size == D("2")
    b.set_level(Side.BUY, D(".500"), D("0"))
    assert b.best_bid is None


def test_snapshot_skips_zero_sizes_and_replaces_everything():
    b = OrderBook(tick=D("0.01"))
    b.apply_snapshot(lv(("0.4", "1")), lv(("0.6", "1")))
    b.apply_snapshot(lv(("0.3", "0"), ("0.2", "5")), [], tick=D("0.001"))
    assert b.snapshot() == (lv(("0.2", "5")), [])
    assert b.tick == D("0.001")


def test_top_matches_treats_none_as_empty_side():
    b = OrderBook()
    assert b.top_matches(None, None)
    b.set_level(Side.BUY, D("0.5"), D("200"))
    assert b.top_matches(D("0.5"), None)
    assert not b.top_matches(D("0.49"), None)
    assert not b.top_matches(D("0.5"), D("0.6"))


def test_within_top_n():
    b = OrderBook()
    b.apply_snapshot(
        lv(("0.1", "1"), ("0.2", "1"), ("0.3", "1")), lv(("0.7", "1"), ("0.8", "1"), ("0.9", "1"))
    )
    assert b.within_top(Side.BUY, D("0.2"), 2) and not b.within_top(Side.BUY, D("0.1"), 2)
    assert b.within_top(Side.SELL, D("0.8"), 2) and not b.within_top(Side.SELL, D("0.9"), 2)
    assert b.within_top(Side.SELL, D("0.95"), 5)  # fewer than n levels: anything counts


# --------------------------------------------------------------------------- property: replay ==
# model

prices = st.integers(min_value=1, max_value=99).map(lambda i: D(i) / 100)
sizes = st.one_of(
    st.just(D(0)), st.integers(min_value=1, max_value=10**6).map(lambda i: D(i) / 100)
)
changes = st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), prices, sizes), max_size=200)
positive_sizes = st.integers(min_value=1, max_value=10**6).map(lambda i: D(i) / 100)
snap_side = st.dictionaries(prices, positive_sizes, max_size=30)


def model_snapshot(model):
    bids = sorted(((p, s) for p, s in model[Side.BUY].items()), reverse=True)
    asks = sorted((p, s) for p, s in model[Side.SELL].items())
    return bids, asks


@settings(max_examples=150, deadline=None)
@given(snap_side, snap_side, changes)
def test_any_change_sequence_equals_reference_model(bids, asks, seq):
    book = OrderBook()
    book.apply_snapshot(list(bids.items()), list(asks.items()))
    model = {Side.BUY: dict(bids), Side.SELL: dict(asks)}
    for side, price, size in seq:
        book.set_level(side, price, size)
        if size:
            model[side][price] = size
        else:
            model[side].pop(price, None)
        # the top is right after every single change
        assert book.best_bid == (max(model[Side.BUY]) if model[Side.BUY] else None)
        assert book.best_ask == (min(model[Side.SELL]) if model[Side.SELL] else None)
    assert book.snapshot() == model_snapshot(model)
    # and a fresh book from that final state (what REST GET /book would say) is the same book
    fresh = OrderBook()
    fresh.apply_snapshot(list(model[Side.BUY].items())[::-1], list(model[Side.SELL].items()))
    assert fresh.snapshot() == book.snapshot()
    for n in (1, 3, 50):
        assert book.levels(Side.BUY, n) == model_snapshot(model)[0][:n]
        assert book.levels(Side.SELL, n) == model_snapshot(model)[1][:n]
