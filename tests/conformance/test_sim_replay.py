"""Replay the venue's answers (tests/conformance/fixtures) through ``pmbot.sim``: the simulator
must answer what the venue answered, with the venue's strings, so that a bot change that breaks a
rule fails in sim as it would live.

Order amounts are replayed into the exchange engine in process (the signature path is covered by
tests/integration/test_sim_*); the runtime knobs (order version, matching-delay cancels, keep-alive
text, balance) go through the HTTP server with Polymarket's own py_clob_client_v2."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import websocket
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    CreateOrderOptions,
    OrderArgs,
    OrderPayload,
)
from py_clob_client_v2.exceptions import PolyApiException

from pmbot.errors import FatalError
from pmbot.fees import resolve_fee, schedule_from_fd, schedule_from_gamma, taker_fee
from pmbot.sim.order_checks import SimReject
from pmbot.venue.market_orders import sweep_market_buy
from pmbot.venue.wire_clob import (
    check_order_version,
    is_order_version_mismatch,
    parse_balance_allowance,
    parse_cancel_answer,
    parse_version,
)
from tests.integration.sim_support import KEY_A, clob_client, first_market, start_sim
from tests.unit.test_sim_engine_helpers import ALICE, make_exchange, market, oid
from tests.waiting import timeout_scale

FIXTURES = Path(__file__).parent / "fixtures"
D = Decimal


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _wire(token: str, side: str, maker_amount: int, taker_amount: int) -> dict:
    return {
        "salt": 1,
        "maker": ALICE,
        "signer": ALICE,
        "tokenId": token,
        "makerAmount": str(maker_amount),
        "takerAmount": str(taker_amount),
        "side": side,
        "expiration": "0",
        "signatureType": 0,
        "signature": "0x",
    }


def _exchange_with_asks(tick: str, asks):
    ex, _, _ = make_exchange()
    m = market(ex, "free-market")
    ex.set_tick_size(m.yes_token, D(tick))
    m = ex.market_of_token(m.yes_token)
    ex.set_book(m.yes_token, [], [(D(p), D(s)) for p, s in asks])
    return ex, m


# --------------------------------------------------------------------------- market orders


@pytest.mark.parametrize(
    "case", load("market_order_precision.json")["cases"], ids=lambda c: c["source"]
)
def test_sim_answers_market_order_precision_as_the_venue(case):
    maker = case.get("maker_amount", case.get("sdk_maker_amount"))
    taker = case.get("taker_amount", case.get("sdk_taker_amount"))
    limit = D(maker) / D(taker)
    tick = case.get("tick", "0.01")
    ask = (limit / D(tick)).to_integral_value(rounding="ROUND_FLOOR") * D(tick)
    ex, m = _exchange_with_asks(tick, [(ask, "1000")])
    place = lambda: ex.place_order(  # noqa: E731
        "key-alice",
        _wire(m.yes_token, case["side"], maker, taker),
        order_type=case["order_type"],
        post_only=False,
        order_id=oid(),
    )
    if case["venue"]["status"] == 400:
        with pytest.raises(SimReject) as err:
            place()
        assert (err.value.status, err.value.message) == (400, case["venue"]["body"]["error"])
    else:
        assert place()["success"] is True


def test_sim_market_buy_spends_its_pusd_and_fills_more_shares_than_size():
    fx = load("market_buy_fill.json")
    size, price = D(fx["order"]["size"]), D(fx["order"]["price"])
    ex, m = _exchange_with_asks("0.01", [(fx["book_top_ask"], "100")])
    answer = ex.place_order(
        "key-alice",
        _wire(m.yes_token, "BUY", int(size * price * 1_000_000), int(size * 1_000_000)),
        order_type=fx["order"]["order_type"],
        post_only=False,
        order_id=oid(),
    )
    got = D(answer["takingAmount"])
    expected = sweep_market_buy([(D(fx["book_top_ask"]), D(100))], size * price, price)
    assert got == expected.shares > size
    assert abs(got - D(fx["reported_fill_shares"])) <= D("0.000001")  # the venue's last unit
    assert ex.position(ALICE, m.yes_token) == got


def test_sim_fok_market_buy_is_killed_when_the_book_cannot_take_all_its_pusd():
    ex, m = _exchange_with_asks("0.01", [("0.50", "10")])  # 5 pUSD of asks, 6 wanted
    with pytest.raises(SimReject) as err:
        ex.place_order(
            "key-alice",
            _wire(m.yes_token, "BUY", 6_000_000, 12_000_000),
            order_type="FOK",
            post_only=False,
            order_id=oid(),
        )
    assert "FOK orders are fully filled or killed" in err.value.message
    assert ex.position(ALICE, m.yes_token) == 0


# --------------------------------------------------------------------------- through the server


@pytest.fixture(scope="module")
def sim():
    s = start_sim(
        markets=[
            {"slug": "fd-only", "fee_rate": 0.05, "fee_exponent": 2, "gamma_fee_schedule": False},
            {"slug": "both-sources", "fee_rate": 0.04},
        ],
        events=[],
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(sim):
    return clob_client(sim, KEY_A)


def _gtc(client, m, price=0.30):
    order = client.builder.build_order(
        OrderArgs(token_id=m.yes_token, price=price, size=10, side="BUY"),
        CreateOrderOptions(tick_size="0.01", neg_risk=False),
        version=2,
    )
    return order


def test_version_switch_refuses_orders_signed_for_the_other_version(sim, client):
    m = first_market(sim)
    url = sim.urls["clob_url"] + "/version"
    assert check_order_version(parse_version(requests.get(url, timeout=5).json())) == 2
    sim.faults.apply({"order_version": 3})
    try:
        assert parse_version(requests.get(url, timeout=5).json()) == 3
        with pytest.raises(FatalError, match="3"):
            check_order_version(3)
        with pytest.raises(PolyApiException) as err:
            client.post_order(_gtc(client, m))
        assert err.value.status_code == 400
        assert is_order_version_mismatch(err.value.error_msg)
        assert client.get_open_orders() == []
    finally:
        sim.faults.apply({"order_version": 2})
    assert client.post_order(_gtc(client, m))["success"] is True
    client.cancel_all()


def test_cancel_in_the_matching_delay_leaves_the_order_live_until_the_retry(sim, client):
    m = first_market(sim)
    order_id = client.post_order(_gtc(client, m, 0.31))["orderID"]
    sim.faults.apply({"cancel_delay": {"count": 1}})
    first = parse_cancel_answer(client.cancel_order(OrderPayload(orderID=order_id)))
    assert first.canceled == () and first.gone == ()
    assert [oid for oid, _ in first.still_live] == [order_id]
    assert first.reason_kinds() == {"matching_delay": 1}
    assert [o["id"] for o in client.get_open_orders()] == [order_id]
    retry = parse_cancel_answer(client.cancel_order(OrderPayload(orderID=order_id)))
    assert retry.canceled == (order_id,)
    assert client.get_open_orders() == []


def test_fees_come_from_fd_and_gamma_may_omit_its_schedule(sim):
    base = sim.urls["clob_url"]
    for m in sim.exchange.markets.values():
        info = requests.get(f"{base}/clob-markets/{m.condition_id}", timeout=5).json()
        gamma = requests.get(f"{base}/gamma/markets", params={"slug": m.slug}, timeout=5).json()[0]
        fd = schedule_from_fd(info["fd"])
        assert fd is not None and (fd.rate, fd.exponent) == (m.fee_rate, m.fee_exponent)
        if m.slug == "fd-only":
            assert "feeSchedule" not in gamma and schedule_from_gamma(gamma) is None
            assert fd.exponent == 2
        else:
            assert schedule_from_gamma(gamma) is not None
        assert resolve_fee(fd, schedule_from_gamma(gamma)) == fd


def test_taker_fee_charged_by_the_sim_uses_the_exponent(sim, client):
    m = next(x for x in sim.exchange.markets.values() if x.slug == "fd-only")
    sim.faults.set_book(m.yes_token, bids=[], asks=[("0.40", "100")])
    before = sim.exchange.balance(client.builder.funder)
    from py_clob_client_v2.clob_types import OrderType

    order = client.builder.build_order(
        OrderArgs(token_id=m.yes_token, price=0.40, size=10, side="BUY"),
        CreateOrderOptions(tick_size="0.01", neg_risk=False),
        version=2,
    )
    assert client.post_order(order, OrderType.FAK)["success"] is True
    fee = before - sim.exchange.balance(client.builder.funder) - D("4")
    schedule = schedule_from_fd({"r": "0.05", "e": 2})
    assert schedule is not None
    assert fee == taker_fee(D(10), D("0.40"), schedule) == D("0.0288")


def test_balance_allowance_and_its_update_read_the_sim_ledger(sim, client):
    params = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
    funder = client.builder.funder
    for answer in (
        client.get_balance_allowance(params),
        client.update_balance_allowance(params),
    ):
        parsed = parse_balance_allowance(answer)
        assert parsed.balance == sim.exchange.balance(funder)


def test_keepalive_text_frames_replace_market_data_while_silent(sim):
    frames = load("keepalive_frames.json")["frames"]
    m = first_market(sim)
    ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=10 * timeout_scale())
    try:
        ws.send(json.dumps({"assets_ids": [m.yes_token], "type": "market"}))
        assert ws.recv().startswith(("{", "["))  # the snapshot: subscribed
        sim.faults.apply({"silent_feed": {"on": True, "text": frames[0]}})
        sim.faults.set_book(m.yes_token, bids=[("0.20", "5")], asks=[("0.80", "5")])
        seen = []
        while frames[0] not in seen:  # the recv timeout is the deadline
            seen.append(ws.recv())
        assert all(f == frames[0] or f.startswith(("{", "[")) for f in seen)
    finally:
        sim.faults.apply({"silent_feed": False})
        ws.close()
    assert sim.market_hub.silent_text is None
