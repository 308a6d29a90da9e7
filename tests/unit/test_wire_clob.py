"""wire_clob: malformed answers give a clear ClobWireError; the rules' edge cases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.errors import FatalError
from pmbot.model import OrderType
from pmbot.venue.wire_clob import (
    BalanceAllowance,
    ClobWireError,
    balance_refusal_message,
    check_order_version,
    is_balance_refusal,
    is_order_version_mismatch,
    not_canceled_kind,
    parse_balance_allowance,
    parse_cancel_answer,
    parse_clob_market_info,
    parse_post_result,
    parse_post_results,
    parse_tick,
    parse_timestamp,
    parse_version,
)

D = Decimal
TOKENS = [{"t": "1", "o": "Yes"}, {"t": "2", "o": "No"}]


@pytest.mark.parametrize(
    "body, kind",
    [
        ([], "clob_malformed"),
        ({"mts": 0.01}, "clob_malformed"),
        ({"t": [], "mts": 0.01}, "clob_malformed"),
        ({"t": TOKENS}, "bad_tick"),
        ({"t": TOKENS, "mts": 0.02}, "bad_tick"),
        ({"t": [{"o": "Yes"}], "mts": 0.01}, "clob_malformed"),
        ({"t": TOKENS, "mts": 0.01, "fd": {"e": 1}}, "bad_fee"),
        ({"t": TOKENS, "mts": 0.01, "fd": {"r": 0.05, "e": 1.5}}, "bad_fee"),
        ({"t": TOKENS, "mts": 0.01, "mos": "five"}, "clob_malformed"),
    ],
)
def test_malformed_market_info(body, kind):
    with pytest.raises(ClobWireError) as err:
        parse_clob_market_info(body)
    assert err.value.kind == kind


def test_market_info_defaults_and_string_numbers():
    info = parse_clob_market_info({"t": TOKENS, "mts": "0.0010"})
    assert info.tick == D("0.001") and str(info.tick) == "0.001"
    assert info.min_size == 5 and info.neg_risk is False and info.fee is None
    assert info.tokens == (("1", "Yes"), ("2", "No"))


@pytest.mark.parametrize("tick", ["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001", 0.01, 0.1])
def test_every_real_tick_parses(tick):
    assert parse_tick(tick) == D(str(tick))


@pytest.mark.parametrize("bad", [None, True, "x", "NaN", "Infinity", [0.01], 0.02])
def test_bad_ticks(bad):
    with pytest.raises(ClobWireError):
        parse_tick(bad)


@pytest.mark.parametrize(
    "body", [[2], "2", {"version": "two"}, {"version": True}, {"version": 2.5}]
)
def test_malformed_version(body):
    with pytest.raises(ClobWireError):
        parse_version(body)


def test_version_as_string_and_signability():
    assert parse_version({"version": "2"}) == 2
    assert check_order_version(3, frozenset({2, 3})) == 3
    with pytest.raises(FatalError, match="this bot can sign version\\(s\\) 2 only"):
        check_order_version(1)


def test_version_mismatch_only_on_error_field():
    assert not is_order_version_mismatch({"errorMsg": "order_version_mismatch"})
    assert not is_order_version_mismatch(["order_version_mismatch"])
    assert not is_order_version_mismatch({"error": ""})
    assert is_order_version_mismatch({"error": "order_version_mismatch: expected 3"})


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"balance": None},
        {"balance": "-1"},
        {"balance": "1.5"},
        {"balance": "10", "allowances": ["0x1"]},
        {"balance": "10", "allowance": "abc"},
        "1000",
    ],
)
def test_malformed_balance_allowance(body):
    with pytest.raises(ClobWireError) as err:
        parse_balance_allowance(body)
    assert err.value.kind in ("bad_balance", "clob_malformed")


def test_balance_refusal_message_has_the_numbers():
    known = BalanceAllowance(D("12.5"), (("0xex", D("3")),))
    msg = balance_refusal_message(D("7.25"), "pUSD", known)
    assert msg == (
        "not enough balance/allowance: need 7.25 pUSD, balance 12.5, allowance 3, free 3"
    )
    assert balance_refusal_message(D(1), "pUSD", None).endswith("balance unknown")
    unlimited = BalanceAllowance(D(4), ())
    assert "allowance unlimited, free 4" in balance_refusal_message(D(5), "pUSD", unlimited)
    assert is_balance_refusal("Not enough balance / allowance")
    assert not is_balance_refusal("order couldn't be fully filled")


@pytest.mark.parametrize(
    "body",
    [[], {"canceled": "0x1"}, {"canceled": [1]}, {"not_canceled": ["0x1"]}, None],
)
def test_malformed_cancel_answers(body):
    with pytest.raises(ClobWireError):
        parse_cancel_answer(body)


@pytest.mark.parametrize(
    "reason, kind",
    [
        ("already canceled or matched", "gone"),
        ("Order can't be found - Already Canceled Or Matched", "gone"),
        ("matched orders can't be canceled", "other"),
        ("order not found", "not_found"),
        ("order is in the matching delay", "matching_delay"),
        ("", "other"),
    ],
)
def test_not_canceled_reason_kinds(reason, kind):
    assert not_canceled_kind(reason) == kind


def test_post_results_batch_and_types():
    body = [
        {
            "success": True,
            "orderID": "0x1",
            "status": "matched",
            "makingAmount": "1",
            "takingAmount": 2,
        },
        {"success": True, "orderID": "", "errorMsg": "Too many orders"},
        {"success": False},
    ]
    got = parse_post_results(body, [OrderType.GTC, OrderType.FAK, None])
    assert [r.accepted for r in got] == [True, False, False]
    assert got[0].taking == 2 and got[0].making == 1
    assert got[1].error == "Too many orders" and got[2].error == "refused without a reason"
    assert len(parse_post_results(body)) == 3
    with pytest.raises(ClobWireError):
        parse_post_results(body, [OrderType.GTC])
    with pytest.raises(ClobWireError):
        parse_post_results({"success": True})
    with pytest.raises(ClobWireError):
        parse_post_result("ok")


def test_an_order_id_with_an_error_message_is_still_tracked_as_live():
    result = parse_post_result(
        {"success": True, "orderID": "0x9", "errorMsg": "order match delayed", "status": ""},
        OrderType.FAK,
    )
    assert result.accepted and result.status == "live" and result.odd and not result.settled
    assert result.error == "order match delayed"


def test_a_gtc_answered_unmatched_or_delayed_is_settled_as_resting():
    for status in ("unmatched", "delayed", "LIVE"):
        r = parse_post_result({"success": True, "orderID": "0x1", "status": status}, OrderType.GTC)
        assert r.accepted and r.settled and not r.odd and r.status == status.lower()


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=4_000_000_000))
def test_numeric_timestamps_seconds_and_ms_agree(seconds):
    assert parse_timestamp(seconds) == seconds
    assert parse_timestamp(str(seconds)) == seconds
    if seconds >= 100_000_000:  # as ms it stays above the ms threshold
        assert parse_timestamp(str(seconds * 1000)) == pytest.approx(seconds)


def test_rfc3339_variants():
    base = parse_timestamp("2026-08-04T12:00:00Z")
    assert parse_timestamp("2026-08-04T12:00:00+00:00") == base
    assert parse_timestamp("2026-08-04t12:00:00z".upper()) == base
    assert parse_timestamp("2026-08-04T12:00:00.5Z") == base + 0.5
    assert parse_timestamp("2026-08-04T07:00:00-05:00") == base
    assert parse_timestamp(None) == 0.0
    for bad in ("2026-08-04", "12:00:00Z", "NaN", "1e400", {"t": 1}):
        with pytest.raises(ClobWireError):
            parse_timestamp(bad)
