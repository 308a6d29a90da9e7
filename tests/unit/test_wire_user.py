"""Parsing of user-channel frames and private REST rows (recorded fixtures under
tests/fixtures/user)."""

import json
import os
from decimal import Decimal

import pytest

from pmbot.model import OrderEvent, OrderEventKind, Side, TradeEvent, TradeStatus
from pmbot.venue.wire_user import (
    UserWireError,
    parse_open_order,
    parse_order_event,
    parse_rows,
    parse_trade,
    parse_ts,
    parse_user_frame,
)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "user")


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def raw(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


IDS = load("ids.json")


def test_documented_order_placement_parses_to_order_event():
    msgs, errors = parse_user_frame(raw("order_placement.json"))
    assert errors == []
    (ev,) = msgs
    assert isinstance(ev, OrderEvent)
    assert ev.kind is OrderEventKind.PLACEMENT
    assert ev.side is Side.SELL
    assert ev.price == Decimal("0.57") and ev.original_size == Decimal(10) and ev.size_matched == 0
    assert (
        ev.owner == IDS["api_key"]
        and ev.token_id == IDS["yes_token"]
        and ev.market == IDS["condition_id"]
    )
    assert ev.ts == 1672290687.0


def test_order_update_carries_cumulative_size_matched_and_ms_timestamp():
    ev = parse_order_event(load("order_update_partial.json"))
    assert ev.kind is OrderEventKind.UPDATE
    assert ev.size_matched == Decimal(4)
    assert ev.status == "LIVE"
    assert ev.ts == pytest.approx(1672290690.123)


def test_order_cancellation():
    ev = parse_order_event(load("order_cancellation.json"))
    assert ev.kind is OrderEventKind.CANCELLATION and ev.status == "CANCELED"


def test_documented_trade_parses_with_maker_entries_and_matchtime():
    (tr,), errors = parse_user_frame(raw("trade_maker_documented.json"))
    assert errors == []
    assert isinstance(tr, TradeEvent)
    assert tr.status is TradeStatus.MATCHED and tr.side is Side.BUY and tr.size == Decimal(10)
    assert tr.taker_order_id.startswith("0x06bc")
    (m,) = tr.maker_orders
    assert (
        m.owner == IDS["api_key"] and m.price == Decimal("0.57") and m.matched_amount == Decimal(10)
    )
    assert m.side is None  # absent in the documented payload: derived later by the fill rule
    assert tr.ts == 1672290701.0


def test_taker_trade_with_fee_rate_and_maker_sides():
    tr = parse_trade(load("trade_taker_normal.json"))
    assert tr.fee_rate_bps == Decimal(500)
    assert tr.trader_side == "TAKER"
    assert [m.side for m in tr.maker_orders] == [Side.SELL, Side.SELL]
    assert [m.price for m in tr.maker_orders] == [Decimal("0.50"), Decimal("0.51")]


def test_frame_that_is_an_array_yields_every_element():
    msgs, errors = parse_user_frame(raw("trade_partial_fills.json"))
    assert errors == []
    assert [m.trade_id for m in msgs] == [
        "aaaa0001-0000-4000-8000-000000000001",
        "aaaa0002-0000-4000-8000-000000000002",
    ]


def test_rest_trade_rows_have_no_event_type_and_ms_match_time():
    page = load("rest_trades_page.json")
    trades, errors = parse_rows(page["data"], parse_trade)
    assert errors == []
    (tr,) = trades
    assert tr.status is TradeStatus.CONFIRMED
    assert tr.ts == 1767000500.0


def test_rest_open_order_row():
    page = load("rest_orders_page.json")
    orders, errors = parse_rows(page["data"], parse_open_order)
    assert errors == []
    (o,) = orders
    assert (
        o.side is Side.BUY
        and o.price == Decimal("0.5")
        and o.status == "LIVE"
        and o.order_type == "GTC"
    )


def test_malformed_messages_are_reported_one_by_one_and_never_raise():
    text = raw("malformed.json")
    msgs, errors = parse_user_frame(text)
    assert msgs == []
    assert len(errors) == len(json.loads(text))
    kinds = {e.kind for e in errors}
    assert "user_unknown_status" in kinds and "user_unknown_type" in kinds


def test_one_bad_element_does_not_lose_the_good_ones():
    good = load("trade_mint.json")
    text = json.dumps([{"event_type": "trade", "id": "broken"}, good])
    msgs, errors = parse_user_frame(text)
    assert [m.trade_id for m in msgs] == [good["id"]]
    assert len(errors) == 1


@pytest.mark.parametrize("text", ["", "PONG", "  pong \n"])
def test_heartbeat_and_empty_frames_give_nothing(text):
    assert parse_user_frame(text) == ([], [])


def test_not_json_is_one_error():
    msgs, errors = parse_user_frame("{nope")
    assert msgs == [] and errors[0].kind == "user_not_json"


def test_unknown_event_type_is_ignored_but_missing_event_type_is_an_error():
    assert parse_user_frame(json.dumps({"event_type": "heartbeat"})) == ([], [])
    msgs, errors = parse_user_frame(json.dumps({"hello": 1}))
    assert msgs == [] and errors[0].kind == "user_no_event_type"


def test_json_number_prices_stay_exact():
    d = dict(load("trade_mint.json"), price=0.1, size=3)
    tr = parse_trade(d)
    assert tr.price == Decimal("0.1") and tr.size == Decimal(3)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1672290687", 1672290687.0),
        (1767000500000, 1767000500.0),
        ("", 0.0),
        (None, 0.0),
        (1.5, 1.5),
        ("2026-08-04T12:00:00Z", 1785844800.0),  # RFC 3339 (issue 13 item 7)
        ("2026-08-04T12:00:00.250+00:00", 1785844800.25),
        ("2026-08-04T14:00:00+02:00", 1785844800.0),
    ],
)
def test_timestamps_in_seconds_or_milliseconds(value, expected):
    assert parse_ts(value) == expected


def test_bad_timestamp_is_an_error():
    with pytest.raises(UserWireError):
        parse_ts("yesterday")
    with pytest.raises(UserWireError):
        parse_ts("2026-08-04T12:00:00")  # no offset: ambiguous


def test_rows_not_a_list():
    assert parse_rows({"data": []}, parse_trade)[1][0].kind == "rest_malformed"


def test_trade_and_order_with_rfc3339_timestamps_parse():
    trade = json.loads(raw("trade_maker_documented.json"))
    trade = trade[0] if isinstance(trade, list) else trade
    for key in ("matchtime", "match_time", "timestamp", "last_update"):
        trade.pop(key, None)
    trade["match_time"] = "2026-08-04T12:00:00Z"
    (tr,), errors = parse_user_frame(json.dumps(trade))
    assert errors == [] and tr.ts == 1785844800.0
