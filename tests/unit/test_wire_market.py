"""parse_frame: every event type, framing (object / array / keepalive), and bad input by kind."""

from __future__ import annotations

import json
import sys
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import Side
from pmbot.venue.wire_market import (
    BestBidAskEvent,
    BookEvent,
    LastTradeEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    ParseError,
    PriceChangeEvent,
    TickSizeChangeEvent,
    parse_frame,
    parse_rest_book,
)

A = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
B = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
M = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1"


def pc(**over):
    e1 = {
        "asset_id": A,
        "price": "0.5",
        "size": "200",
        "side": "BUY",
        "hash": "56",
        "best_bid": "0.5",
        "best_ask": "1",
    }
    e2 = {
        "asset_id": B,
        "price": "0.5",
        "size": "200",
        "side": "SELL",
        "hash": "18",
        "best_bid": "0",
        "best_ask": "0.5",
    }
    e1.update(over)
    return {
        "market": M,
        "price_changes": [e1, e2],
        "timestamp": "1757908892351",
        "event_type": "price_change",
    }


def book(**over):
    msg = {
        "event_type": "book",
        "asset_id": A,
        "market": M,
        "bids": [{"price": ".48", "size": "30"}, {"price": ".49", "size": "20"}],
        "asks": [{"price": ".52", "size": "25"}],
        "timestamp": "123456789000",
        "hash": "0x0",
        "tick_size": "0.01",
        "last_trade_price": "",
    }
    msg.update(over)
    return msg


def test_price_change_doc_example_with_empty_side_markers():
    [ev] = parse_frame(json.dumps(pc()))
    assert isinstance(ev, PriceChangeEvent) and ev.market == M and ev.timestamp_ms == 1757908892351
    a, b = ev.entries
    assert (a.asset_id, a.price, a.size, a.side, a.best_bid, a.best_ask) == (
        A,
        D("0.5"),
        D(200),
        Side.BUY,
        D("0.5"),
        None,
    )
    assert (b.side, b.best_bid, b.best_ask) == (Side.SELL, None, D("0.5"))  # "0" bid = empty side
    assert a.top_known and not ev.legacy


def test_book_object_and_array_burst_and_empty_last_trade():
    [ev] = parse_frame(json.dumps(book()))
    assert isinstance(ev, BookEvent)
    assert ev.bids == ((D("0.48"), D(30)), (D("0.49"), D(20))) and ev.tick == D("0.01")
    assert ev.last_trade_price is None
    evs = parse_frame(json.dumps([book(), book(asset_id=B, last_trade_price="0.45")]))
    assert [e.asset_id for e in evs] == [A, B] and evs[1].last_trade_price == D("0.45")


def test_rest_book_without_event_type():
    rest = book()
    del rest["event_type"]
    rest.update(min_order_size="5", neg_risk=False)
    ev = parse_rest_book(rest)
    assert ev.asset_id == A and ev.min_order_size == D(5)


def test_other_event_types():
    frames = [
        {
            "event_type": "tick_size_change",
            "asset_id": A,
            "market": M,
            "old_tick_size": "0.01",
            "new_tick_size": "0.001",
            "timestamp": "100000000",
        },
        {
            "asset_id": A,
            "event_type": "last_trade_price",
            "fee_rate_bps": "0",
            "market": M,
            "price": "0.456",
            "side": "BUY",
            "size": "219.217767",
            "timestamp": "1750428146322",
        },
        {
            "event_type": "best_bid_ask",
            "market": M,
            "asset_id": A,
            "best_bid": "0.73",
            "best_ask": "0.77",
            "spread": "0.04",
            "timestamp": "1766789469958",
        },
        {
            "event_type": "new_market",
            "market": M,
            "assets_ids": [A, B],
            "outcomes": ["Yes", "No"],
            "question": "q?",
            "slug": "s",
            "order_price_min_tick_size": "0.01",
            "timestamp": "1",
        },
        {
            "event_type": "market_resolved",
            "market": M,
            "assets_ids": [A, B],
            "winning_asset_id": A,
            "winning_outcome": "Yes",
            "timestamp": "1",
        },
    ]
    t, lt, bba, nm, mr = parse_frame(json.dumps(frames))
    assert (
        isinstance(t, TickSizeChangeEvent) and t.new_tick == D("0.001") and t.old_tick == D("0.01")
    )
    assert isinstance(lt, LastTradeEvent) and lt.price == D("0.456") and lt.size == D("219.217767")
    assert lt.side is Side.BUY
    assert isinstance(bba, BestBidAskEvent) and (bba.best_bid, bba.best_ask) == (
        D("0.73"),
        D("0.77"),
    )
    assert isinstance(nm, NewMarketEvent) and nm.asset_ids == (A, B) and nm.tick == D("0.01")
    assert isinstance(mr, MarketResolvedEvent) and mr.winning_asset_id == A


