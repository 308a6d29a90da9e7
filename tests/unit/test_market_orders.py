"""FAK/FOK market-order amounts: the venue's precision rule, the SDK's path, and the BUY sweep."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import CreateOrderOptions, MarketOrderArgsV2
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder
from py_clob_client_v2.order_builder.constants import BUY, SELL
from py_clob_client_v2.order_builder.helpers import round_down as sdk_round_down
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer as SdkSigner

from pmbot import eip712
from pmbot.model import BASE_UNITS, Side
from pmbot.venue.market_orders import (
    MARKET_BUY_PRECISION_ERROR,
    MARKET_SELL_PRECISION_ERROR,
    MarketAmounts,
    market_amounts_error,
    market_buy_for_shares,
    market_order_amounts,
    marketable_buy_minimum_error,
    round_price_down,
    sweep_market_buy,
    sweep_market_sell,
    taker_decimals,
)
from pmbot.venue.signer import OrderSigner

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
EOA = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
SDK_SIGNER = SdkSigner(KEY, 137)
ALL_TICKS = ["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"]
COARSE_TICKS = ["0.1", "0.01"]  # where the SDK's market path is accepted by the venue
D = Decimal


def pmbot_sign(
    amounts: MarketAmounts, token_id: str, *, sig_type: int, neg_risk: bool, salt: int, ts: int
) -> dict:
    """The wire order ``OrderSigner.build_amounts`` (the bot's FAK/FOK path) signs."""
    signer = OrderSigner(KEY, signature_type=sig_type, funder=None if sig_type == 0 else WALLET)
    signed = signer.build_amounts(token_id, amounts, neg_risk=neg_risk, salt=salt, timestamp_ms=ts)
    return signed.order


def sdk_amounts(side: Side, amount: Decimal, price: Decimal, tick: str) -> tuple[int, int]:
    _, maker, taker = OrderBuilder(None).get_market_order_amounts(
        BUY if side is Side.BUY else SELL, float(amount), float(price), ROUNDING_CONFIG[tick]
    )
    return maker, taker


@st.composite
def market_orders(draw, ticks=ALL_TICKS):
    tick_s = draw(st.sampled_from(ticks))
    tick = D(tick_s)
    price = tick * draw(st.integers(min_value=1, max_value=int(1 / tick) - 1))
    amount = D(draw(st.integers(min_value=100, max_value=10**7))) / 100  # $1 .. $100k, cents
    return tick_s, price, amount, draw(st.sampled_from([Side.BUY, Side.SELL]))


# --------------------------------------------------------------------------- the venue's rule


@settings(max_examples=400, deadline=None)
@given(o=market_orders())
def test_amounts_always_pass_the_venue_precision_rule(o):
    tick_s, price, amount, side = o
    a = market_order_amounts(side, amount, price, D(tick_s))
    assert market_amounts_error(a.side, a.maker_amount, a.taker_amount) is None
    if side is Side.BUY:
        assert a.pusd == amount  # whole cents are kept exactly
        implied = D(a.maker_amount) / a.taker_amount
        assert implied >= price  # taker rounded down: still crosses the ask it targets (#291)
        quantum = 10 ** (6 - taker_decimals(D(tick_s)))  # floored, so within one quantum
        assert a.taker_amount + quantum > a.maker_amount / price
    else:
        assert a.shares == amount
        assert D(a.taker_amount) / a.maker_amount <= price


def test_issue_99_fine_tick_buy_is_capped_at_4_decimals_where_the_sdk_is_refused():
    sdk_maker, sdk_taker = sdk_amounts(Side.BUY, D("9.98"), D("0.985"), "0.001")
    assert (sdk_maker, sdk_taker) == (9_980_000, 10_131_970)  # the #99 repro: 5 taker decimals
    assert market_amounts_error(Side.BUY, sdk_maker, sdk_taker) == MARKET_BUY_PRECISION_ERROR
    ours = market_order_amounts(Side.BUY, D("9.98"), D("0.985"), D("0.001"))
    assert (ours.maker_amount, ours.taker_amount) == (9_980_000, 10_131_900)


@pytest.mark.parametrize("tick", ["0.005", "0.0025", "0.001", "0.0001"])
def test_fine_tick_sell_taker_is_capped_too(tick):
    price = D("0.9985") if tick == "0.0001" else D("0.985")
    price = round_price_down(price, D(tick))
    ours = market_order_amounts(Side.SELL, D("1.23"), price, D(tick))
    assert ours.taker_amount % 100 == 0
    assert (
        ours.taker_amount
        == int((D("1.23") * price * 10_000).to_integral_value("ROUND_FLOOR")) * 100
    )


def test_precision_error_strings_are_the_venues():
    assert market_amounts_error(Side.BUY, 1_999_422, 2_019_600) == MARKET_BUY_PRECISION_ERROR
    assert market_amounts_error(Side.BUY, 2_000_000, 2_019_650) == MARKET_BUY_PRECISION_ERROR
    assert market_amounts_error(Side.SELL, 1_234_000, 1_000_000) == MARKET_SELL_PRECISION_ERROR
    assert market_amounts_error(Side.SELL, 1_230_000, 1_211_550) == MARKET_SELL_PRECISION_ERROR
    assert market_amounts_error(Side.BUY, 2_000_000, 2_019_600) is None


def test_price_is_rounded_down_to_the_tick_and_bounds_checked():
    assert market_order_amounts(Side.BUY, D(5), D("0.987"), D("0.01")).price == D("0.98")
    assert market_order_amounts(Side.BUY, D(5), D("0.987"), D("0.005")).price == D("0.985")
    assert market_order_amounts(Side.BUY, D(5), D("0.9999"), D("0.0025")).price == D("0.9975")
    with pytest.raises(ValueError, match="invalid price"):
        market_order_amounts(Side.BUY, D(5), D("0.0099"), D("0.01"))
    with pytest.raises(ValueError, match="unsupported tick"):
        market_order_amounts(Side.BUY, D(5), D("0.5"), D("0.02"))
    with pytest.raises(ValueError, match="rounds to zero"):
        market_order_amounts(Side.SELL, D("0.009"), D("0.5"), D("0.01"))
    with pytest.raises(ValueError, match="finite Decimal"):
        market_order_amounts(Side.BUY, 5.0, D("0.5"), D("0.01"))  # type: ignore[arg-type]


def test_cent_sizes_on_001_and_0001_ticks_are_accepted():
    """The arbitrage case of issue 13: cent-sized legs on 0.01 and 0.001 ticks."""
    for tick, price in (("0.01", D("0.37")), ("0.001", D("0.373")), ("0.001", D("0.999"))):
        leg = market_buy_for_shares(D("7.13"), price, D(tick))
        assert market_amounts_error(Side.BUY, leg.maker_amount, leg.taker_amount) is None
        assert leg.pusd == (D("7.13") * price).quantize(D("0.01"), "ROUND_FLOOR")
        assert D("7.13") - leg.shares < D("0.01") / price + D("0.0001")


def test_marketable_buy_minimum():
    assert marketable_buy_minimum_error(1_000_000) is None
    assert marketable_buy_minimum_error(990_000) == (
        "invalid amount for a marketable BUY order ($0.99), min size: $1"
    )


# --------------------------------------------------------------------------- against the SDK


def sdk_effective_inputs(amount: Decimal, price: Decimal, tick: str) -> tuple[Decimal, Decimal]:
    """The amount and price the SDK really uses: its float ``round_down`` sometimes loses a cent of
    the amount or a tick of the price (0.29 -> 0.28, since 0.29 * 100 == 28.999999999999996)."""
    cfg = ROUNDING_CONFIG[tick]
    return (
        D(repr(sdk_round_down(float(amount), cfg.size))),
        D(repr(sdk_round_down(float(price), cfg.price))),
    )


@settings(max_examples=600, deadline=None)
@given(o=market_orders(COARSE_TICKS))
def test_same_amounts_as_the_sdk_on_coarse_ticks_given_its_float_inputs(o):
    tick_s, price, amount, side = o
    sdk_amount, sdk_price = sdk_effective_inputs(amount, price, tick_s)
    assert amount - sdk_amount in (0, D("0.01"))  # its only deviations: one cent...
    assert price - sdk_price in (0, D(tick_s))  # ...or one tick, never more
    assume(sdk_price >= D(tick_s))
    same = market_order_amounts(side, sdk_amount, sdk_price, D(tick_s))
    assert (same.maker_amount, same.taker_amount) == sdk_amounts(side, amount, price, tick_s)
    exact = market_order_amounts(side, amount, price, D(tick_s))
    assert exact.maker_amount == int(amount * BASE_UNITS) and exact.price == price


@pytest.mark.parametrize("neg_risk", [False, True], ids=["ctf", "negrisk"])
@pytest.mark.parametrize("sig_type", [0, 1, 2, 3])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(o=market_orders(COARSE_TICKS), token=st.integers(min_value=1, max_value=2**256 - 1))
def test_signed_market_order_byte_identical_to_sdk_build_market_order(sig_type, neg_risk, o, token):
    tick_s, price, amount, side = o
    sdk_amount, sdk_price = sdk_effective_inputs(amount, price, tick_s)
    assume(sdk_price >= D(tick_s))
    ours = market_order_amounts(side, sdk_amount, sdk_price, D(tick_s))
    funder = None if sig_type == 0 else WALLET
    sdk = OrderBuilder(SDK_SIGNER, signature_type=sig_type, funder=funder).build_market_order(
        MarketOrderArgsV2(
            token_id=str(token), amount=float(amount), side=side.value, price=float(price)
        ),
        CreateOrderOptions(tick_size=tick_s, neg_risk=neg_risk),
        version=2,
    )
    wire = pmbot_sign(
        ours,
        str(token),
        sig_type=sig_type,
        neg_risk=neg_risk,
        salt=int(sdk.salt),
        ts=int(sdk.timestamp),
    )
    assert wire == order_to_json_v2(sdk, "k", "FAK")["order"]
    assert eip712.recover_order_signer(wire, neg_risk=neg_risk) == EOA


# --------------------------------------------------------------------------- amount-based BUY


def test_issue_89_a_buy_at_0_99_sweeping_0_98_gets_more_shares_than_asked():
    asks = [(D("0.98"), D(100))]
    fill = sweep_market_buy(asks, D("4.95"), D("0.99"))
    assert fill.shares == D("5.051020") > D(5)
    assert fill.spent <= D("4.95")
    # The venue reported 5.051019: one base unit less, what a spend of 4.949999 gives.
    assert sweep_market_buy(asks, D("4.949999"), D("0.99")).shares == D("5.051019")


def test_sweep_walks_levels_best_first_and_stops_at_the_limit():
    asks = [(D("0.50"), D(2)), (D("0.52"), D(3)), (D("0.60"), D(100))]
    fill = sweep_market_buy(asks, D(10), D("0.55"))
    assert fill.levels == ((D("0.50"), D(2)), (D("0.52"), D(3)))
    assert fill.shares == D(5) and fill.spent == D("2.56")
    big = sweep_market_buy(asks, D("1.04"), D("0.55"))
    # 2 @ 0.50, then the last 0.04 pUSD buys floor(0.04 / 0.52, 6 dp) = 0.076923 @ 0.52
    assert big.shares == D("2.076923") and big.spent == D("1.03999996")
    assert sweep_market_buy([], D(5), D("0.5")).shares == 0


@settings(max_examples=300, deadline=None)
@given(
    levels=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=99), st.integers(min_value=1, max_value=10**6)
        ),
        max_size=6,
    ),
    spend_cents=st.integers(min_value=100, max_value=10**6),
    limit_cents=st.integers(min_value=1, max_value=99),
)
def test_sweep_never_overspends_and_buys_at_least_spend_over_limit_when_liquid(
    levels, spend_cents, limit_cents
):
    asks = sorted((D(p) / 100, D(s) / 100) for p, s in levels)
    spend, limit = D(spend_cents) / 100, D(limit_cents) / 100
    fill = sweep_market_buy(asks, spend, limit)
    assert 0 <= fill.spent <= spend
    assert all(p <= limit for p, _ in fill.levels)
    assert fill.spent == sum(p * s for p, s in fill.levels)
    available = sum(p * s for p, s in asks if p <= limit)
    if available >= spend:  # liquid enough: at most one base unit per level of spend left over
        assert fill.shares >= (spend / limit) - D(len(asks)) / BASE_UNITS * 2


