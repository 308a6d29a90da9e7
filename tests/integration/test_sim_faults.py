"""Fault knobs over HTTP (POST /_sim/control) and from Python, seen from a real client."""

import json
import time

import pytest
import requests
import websocket
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgs, OrderType
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2

from tests.integration.sim_support import (
    KEY_A,
    KEY_B,
    clob_client,
    first_market,
    start_sim,
    wait_for,
)
from tests.integration.test_sim_rejections import _send


@pytest.fixture
def sim():
    s = start_sim(heartbeat_timeout_secs=0.4)
    yield s
    s.stop()


@pytest.fixture
def market(sim):
    m = first_market(sim)
    sim.faults.set_book(m.yes_token, bids=[("0.40", "100")], asks=[("0.45", "100")])
    return m


def _control(sim, knobs):
    r = requests.post(sim.urls["clob_url"] + "/_sim/control", json=knobs, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def _body(client, market, price=0.30, size=10, post_only=False):
    signed = client.builder.build_order(
        OrderArgs(token_id=market.yes_token, price=price, size=size, side="BUY"),
        CreateOrderOptions(tick_size="0.01", neg_risk=False),
        version=2,
    )
    return order_to_json_v2(signed, client.creds.api_key, OrderType.GTC, post_only)


def test_429_with_retry_after(sim, market):
    client = clob_client(sim, KEY_A)
    _control(sim, {"http_429": {"count": 1, "retry_after_secs": 2}})
    r = _send(sim, client, "POST", "/order", _body(client, market))
    assert (
        r.status_code == 429
        and r.json() == {"error": "Too Many Requests"}
        and r.headers["Retry-After"] == "2"
    )
    assert _send(sim, client, "POST", "/order", _body(client, market)).status_code == 200


def test_restart_425_then_post_only_mode(sim, market):
    client = clob_client(sim, KEY_A)
    _control(sim, {"restart": {"too_early_secs": 0.3, "post_only_secs": 30}})
    r = _send(sim, client, "POST", "/order", _body(client, market, post_only=True))
    assert r.status_code == 425 and "Retry-After" in r.headers
    time.sleep(0.35)
    r = _send(sim, client, "POST", "/order", _body(client, market, price=0.31))
    assert (
        r.status_code == 503
        and r.json()["code"] == "post_only_mode"
        and int(r.headers["Retry-After"]) > 0
    )
    assert r.json()["error"] == "post-only mode: only post-only orders and cancels are allowed"
    ok = _send(sim, client, "POST", "/order", _body(client, market, price=0.32, post_only=True))
    assert ok.status_code == 200 and ok.json()["status"] == "live"
    assert client.cancel_all()["canceled"] == [ok.json()["orderID"]]


def test_cancel_only_refuses_orders_but_cancels(sim, market):
    client = clob_client(sim, KEY_A)
    placed = client.post_order(
        client.create_order(OrderArgs(token_id=market.yes_token, price=0.3, size=5, side="BUY"))
    )
    sim.faults.cancel_only(True)
    with pytest.raises(PolyApiException) as err:
        client.create_and_post_order(
            OrderArgs(token_id=market.yes_token, price=0.3, size=6, side="BUY")
        )
    assert err.value.status_code == 503 and "cancel-only" in err.value.error_msg["error"]
    assert client.cancel_all()["canceled"] == [placed["orderID"]]


def test_order_timed_out_is_500_and_not_placed(sim, market):
    client = clob_client(sim, KEY_A)
    _control(sim, {"order_timeout": {"count": 1}})
    r = _send(sim, client, "POST", "/order", _body(client, market))
    assert (r.status_code, r.json()) == (500, {"error": "order timed out"})
    assert client.get_open_orders() == []


def test_process_then_hang_places_the_order(sim, market):
    client = clob_client(sim, KEY_A)
    sim.faults.hang(1, 1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _send_with_timeout(sim, client, _body(client, market), timeout=0.3)
    assert len(client.get_open_orders()) == 1  # the unknown-outcome case: it IS live


def _send_with_timeout(sim, client, body, timeout):
    from py_clob_client_v2.clob_types import RequestArgs
    from py_clob_client_v2.headers.headers import create_level_2_headers

    serialized = json.dumps(body, separators=(",", ":"))
    headers = create_level_2_headers(
        client.signer, client.creds, RequestArgs("POST", "/order", body, serialized)
    )
    return requests.post(
        sim.urls["clob_url"] + "/order", data=serialized, headers=headers, timeout=timeout
    )


def test_slow_responses_and_random_errors(sim, market):
    client = clob_client(sim, KEY_A)
    _control(sim, {"delay_ms": 150})
    started = time.monotonic()
    assert requests.get(sim.urls["clob_url"] + "/time", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.15
    _control(sim, {"delay_ms": 0, "error_probability": {"p_500": 1.0}})
    assert _send(sim, client, "POST", "/order", _body(client, market)).status_code == 500
    _control(sim, {"error_probability": {"p_429": 1.0}})
    assert _send(sim, client, "POST", "/order", _body(client, market)).status_code == 429
    state = _control(sim, {"reset": True})
    assert state["p_429"] == 0 and state["delay_ms"] == 0
    r = requests.post(sim.urls["clob_url"] + "/_sim/control", json={"nonsense": 1}, timeout=5)
    assert r.status_code == 400 and "nonsense" in r.json()["error"]


def test_ws_drop_and_silent_feed(sim, market):
    ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
    ws.send(json.dumps({"assets_ids": [market.yes_token], "type": "market"}))
    json.loads(ws.recv())
    _control(sim, {"silent_feed": True})
    client = clob_client(sim, KEY_A)
    client.create_and_post_order(
        OrderArgs(token_id=market.yes_token, price=0.41, size=5, side="BUY"), post_only=True
    )
    ws.send("PING")
    assert ws.recv() == "PONG"  # nothing but the PONG: the price_change was swallowed
    _control(sim, {"silent_feed": False})
    assert _control(sim, {"ws_drop": "market"}) is not None
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        if not ws.recv():
            raise websocket.WebSocketConnectionClosedException("closed")
    ws.close()


def test_tick_size_change_knob(sim, market):
    ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
    try:
        ws.send(json.dumps({"assets_ids": [market.yes_token, market.no_token], "type": "market"}))
        json.loads(ws.recv())
        _control(sim, {"tick_size": {"token_id": market.yes_token, "tick": "0.001"}})
        msg = wait_for(
            ws, lambda m: isinstance(m, dict) and m.get("event_type") == "tick_size_change"
        )
        assert (msg["old_tick_size"], msg["new_tick_size"]) == ("0.01", "0.001")
        r = requests.get(
            sim.urls["clob_url"] + "/tick-size", params={"token_id": market.yes_token}, timeout=5
        )
        assert r.json() == {"minimum_tick_size": 0.001}
    finally:
        ws.close()


def test_failing_trades_and_the_ledger_endpoint(sim, market):
    a, b = clob_client(sim, KEY_A), clob_client(sim, KEY_B)
    _control(sim, {"trade_fail_share": 1})
    before = requests.get(
        sim.urls["clob_url"] + "/_sim/ledger", params={"user": a.get_address()}, timeout=5
    ).json()
    a.create_and_post_order(
        OrderArgs(token_id=market.yes_token, price=0.41, size=10, side="BUY"), post_only=True
    )
    b.create_and_post_order(OrderArgs(token_id=market.no_token, price=0.59, size=10, side="BUY"))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        trades = a.get_trades()
        if trades and trades[0]["status"] == "FAILED":
            break
        time.sleep(0.05)
    assert trades[0]["status"] == "FAILED" and trades[0]["trader_side"] == "MAKER"
    after = requests.get(
        sim.urls["clob_url"] + "/_sim/ledger", params={"user": a.get_address()}, timeout=5
    ).json()
    assert after["collateral"] == before["collateral"]  # reversed
    assert after["positions"].get(market.yes_token, "0") in ("0", 0)


def test_heartbeat_kill_switch_cancels_orders(sim, market):
    client = clob_client(sim, KEY_A)
    idle = clob_client(sim, KEY_B)
    kept = idle.create_and_post_order(
        OrderArgs(token_id=market.yes_token, price=0.2, size=5, side="BUY"), post_only=True
    )  # never heartbeats: opt-in, so never killed
    placed = client.create_and_post_order(
        OrderArgs(token_id=market.yes_token, price=0.3, size=5, side="BUY"), post_only=True
    )
    hb = client.post_heartbeat("")["heartbeat_id"]
    time.sleep(0.2)
    hb = client.post_heartbeat(hb)["heartbeat_id"]  # within the 0.4 s window: still alive
    time.sleep(0.2)
    assert [o["id"] for o in client.get_open_orders()] == [placed["orderID"]]
    time.sleep(0.6)  # no heartbeat for > 0.4 s
    assert client.get_open_orders() == []
    assert client.get_order(placed["orderID"])["status"] == "CANCELED"
    assert [o["id"] for o in idle.get_open_orders()] == [kept["orderID"]]
    with pytest.raises(PolyApiException):
        client.post_heartbeat(hb)  # the session ended with the kill
    assert client.post_heartbeat("")["heartbeat_id"]
