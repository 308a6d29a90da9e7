"""Each venue rejection, one by one, with its status code and real error string, over HTTP."""

import dataclasses
import json

import pytest
import requests
from py_clob_client_v2.clob_types import (
    ApiCreds,
    CreateOrderOptions,
    OrderArgs,
    OrderType,
    PostOrdersV2Args,
    RequestArgs,
)
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2

from tests.integration.sim_support import KEY_A, KEY_B, clob_client, first_market, start_sim


@pytest.fixture(scope="module")
def sim():
    s = start_sim()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def market(sim):
    m = first_market(sim)
    sim.faults.set_book(m.yes_token, bids=[("0.40", "100")], asks=[("0.45", "100")])
    return m


@pytest.fixture(scope="module")
def client(sim):
    return clob_client(sim, KEY_A)


def _order(client, market, price=0.30, size=10, side="BUY", tick="0.01"):
    return client.builder.build_order(
        OrderArgs(token_id=market.yes_token, price=price, size=size, side=side),
        CreateOrderOptions(tick_size=tick, neg_risk=False),
        version=2,
    )


def _rejected(fn):
    with pytest.raises(PolyApiException) as err:
        fn()
    return err.value.status_code, err.value.error_msg


def _send(sim, client, method, path, body):
    serialized = json.dumps(body, separators=(",", ":"))
    headers = create_level_2_headers(
        client.signer, client.creds, RequestArgs(method, path, body, serialized)
    )
    headers["Content-Type"] = "application/json"
    return requests.request(
        method, sim.urls["clob_url"] + path, data=serialized, headers=headers, timeout=5
    )


def test_bad_hmac_is_401(sim, client):
    wrong = ApiCreds(
        client.creds.api_key,
        "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=",
        client.creds.api_passphrase,
    )
    other = clob_client(sim, KEY_A)
    other.set_api_creds(wrong)
    assert _rejected(other.get_open_orders) == (401, {"error": "Unauthorized/Invalid api key"})
    assert _rejected(lambda: other.post_order(_order(client, first_market(sim))))[0] == 401


def test_bad_order_signature(client, market):
    signed = _order(client, market)
    tampered = dataclasses.replace(signed, makerAmount=str(int(signed.makerAmount) - 10_000))
    assert _rejected(lambda: client.post_order(tampered)) == (400, {"error": "invalid signature"})


def test_signer_of_another_key(sim, client, market):
    foreign = _order(clob_client(sim, KEY_B), market)
    assert _rejected(lambda: client.post_order(foreign)) == (
        400,
        {"error": "the order signer address has to be the address of the API KEY"},
    )


def test_owner_must_be_the_api_key(sim, client, market):
    body = order_to_json_v2(_order(client, market), "not-my-key", OrderType.GTC)
    r = _send(sim, client, "POST", "/order", body)
    assert (r.status_code, r.json()) == (
        400,
        {"error": "the order owner has to be the owner of the API KEY"},
    )


def test_malformed_payload(sim, client):
    r = _send(
        sim, client, "POST", "/order", {"order": {"salt": "nope"}, "owner": client.creds.api_key}
    )
    assert (r.status_code, r.json()) == (400, {"error": "Invalid order payload"})


def test_wrong_tick(client, market):
    signed = _order(client, market, price=0.305, tick="0.001")
    status, body = _rejected(lambda: client.post_order(signed))
    assert status == 400
    assert body["error"].endswith("is invalid. Price (0.305) breaks minimum tick size rule: 0.01")


def test_below_minimum_size(client, market):
    status, body = _rejected(lambda: client.post_order(_order(client, market, size=3)))
    assert status == 400 and body["error"].endswith(
        "is invalid. Size (3) lower than the minimum: 5"
    )


def test_duplicate(client, market):
    signed = _order(client, market, price=0.21)
    first = client.post_order(signed, post_only=True)
    assert first["success"] is True
    assert _rejected(lambda: client.post_order(signed, post_only=True)) == (
        400,
        {"error": f"order {first['orderID']} is invalid. Duplicated."},
    )
    client.cancel_all()


def test_insufficient_balance(sim, market):
    poor = clob_client(sim, KEY_B)
    sim.faults.set_balance(poor.get_address(), 2)
    assert _rejected(lambda: poor.post_order(_order(poor, market, price=0.30, size=10))) == (
        400,
        {"error": "not enough balance / allowance"},
    )
    # resting orders reserve collateral: 1.5 rests, the next 1.5 does not fit in 2
    assert (
        poor.post_order(_order(poor, market, price=0.30, size=5), post_only=True)["success"] is True
    )
    assert _rejected(lambda: poor.post_order(_order(poor, market, price=0.31, size=5))) == (
        400,
        {"error": "not enough balance / allowance"},
    )
    poor.cancel_all()


def test_post_only_crossing(client, market):
    assert _rejected(
        lambda: client.post_order(_order(client, market, price=0.46), post_only=True)
    ) == (400, {"error": "invalid post-only order: order crosses book"})


def test_oversize_batch(sim, client, market):
    args = [
        PostOrdersV2Args(
            order=_order(client, market, price=0.10 + i / 100), orderType=OrderType.GTC
        )
        for i in range(16)
    ]
    assert _rejected(lambda: client.post_orders(args, post_only=True)) == (
        400,
        {"error": "Too many orders in payload: 16, max allowed: 15"},
    )
    assert client.get_open_orders() == []


def test_batch_failure_is_per_order_inside_http_200(client, market):
    good = _order(client, market, price=0.11)
    bad = _order(client, market, price=0.12, size=2)
    results = client.post_orders(
        [
            PostOrdersV2Args(order=good, orderType=OrderType.GTC),
            PostOrdersV2Args(order=bad, orderType=OrderType.GTC),
        ],
        post_only=True,
    )
    assert results[0]["success"] is True and results[0]["status"] == "live"
    assert results[1]["success"] is False and results[1]["orderID"] == ""
    assert "lower than the minimum" in results[1]["errorMsg"]
    client.cancel_all()


def test_cancel_batch_limit(sim, client):
    r = _send(sim, client, "DELETE", "/orders", ["0x01"] * 1001)
    assert (r.status_code, r.json()) == (
        400,
        {"error": "Too many orders in payload, max allowed: 1000"},
    )
    r = _send(sim, client, "DELETE", "/orders", ["0x01"])
    assert r.status_code == 200 and r.json()["not_canceled"] == {"0x01": "order not found"}
