"""Replay the venue's own answers (tests/conformance/fixtures, each with its public source) through
pmbot's parsers and builders. Sim-side replays belong to the wiring task (see the report)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pmbot.errors import FatalError
from pmbot.fees import (
    UnknownFee,
    resolve_fee,
    schedule_from_fd,
    schedule_from_gamma,
    taker_fee,
)
from pmbot.model import OrderType, Side
from pmbot.venue.market_orders import (
    MARKET_BUY_PRECISION_ERROR,
    market_amounts_error,
    market_order_amounts,
    sweep_market_buy,
)
from pmbot.venue.wire_clob import (
    ClobWireError,
    check_order_version,
    is_balance_refusal,
    is_order_version_mismatch,
    parse_balance_allowance,
    parse_book_tick,
    parse_cancel_answer,
    parse_clob_market_info,
    parse_post_result,
    parse_tick,
    parse_tick_size_answer,
    parse_timestamp,
    parse_version,
)

FIXTURES = Path(__file__).parent / "fixtures"
D = Decimal


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def cases(name: str, key: str = "cases") -> list[dict]:
    return load(name)[key]


def _sources(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["source"]] if isinstance(node.get("source"), str) else []
        return found + [s for v in node.values() for s in _sources(v)]
    if isinstance(node, list):
        return [s for v in node for s in _sources(v)]
    return []


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_fixture_names_its_public_source(path):
    data = json.loads(path.read_text())
    case_lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if isinstance(data.get("source"), str):
        assert data["source"].strip()
    else:  # no file-level source: every case carries its own
        assert case_lists
        for case_list in case_lists:
            assert all(isinstance(c.get("source"), str) and c["source"].strip() for c in case_list)
    assert _sources(data)


# --------------------------------------------------------------------------- market orders


@pytest.mark.parametrize("case", cases("market_order_precision.json"), ids=lambda c: c["source"])
def test_market_order_precision_answers(case):
    side = Side(case["side"])
    if "sdk_maker_amount" in case:
        maker, taker = case["sdk_maker_amount"], case["sdk_taker_amount"]
    else:
        maker, taker = case["maker_amount"], case["taker_amount"]
    refused = case["venue"]["status"] == 400
    assert (market_amounts_error(side, maker, taker) is not None) == refused
    if refused:
        assert market_amounts_error(side, maker, taker) == case["venue"]["body"]["error"]
    if "amount" in case:  # pmbot's builder never produces a refused order for the same inputs
        ours = market_order_amounts(side, D(case["amount"]), D(case["price"]), D(case["tick"]))
        assert market_amounts_error(side, ours.maker_amount, ours.taker_amount) is None
        assert ours.maker_amount == maker


def test_market_buy_fill_returns_more_shares_than_size():
    fx = load("market_buy_fill.json")
    size, limit, ask = D(fx["order"]["size"]), D(fx["order"]["price"]), D(fx["book_top_ask"])
    spend = size * limit
    fill = sweep_market_buy([(ask, D(1000))], spend, limit)
    reported = D(fx["reported_fill_shares"])
    assert fill.shares > size and reported > size
    assert 0 <= fill.shares - reported <= D("0.000001")  # the venue's spend was 1 unit lower
    under = sweep_market_buy([(ask, D(1000))], spend - D("0.000001"), limit)
    assert under.shares == reported


# --------------------------------------------------------------------------- market info and fees


@pytest.mark.parametrize("case", cases("clob_markets.json"), ids=lambda c: c["source"][:40])
def test_clob_market_info(case):
    info = parse_clob_market_info(case["body"])
    want = case["expect"]
    assert info.tick == D(want["tick"]) and info.min_size == D(want["min_size"])
    assert info.neg_risk is want["neg_risk"] and len(info.tokens) == want["tokens"]
    assert info.taker_delay is want.get("taker_delay", False)
    if want["fee_rate"] is None:
        assert info.fee is None
        assert isinstance(resolve_fee(info.fee, None), UnknownFee)
    else:
        assert info.fee is not None
        assert (info.fee.rate, info.fee.exponent) == (D(want["fee_rate"]), want["fee_exponent"])


def test_fee_rate_endpoint_is_not_the_rate():
    for row in load("fee_rate_vs_fd.json")["rows"]:
        fd = schedule_from_fd({"r": row["fd_r"], "e": 1, "to": True})
        assert fd is not None and fd.rate * 10_000 != row["base_fee"]
        # the fee charged on 100 shares at 0.5 follows fd.r, not base_fee
        assert taker_fee(D(100), D("0.5"), fd) == D(row["fd_r"]) * 25


@pytest.mark.parametrize("case", cases("gamma_fee_schedule.json"), ids=lambda c: c["source"][:40])
def test_fee_source_order(case):
    state = resolve_fee(schedule_from_fd(case.get("clob_fd")), schedule_from_gamma(case["market"]))
    want = case["expect"]
    if want.get("unknown"):
        assert isinstance(state, UnknownFee)
        return
    assert not isinstance(state, UnknownFee)
    assert (state.rate, state.exponent, state.source) == (
        D(want["rate"]),
        want["exponent"],
        want["source"],
    )


# --------------------------------------------------------------------------- version


@pytest.mark.parametrize("case", cases("version.json", "answers"), ids=lambda c: str(c["body"]))
def test_version_answers(case):
    version = parse_version(case["body"])
    assert version == case["expect"]
    if case["signable"]:
        assert check_order_version(version) == version
    else:
        with pytest.raises(FatalError, match=f"order version {version}"):
            check_order_version(version)


@pytest.mark.parametrize("case", cases("version.json", "mismatch"), ids=lambda c: str(c["body"]))
def test_order_version_mismatch_answers(case):
    assert is_order_version_mismatch(case["body"]) is case["expect"]


# --------------------------------------------------------------------------- cancels and posts


@pytest.mark.parametrize("case", cases("cancel_answers.json"), ids=lambda c: c["source"][:40])
def test_cancel_answers(case):
    answer = parse_cancel_answer(case["body"])
    want = case["expect"]
    assert list(answer.canceled) == want["canceled"]
    assert list(answer.gone) == want["gone"]
    assert [i for i, _ in answer.still_live] == want["still_live"]
    if "kinds" in want:
        assert answer.reason_kinds() == want["kinds"]


@pytest.mark.parametrize("case", cases("post_results.json"), ids=lambda c: c["source"][:40])
def test_post_results(case):
    result = parse_post_result(case["body"], OrderType(case["order_type"]))
    want = case["expect"]
    assert result.accepted is want["accepted"]
    if not want["accepted"]:
        assert result.error == want["error"] and result.order_id == ""
        return
    assert result.order_id == case["body"]["orderID"]
    assert (result.status, result.odd, result.settled) == (
        want["status"],
        want["odd"],
        want["settled"],
    )
    if "taking" in want:
        assert (result.taking, result.making) == (D(want["taking"]), D(want["making"]))


def test_the_refused_fak_in_post_results_is_the_precision_rule():
    refused = [c for c in cases("post_results.json") if c["expect"]["accepted"] is False]
    assert any(c["expect"]["error"] == MARKET_BUY_PRECISION_ERROR for c in refused)


# --------------------------------------------------------------------------- balance, time, ticks


@pytest.mark.parametrize("case", cases("balance_allowance.json"), ids=lambda c: c["source"][:40])
def test_balance_allowance_answers(case):
    ba = parse_balance_allowance(case["body"])
    want = case["expect"]
    assert ba.balance == D(want["balance"]) and ba.free == D(want["free"])
    assert ba.allowance == (None if want["allowance"] is None else D(want["allowance"]))


def test_balance_refusals():
    for case in cases("balance_allowance.json", "refusals"):
        assert is_balance_refusal(case["body"]["error"]) is case["expect"]


@pytest.mark.parametrize("case", cases("timestamps.json"), ids=lambda c: repr(c["value"]))
def test_timestamps(case):
    assert parse_timestamp(case["value"]) == pytest.approx(case["expect"], abs=1e-6)


@pytest.mark.parametrize("value", load("timestamps.json")["malformed"], ids=repr)
def test_malformed_timestamps(value):
    with pytest.raises(ClobWireError):
        parse_timestamp(value)


def test_tick_sizes():
    fx = load("tick_sizes.json")
    for answer in fx["tick_size_answers"]:
        assert parse_tick_size_answer(answer["body"]) == D(answer["expect"])
    for book in fx["book_ticks"]:
        want = book["expect"]
        assert parse_book_tick(book["body"]) == (None if want is None else D(want))
    for bad in fx["unsupported"]:
        with pytest.raises(ClobWireError):
            parse_tick(bad)
