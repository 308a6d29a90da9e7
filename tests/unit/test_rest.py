"""ClobRest: every failure classified into pmbot.errors; bodies signed exactly as sent;
pagination; heartbeat."""

import base64
import json
import socket
from decimal import Decimal
from http.client import RemoteDisconnected

import pytest
import requests
import responses
from urllib3.exceptions import ProtocolError

from pmbot.errors import (
    FatalError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    VenueModeError,
)
from pmbot.ratelimit import RateBudget
from pmbot.venue.auth import ApiCreds, hmac_signature
from pmbot.venue.rest import ClobRest, classify_http_error

URL = "http://clob.test"
ADDRESS = "0x2222222222222222222222222222222222222222"
CREDS = ApiCreds("api-key-1", base64.urlsafe_b64encode(b"s" * 32).decode(), "passphrase-1")
NOW = 1_767_000_000


@pytest.fixture
def rest():
    client = ClobRest(URL, creds=CREDS, address=ADDRESS, clock=lambda: NOW, fast_lanes=False)
    yield client
    client.close()


def _payload(i=0):
    return {
        "order": {"salt": i, "tokenId": "1", "side": "BUY"},
        "owner": CREDS.api_key,
        "orderType": "GTC",
        "deferExec": False,
        "postOnly": True,
    }


@responses.activate
def test_post_orders_sends_compact_json_and_signs_exactly_those_bytes(rest):
    responses.post(
        URL + "/orders",
        json=[{"success": True, "errorMsg": "", "orderID": "0xa", "status": "live"}],
    )
    result = rest.post_orders([_payload(1)])
    assert result[0]["orderID"] == "0xa"
    req = responses.calls[0].request
    sent = req.body.decode()
    assert sent == json.dumps([_payload(1)], separators=(",", ":"))
    assert req.headers["POLY_SIGNATURE"] == hmac_signature(
        CREDS.secret, NOW, "POST", "/orders", sent
    )
    assert req.headers["POLY_API_KEY"] == CREDS.api_key and req.headers["POLY_ADDRESS"] == ADDRESS
    assert req.headers["POLY_TIMESTAMP"] == str(NOW)


def test_post_orders_refuses_more_than_15(rest):
    with pytest.raises(ValueError):
        rest.post_orders([_payload(i) for i in range(16)])


@responses.activate
def test_query_string_is_not_signed(rest):
    responses.get(URL + "/data/orders", json={"data": [], "next_cursor": "LTE="})
    rest.open_orders(market="0xm")
    req = responses.calls[0].request
    assert "market=0xm" in req.url
    assert req.headers["POLY_SIGNATURE"] == hmac_signature(
        CREDS.secret, NOW, "GET", "/data/orders", None
    )


@pytest.mark.parametrize(
    "status, body, headers, expected, attrs",
    [
        (
            429,
            {"error": "Too Many Requests"},
            {"Retry-After": "2"},
            TransientError,
            {"retry_after": 2.0, "status": 429},
        ),
        (425, {"error": "Too Early"}, {}, TransientError, {"status": 425}),
        (500, {"error": "order timed out"}, {}, TransientError, {"status": 500}),
        (502, "bad gateway", {}, TransientError, {"status": 502}),
        (
            503,
            {
                "error": "Trading is currently cancel-only. New orders are not accepted, "
                "but cancels are allowed."
            },
            {},
            VenueModeError,
            {"mode": "cancel_only"},
        ),
        (
            503,
            {
                "error": "post-only mode: only post-only orders and cancels are allowed",
                "code": "post_only_mode",
                "retry_after_seconds": 79,
            },
            {"Retry-After": "79"},
            VenueModeError,
            {"mode": "post_only", "retry_after": 79.0},
        ),
        (
            503,
            {"error": "Trading is currently disabled. Check polymarket.com for updates"},
            {},
            VenueModeError,
            {"mode": "disabled"},
        ),
        (400, {"error": "not enough balance / allowance"}, {}, RejectedError, {"status": 400}),
        (
            400,
            {"error": "Too many orders in payload: 16, max allowed: 15"},
            {},
            RejectedError,
            {"status": 400},
        ),
        (401, {"error": "Unauthorized/Invalid api key"}, {}, FatalError, {}),
    ],
)
@responses.activate
def test_http_errors_are_classified(rest, status, body, headers, expected, attrs):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.post(URL + "/orders", status=status, headers=headers, **kwargs)
    with pytest.raises(expected) as info:
        rest.post_orders([_payload()])
    for name, value in attrs.items():
        assert getattr(info.value, name) == value
    assert CREDS.secret not in str(info.value) and CREDS.passphrase not in str(info.value)


@responses.activate
def test_read_timeout_on_submit_is_unknown_outcome(rest):
    responses.post(URL + "/orders", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UnknownOutcomeError):
        rest.post_orders([_payload()])


@responses.activate
def test_connection_reset_after_send_on_submit_is_unknown_outcome(rest):
    reset = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed"))
    )
    responses.post(URL + "/order", body=reset)
    with pytest.raises(UnknownOutcomeError):
        rest.post_order(_payload())