def test_legacy_price_change_shapes_parse_without_top():
    flat = {
        "asset_id": A,
        "event_type": "price_change",
        "hash": "h",
        "market": M,
        "price": "0.514",
        "side": "SELL",
        "size": "21574.08",
        "timestamp": "1723967931411",
    }
    [ev] = parse_frame(json.dumps(flat))
    assert ev.legacy and ev.entries[0].price == D("0.514") and not ev.entries[0].top_known
    changes = {
        "asset_id": A,
        "event_type": "price_change",
        "market": M,
        "changes": [{"price": "0.4", "side": "BUY", "size": "0"}],
    }
    [ev] = parse_frame(json.dumps(changes))
    assert ev.legacy and ev.entries[0].size == 0


def test_numbers_as_json_numbers_are_exact():
    [ev] = parse_frame(json.dumps(pc(price=0.1, size=3)))
    assert ev.entries[0].price == D("0.1") and ev.entries[0].size == D(3)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_keepalive_frames_are_empty(text):
    assert parse_frame(text) == []


@pytest.mark.parametrize(
    "text, kind",
    [
        ("{not json", "bad_json"),
        ('"hello"', "bad_frame"),
        ("42", "bad_frame"),
        ("[1]", "bad_frame"),
        (json.dumps({"event_type": "whatever"}), "unknown_event"),
        (json.dumps({"asset_id": A}), "missing_field"),
        (json.dumps(pc(price="1.5")), "price_out_of_range"),
        (json.dumps(pc(price="-0.1")), "price_out_of_range"),
        (json.dumps(pc(best_bid="2")), "price_out_of_range"),
        (json.dumps(pc(price="abc")), "bad_number"),
        (json.dumps(pc(price="NaN")), "bad_number"),
        (json.dumps(pc(size="Infinity")), "bad_number"),
        (json.dumps(pc(size="-1")), "negative_size"),
        (json.dumps(pc(price=None)), "missing_field"),
        (json.dumps(pc(price=True)), "bad_type"),
        (json.dumps(pc(price=[1])), "bad_type"),
        (json.dumps(pc(side="UP")), "bad_side"),
        (json.dumps(pc(asset_id=None)), "missing_field"),
        (json.dumps({**pc(), "price_changes": "x"}), "bad_type"),
        (json.dumps({**pc(), "price_changes": [1]}), "bad_type"),
        (json.dumps(book(bids="x")), "bad_type"),
        (json.dumps(book(asks=None)), "missing_field"),
        (json.dumps(book(bids=[{"price": "0.4"}])), "missing_field"),
        (
            json.dumps({"event_type": "tick_size_change", "asset_id": A, "new_tick_size": "0"}),
            "price_out_of_range",
        ),
    ],
)
def test_bad_input_raises_parse_error_with_kind(text, kind):
    with pytest.raises(ParseError) as info:
        parse_frame(text)
    assert info.value.kind == kind
    assert len(info.value.sample) <= 200


def test_lenient_mode_keeps_good_events_of_an_array():
    errors: list = []
    evs = parse_frame(
        json.dumps([book(), {"event_type": "nope"}, pc(side="X"), book(asset_id=B)]), errors
    )
    assert [e.asset_id for e in evs] == [A, B]
    assert [e.kind for e in errors] == ["unknown_event", "bad_side"]
    errors.clear()
    assert (
        parse_frame(json.dumps(pc(price="2")), errors) == []
        and errors[0].kind == "price_out_of_range"
    )


# --------------------------------------------------------------------------- fuzz

GOOD = [json.dumps(pc()), json.dumps(book()), json.dumps([book(), book(asset_id=B)])]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "event_type",
        "asset_id",
        "price",
        "size",
        "side",
        "best_bid",
        "best_ask",
        "price_changes",
        "bids",
        "asks",
        "market",
        "tick_size",
        "new_tick_size",
        "last_trade_price",
        "assets_ids",
        "timestamp",
        "changes",
        "spread",
    ]
)


def _only_parse_errors(text, lenient):
    try:
        parse_frame(text, [] if lenient else None)
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(GOOD), st.integers(min_value=0, max_value=2000), st.booleans())
def test_fuzz_truncated_frames(good, cut, lenient):
    _only_parse_errors(good[: cut % (len(good) + 1)], lenient)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=80) | st.binary(max_size=80).map(lambda b: b.decode("latin-1")), st.booleans()
)
def test_fuzz_random_text(text, lenient):
    _only_parse_errors(text, lenient)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "price_change",
            "book",
            "tick_size_change",
            "last_trade_price",
            "best_bid_ask",
            "new_market",
            "market_resolved",
            "zzz",
            7,
            None,
        ]
    ),
    st.dictionaries(field_names, json_values, max_size=8),
    st.lists(st.dictionaries(field_names, json_values, max_size=7), max_size=3),
    st.booleans(),
)
def test_fuzz_structured_garbage(event_type, fields, entries, lenient):
    msg = dict(fields)
    msg["event_type"] = event_type
    if entries and event_type == "price_change":
        msg["price_changes"] = entries
    _only_parse_errors(json.dumps(msg), lenient)
    _only_parse_errors(json.dumps([msg, msg]), lenient)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["price", "size", "best_bid", "best_ask", "side", "asset_id", "hash"]),
    json_values,
)
def test_fuzz_mutated_price_change_entry(field, value):
    msg = pc()
    msg["price_changes"][0][field] = value
    _only_parse_errors(json.dumps(msg), False)