@pytest.mark.parametrize("tick", ["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"])
@pytest.mark.parametrize("shares", ["5", "7.13", "12.3456", "100.01"])
def test_at_least_buys_sign_a_taker_of_at_least_the_shares(tick, shares):
    price = round_price_down(D("0.4567"), D(tick))
    leg = market_buy_for_shares(D(shares), price, D(tick), at_least=True)
    assert leg.shares >= D(shares)
    assert market_amounts_error(Side.BUY, leg.maker_amount, leg.taker_amount) is None
    assert leg.pusd - D(shares) * price < D("0.01")  # at most a cent more than shares * limit
    down = market_buy_for_shares(D(shares), price, D(tick))
    assert down.pusd <= D(shares) * price


def test_sell_sweep_is_share_based():
    bids = [(D("0.60"), D(2)), (D("0.55"), D(3)), (D("0.40"), D(100))]
    fill = sweep_market_sell(bids, D(4), D("0.50"))
    assert fill.shares == D(4) and fill.spent == D("2.30")
    assert fill.levels == ((D("0.60"), D(2)), (D("0.55"), D(2)))
    thin = sweep_market_sell(bids, D(10), D("0.50"))
    assert thin.shares == D(5)  # FAK keeps 5; a FOK for 10 is killed by the caller