@responses.activate
def test_read_timeout_on_idempotent_call_is_transient(rest):
    responses.delete(URL + "/orders", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransientError):
        rest.cancel_orders(["0x1"])


@responses.activate
def test_connect_timeout_on_submit_is_transient(rest):
    responses.post(URL + "/orders", body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(TransientError):
        rest.post_orders([_payload()])


def test_connection_refused_on_submit_is_transient_not_unknown():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ClobRest(f"http://127.0.0.1:{port}", creds=CREDS, address=ADDRESS, timeout=(0.5, 0.5))
    try:
        with pytest.raises(TransientError):
            client.post_orders([_payload()])
    finally:
        client.close()


@responses.activate
def test_open_orders_follow_cursor_pages(rest):
    pages = {
        "MA==": ({"id": "a"}, "MTAw"),
        "MTAw": ({"id": "b"}, "MjAw"),
        "MjAw": ({"id": "c"}, "LTE="),
    }

    def callback(request):
        cursor = request.params["next_cursor"]
        row, nxt = pages[cursor]
        return 200, {}, json.dumps({"data": [row], "next_cursor": nxt, "limit": 1, "count": 1})

    responses.add_callback(responses.GET, URL + "/data/orders", callback=callback)
    assert [o["id"] for o in rest.open_orders()] == ["a", "b", "c"]
    assert len(responses.calls) == 3


@responses.activate
def test_list_markets_follows_pages(rest):
    responses.get(
        URL + "/markets",
        json={"data": [{"condition_id": "1"}], "next_cursor": "MQ=="},
        match=[responses.matchers.query_param_matcher({"next_cursor": "MA=="})],
    )
    responses.get(
        URL + "/markets",
        json={"data": [{"condition_id": "2"}], "next_cursor": "LTE="},
        match=[responses.matchers.query_param_matcher({"next_cursor": "MQ=="})],
    )
    assert [m["condition_id"] for m in rest.list_markets()] == ["1", "2"]
    assert "POLY_SIGNATURE" not in responses.calls[0].request.headers


@responses.activate
def test_heartbeat_returns_new_id(rest):
    responses.post(URL + "/v1/heartbeats", json={"heartbeat_id": "hb-2"})
    assert rest.heartbeat("hb-1") == "hb-2"
    assert json.loads(responses.calls[0].request.body) == {"heartbeat_id": "hb-1"}


@responses.activate
def test_heartbeat_with_stale_id_resends_with_the_expected_id(rest):
    responses.post(
        URL + "/v1/heartbeats",
        status=400,
        json={"error_msg": "Invalid Heartbeat ID", "heartbeat_id": "hb-9"},
    )
    responses.post(URL + "/v1/heartbeats", json={"heartbeat_id": "hb-10"})
    assert rest.heartbeat("hb-old") == "hb-10"
    assert [json.loads(c.request.body)["heartbeat_id"] for c in responses.calls] == [
        "hb-old",
        "hb-9",
    ]


@responses.activate
def test_cancel_orders_returns_canceled_and_not_canceled(rest):
    responses.delete(
        URL + "/orders",
        json={"canceled": ["0x1"], "not_canceled": {"0x2": "matched orders can't be canceled"}},
    )
    result = rest.cancel_orders(["0x1", "0x2"])
    assert result == {
        "canceled": ["0x1"],
        "not_canceled": {"0x2": "matched orders can't be canceled"},
        "gone": [],  # only "already canceled or matched" means gone (issue 13)
        "still_live": [["0x2", "matched orders can't be canceled"]],
        "reason_kinds": {"other": 1},
    }
    assert responses.calls[0].request.body.decode() == '["0x1","0x2"]'


@responses.activate
def test_get_order_404_is_none(rest):
    responses.get(URL + "/data/order/0xdead", status=404, json={"error": "not found"})
    assert rest.get_order("0xdead") is None


@responses.activate
def test_public_reads_parse_exact_values(rest):
    responses.get(URL + "/tick-size", json={"minimum_tick_size": 0.001})
    responses.get(URL + "/neg-risk", json={"neg_risk": True})
    responses.get(URL + "/time", body="1767000000")
    assert rest.tick_size("t") == Decimal("0.001")
    assert rest.neg_risk("t") is True
    assert rest.get_time() == 1767000000


@responses.activate
def test_rate_limit_headers_are_read_and_clamp_the_budget():
    clock = [100.0]
    budget = RateBudget(clock=lambda: clock[0], wall_clock=lambda: NOW)
    client = ClobRest(
        URL, creds=CREDS, address=ADDRESS, clock=lambda: NOW, rate_budget=budget, fast_lanes=False
    )
    responses.post(
        URL + "/orders",
        json=[],
        headers={
            "Poly-RateLimit-Remaining": "3",
            "Poly-RateLimit-Reset": str(NOW + 5),
            "Poly-RateLimit-Tier": "standard",
        },
    )
    client.post_orders([_payload()])
    assert client.last_rate_limit["remaining"] == 3.0
    assert client.last_rate_limit["tier"] == "standard"
    assert budget.available("orders") == 3.0
    client.close()


def test_classify_unknown_5xx_is_transient():
    response = requests.Response()
    response.status_code = 504
    response._content = b""
    assert isinstance(classify_http_error(response), TransientError)