def test_deep_nesting_is_a_parse_error_not_a_crash():
    # Under the interpreter's default recursion limit (the bot never raises it), json's C scanner
    # stops with RecursionError, which the parser turns into a ParseError. Hypothesis raises the
    # limit while it runs and does not always restore it before later tests; a raised limit lets
    # the C scanner overflow the C stack, so pin the default here.
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(ParseError):
            parse_frame("[" * 100000 + "]" * 100000)
    finally:
        sys.setrecursionlimit(previous)


num_text = st.one_of(
    st.decimals(min_value=-2, max_value=2, places=4).map(str),
    st.sampled_from(["", "0", "1", ".5", "0.50", "1e-2", "NaN", "-0", "Infinity", "abc", " 0.5"]),
)


@settings(max_examples=300, deadline=None)
@given(num_text, num_text, num_text, num_text, st.sampled_from(["BUY", "SELL", "buy", "X"]))
def test_fast_path_agrees_with_the_careful_readers(price, size, best_bid, best_ask, side):
    from pmbot.venue import wire_market as wm

    e = {
        "asset_id": A,
        "price": price,
        "size": size,
        "side": side,
        "hash": "h",
        "best_bid": best_bid,
        "best_ask": best_ask,
    }
    fast = wm._fast_entry(e)
    try:
        careful = wm.PriceChangeEntry(
            wm._asset(e),
            wm._price(e, "price"),
            wm._size(e, "size"),
            wm._side(e),
            wm._top_bid(e),
            wm._top_ask(e),
            "h",
        )
    except ParseError:
        careful = None
    if (
        fast is not None
    ):  # the fast path may decline, but never disagree or accept what the readers refuse
        assert fast == careful
    assert wm._fast_entry(e) == fast  # again, now from the price cache: same answer


def test_price_cache_is_bounded_and_its_hits_equal_fresh_decimals():
    from pmbot.venue import wire_market as wm

    saved = dict(wm._PRICES)
    try:
        texts = [f"0.{i:06d}" for i in range(wm._PRICES_MAX + 500)]
        first = [wm._valid_price(t) for t in texts]
        again = [wm._valid_price(t) for t in texts]
        assert first == again == [D(t) for t in texts]
        assert len(wm._PRICES) <= wm._PRICES_MAX
        for bad in ("1.0001", "-0.01", "NaN", "Infinity"):
            assert wm._valid_price(bad) is None and bad not in wm._PRICES
    finally:
        wm._PRICES.clear()
        wm._PRICES.update(saved)


# The venue's plain-text frames (issue 13 item 5; protocol 10.5). Source: NautilusTrader's
# Polymarket adapter, https://github.com/nautechsystems/nautilus_trader, file
# crates/adapters/polymarket/src/websocket/handler.rs: "When `subscribe_new_markets` is enabled,
# Polymarket's WSS periodically sends the plain-text string "NO NEW ASSETS" as a heartbeat/ack."
# Its PR https://github.com/nautechsystems/nautilus_trader/pull/3717: "Polymarket sends back
# `INVALID OPERATION` when we try to send the initial message twice".
def test_keepalive_text_frames_are_not_json_and_get_a_bounded_label():
    from pmbot.venue.wire_market import KEEPALIVE_LABELS, keepalive_label

    for text in ("NO NEW ASSETS", "INVALID OPERATION"):
        with pytest.raises(ParseError) as err:
            parse_frame(text)
        assert err.value.kind == "bad_json"
    assert keepalive_label("NO NEW ASSETS") == "no_new_assets"
    assert keepalive_label(" no new assets\n") == "no_new_assets"
    assert keepalive_label("INVALID OPERATION") == "invalid_operation"
    assert keepalive_label("ALREADY SUBSCRIBED") == "other"
    assert keepalive_label("x" * 10_000) == "other"  # free venue text never becomes a label
    for meant_as_json in ('{"event_type": "bo', "[1,", "  {", ""):
        assert keepalive_label(meant_as_json) is None
    assert set(KEEPALIVE_LABELS) == {"no_new_assets", "invalid_operation", "other"}
