"""Fees: fd first, Gamma as fallback, an explicit unknown; exact formula floored to 5 decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.fees import adjust_buy_amount_for_fees

from pmbot.fees import (
    UNKNOWN_FEE,
    FeeDataError,
    FeeSchedule,
    UnknownFee,
    fee_for_cost_model,
    fee_rate_at,
    fill_fee,
    resolve_fee,
    schedule_from_fd,
    schedule_from_gamma,
    taker_fee,
    worst_case_fee_schedule,
)

D = Decimal


def test_fd_is_read_with_rate_exponent_and_taker_only():
    s = schedule_from_fd({"r": 0.05, "e": 2, "to": True})
    assert s == FeeSchedule(D("0.05"), 2, True, "clob")
    assert schedule_from_fd({"r": "0.04"}) == FeeSchedule(D("0.04"), 1, True, "clob")
    assert schedule_from_fd(None) is None and schedule_from_fd({}) is None


@pytest.mark.parametrize(
    "fd", [{"e": 1}, {"r": "x"}, {"r": 0.05, "e": 1.5}, {"r": -0.01}, {"r": True}, [1], "fd"]
)
def test_malformed_fd_is_a_clear_error(fd):
    with pytest.raises(FeeDataError):
        schedule_from_fd(fd)


def test_gamma_fee_schedule_is_a_fallback_and_can_be_missing():
    gamma = schedule_from_gamma({"feeSchedule": {"rate": 0.07, "exponent": 1, "takerOnly": True}})
    assert gamma == FeeSchedule(D("0.07"), 1, True, "gamma")
    assert schedule_from_gamma({"slug": "x"}) is None  # missing: unknown, not zero
    assert schedule_from_gamma({"feesEnabled": False}).rate == 0  # explicitly fee-free


def test_resolve_prefers_clob_then_gamma_else_unknown():
    clob = FeeSchedule(D("0.05"), 1)
    gamma = FeeSchedule(D("0.03"), 1, source="gamma")
    assert resolve_fee(clob, gamma) is clob
    assert resolve_fee(None, gamma) is gamma
    assert resolve_fee(None, None) is UNKNOWN_FEE
    assert isinstance(resolve_fee(None, None), UnknownFee)


def test_docs_example_values_exponent_2():
    """py_clob_client_v2's test_fee_calculations: rate 0.25, exponent 2, 100 shares."""
    s = FeeSchedule(D("0.25"), 2)
    assert taker_fee(D(100), D("0.5"), s) == D("1.5625")
    assert taker_fee(D(100), D("0.3"), s) == D("1.1025")
    assert taker_fee(D(100), D("0.05"), s) == D("0.05640")  # 0.05640625 floored to 5 dp
    assert taker_fee(D(100), D("0.01"), s) == D("0.00245")  # 0.00245025 floored
    assert taker_fee(D("125.5"), D("0.5"), s) == D("1.96093")  # 1.9609375 floored


def test_exponent_1_production_rates():
    assert taker_fee(D(100), D("0.5"), FeeSchedule(D("0.072"), 1)) == D("1.8")
    assert taker_fee(D(100), D("0.3"), FeeSchedule(D("0.04"), 1)) == D("0.84")


def test_fee_is_floored_never_rounded_up():
    s = FeeSchedule(D("0.07"), 1)
    assert taker_fee(D("0.01"), D("0.01"), s) == D("0")  # 0.00000693 floors to zero
    assert taker_fee(D("1"), D("0.5"), s) == D("0.0175")


def test_maker_pays_nothing_on_a_taker_only_schedule():
    s = FeeSchedule(D("0.05"), 1, taker_only=True)
    assert fill_fee(D(10), D("0.5"), s, is_taker=False) == 0
    assert fill_fee(D(10), D("0.5"), s, is_taker=True) == D("0.125")
    both = FeeSchedule(D("0.05"), 1, taker_only=False)
    assert fill_fee(D(10), D("0.5"), both, is_taker=False) == D("0.125")


def test_exponent_zero_is_a_flat_rate_even_at_the_edges():
    assert fee_rate_at(FeeSchedule(D("0.01"), 0), D(0)) == D("0.01")


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(min_value=1, max_value=99),
    shares=st.integers(min_value=1, max_value=10**7),
    rate_bp=st.integers(min_value=0, max_value=1000),
    exponent=st.sampled_from([1, 2]),
)
def test_matches_the_sdk_formula_within_the_floor(cents, shares, rate_bp, exponent):
    price, size, rate = D(cents) / 100, D(shares) / 100, D(rate_bp) / 10_000
    ours = taker_fee(size, price, FeeSchedule(rate, exponent))
    # the SDK's platform fee for spending amount = size * price (float)
    sdk = (
        float(size * price)
        / float(price)
        * float(rate)
        * (float(price) * (1 - float(price))) ** exponent
    )
    assert ours <= D(repr(sdk)) + D("1e-9")
    assert D(repr(sdk)) - ours < D("0.00001") + D("1e-9")


def test_same_platform_fee_as_the_sdk_balance_adjustment():
    """SDK 1.2.1 adjust_buy_amount_for_fees: balance-capped spend = balance - platform fee, where
    platform fee = (spend / p) * r * (p(1-p))^e: the same fee we charge on spend / p shares."""
    adjusted = adjust_buy_amount_for_fees(100, 0.5, 50, 0.05, 1, 0)
    sdk_fee = D(50) - D(repr(adjusted))
    assert sdk_fee == taker_fee(D(50) / D("0.5"), D("0.5"), FeeSchedule(D("0.05"), 1)) == D("1.25")


def test_unknown_fee_is_never_assumed_zero_by_the_cost_model():
    worst = worst_case_fee_schedule()
    assert fee_for_cost_model(D(100), D("0.5"), UNKNOWN_FEE) == D("2.5")
    assert fee_for_cost_model(D(100), D("0.5"), UNKNOWN_FEE) >= taker_fee(
        D(100), D("0.5"), FeeSchedule(D("0.072"), 1)
    )
    assert worst.rate > 0
    known = FeeSchedule(D("0.04"), 1)
    assert fee_for_cost_model(D(100), D("0.5"), known) == taker_fee(D(100), D("0.5"), known)


def test_an_edge_positive_before_fees_is_negative_after_fd_fees():
    """Issue 13's check: a 2-leg set at 0.48 + 0.50 = 0.98 (2 c edge) with crypto fd fees."""
    fd = schedule_from_fd({"r": 0.07, "e": 1, "to": True})
    assert fd is not None
    shares = D(100)
    cost = shares * (D("0.48") + D("0.50"))
    fees = taker_fee(shares, D("0.48"), fd) + taker_fee(shares, D("0.50"), fd)
    assert shares - cost > 0 and shares - cost - fees < 0


def test_schedule_validation():
    with pytest.raises(FeeDataError):
        FeeSchedule(D("-0.1"), 1)
    with pytest.raises(FeeDataError):
        FeeSchedule(D("0.1"), True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        taker_fee(D(-1), D("0.5"), FeeSchedule(D("0.1"), 1))
    with pytest.raises(ValueError):
        fee_rate_at(FeeSchedule(D("0.1"), 1), D("1.5"))
