"""Drive the simulator with Polymarket's own py_clob_client_v2, unchanged apart from the URL."""

import time

import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import (
    OpenOrderParams,
    OrderArgs,
    OrderPayload,
    OrderType,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException

from tests.integration.sim_support import KEY_A, KEY_B, first_market, start_sim


@pytest.fixture
def sim():
    s = start_sim()
    yield s
    s.stop()


def _client(sim, key):
    client = ClobClient(sim.urls["clob_url"], 137, key=key)
    client.set_api_creds(client.create_or_derive_api_key())
    return client


def test_api_key_is_created_then_derived_identically(sim):
    client = ClobClient(sim.urls["clob_url"], 137, key=KEY_A)
    created = client.create_api_key()
    derived = client.derive_api_key()
    assert created == derived and created.api_key and created.api_secret and created.api_passphrase
    assert client.create_api_key(nonce=1).api_key != created.api_key


def test_l1_with_a_foreign_signature_is_rejected(sim):
    client = ClobClient(sim.urls["clob_url"], 137, key=KEY_A)
    import requests
    from py_clob_client_v2.headers.headers import create_level_1_headers
    from py_clob_client_v2.signer import Signer

    headers = create_level_1_headers(Signer(KEY_A, 137))
    headers["POLY_ADDRESS"] = Signer(KEY_B, 137).address()
    r = requests.get(sim.urls["clob_url"] + "/auth/derive-api-key", headers=headers, timeout=5)
    assert r.status_code == 401 and r.json() == {"error": "Invalid L1 Request headers"}
    del client


def test_post_only_order_lifecycle(sim):
    m = first_market(sim)
    client = _client(sim, KEY_A)
    assert client.get_tick_size(m.yes_token) == "0.01"
    assert client.get_neg_risk(m.yes_token) is False
    resp = client.create_and_post_order(
        OrderArgs(token_id=m.yes_token, price=0.40, size=10, side="BUY"), post_only=True
    )
    assert resp["success"] is True and resp["errorMsg"] == "" and resp["status"] == "live"
    order_id = resp["orderID"]
    assert order_id.startswith("0x") and len(order_id) == 66

    open_orders = client.get_open_orders(OpenOrderParams(market=m.condition_id))
    assert [o["id"] for o in open_orders] == [order_id]
    row = open_orders[0]
    assert (row["price"], row["original_size"], row["side"], row["asset_id"]) == (
        "0.4",
        "10",
        "BUY",
        m.yes_token,
    )
    assert client.get_order(order_id)["status"] == "LIVE"

    assert client.cancel_order(OrderPayload(orderID=order_id)) == {
        "canceled": [order_id],
        "not_canceled": {},
    }
    assert client.get_open_orders() == []
    again = client.cancel_order(OrderPayload(orderID=order_id))
    assert again["canceled"] == [] and order_id in again["not_canceled"]

    ids = [
        client.create_and_post_order(
            OrderArgs(token_id=m.yes_token, price=p, size=5, side="BUY"), post_only=True
        )["orderID"]
        for p in (0.30, 0.31, 0.32)
    ]
    result = client.cancel_all()
    assert sorted(result["canceled"]) == sorted(ids)
    assert client.get_open_orders() == []


def test_open_orders_paginate_by_100(sim):
    m = first_market(sim)
    client = _client(sim, KEY_A)
    from py_clob_client_v2.clob_types import PostOrdersV2Args as PostOrdersArgs

    made = []
    for batch in range(8):  # 8 x 15 = 120 orders
        args = [
            PostOrdersArgs(
                order=client.create_order(
                    OrderArgs(
                        token_id=m.yes_token,
                        price=0.10 + 0.01 * (i % 20),
                        size=5 + batch,
                        side="BUY",
                    )
                ),
                orderType=OrderType.GTC,
            )
            for i in range(15)
        ]
        made += [r["orderID"] for r in client.post_orders(args, post_only=True)]
    assert len(set(made)) == 120
    first = client.get_open_orders(only_first_page=True)
    assert len(first) == 100
    assert sorted(o["id"] for o in client.get_open_orders()) == sorted(made)


def test_heartbeats_chain_ids(sim):
    client = _client(sim, KEY_A)
    first = client.post_heartbeat("")["heartbeat_id"]
    second = client.post_heartbeat(first)["heartbeat_id"]
    assert first and second and first != second
    with pytest.raises(PolyApiException) as err:
        client.post_heartbeat(first)
    assert err.value.status_code == 400
    assert err.value.error_msg == {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": second}


def test_a_second_key_fills_the_post_only_order(sim):
    """A rests BUY YES 10 @ 0.40 (post-only); B buys NO 10 @ 0.60 = a MINT match at A's price."""
    m = first_market(sim)
    a, b = _client(sim, KEY_A), _client(sim, KEY_B)
    maker = a.create_and_post_order(
        OrderArgs(token_id=m.yes_token, price=0.40, size=10, side="BUY"), post_only=True
    )
    taker = b.create_and_post_order(OrderArgs(token_id=m.no_token, price=0.60, size=10, side="BUY"))
    assert taker["success"] is True and taker["status"] == "matched" and len(taker["tradeIDs"]) == 1
    assert taker["transactionsHashes"]  # the SDK polled /data/trades until the trade was mined
    trade_id = taker["tradeIDs"][0]

    maker_trades = a.get_trades(TradeParams(id=trade_id))
    assert len(maker_trades) == 1
    t = maker_trades[0]
    assert t["trader_side"] == "MAKER" and t["taker_order_id"] == taker["orderID"]
    assert t["maker_orders"][0]["order_id"] == maker["orderID"]
    assert t["maker_orders"][0]["matched_amount"] == "10" and t["maker_orders"][0]["price"] == "0.4"
    assert a.get_order(maker["orderID"])["status"] == "MATCHED"
    assert a.get_open_orders() == []

    a_addr = a.get_address()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if sim.exchange.trades(a.creds.api_key, trade_id=trade_id)[0]["status"] == "CONFIRMED":
            break
        time.sleep(0.02)
    ledger = sim.exchange.ledger(a_addr)
    assert ledger["positions"][m.yes_token] == "10"
    assert ledger["collateral"] == "9996"
