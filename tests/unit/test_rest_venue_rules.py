"""ClobRest and the venue's rules (issue 13): cancel answers read by reason, the order version,
balance and allowance; one pooled session per executor lane (issue 20)."""

import base64

import pytest
import requests
import responses

from pmbot.errors import RejectedError, TransientError
from pmbot.venue.auth import ApiCreds
from pmbot.venue.rest import ClobRest

URL = "http://clob.test"
ADDRESS = "0x2222222222222222222222222222222222222222"
CREDS = ApiCreds("api-key-1", base64.urlsafe_b64encode(b"s" * 32).decode(), "passphrase-1")


@pytest.fixture
def rest():
    client = ClobRest(
        URL, creds=CREDS, address=ADDRESS, clock=lambda: 1_767_000_000, fast_lanes=False
    )
    yield client
    client.close()


@responses.activate
def test_only_already_canceled_or_matched_or_not_found_means_gone(rest):
    responses.delete(
        URL + "/orders",
        json={
            "canceled": ["0x1"],
            "not_canceled": {
                "0x2": "order can't be found - already canceled or matched",
                "0x3": "order is in the matching delay and cannot be canceled yet",
                "0x4": "order not found",
            },
        },
    )
    result = rest.cancel_orders(["0x1", "0x2", "0x3", "0x4"])
    assert result["canceled"] == ["0x1"] and result["gone"] == ["0x2", "0x4"]  # no such order
    assert [pair[0] for pair in result["still_live"]] == ["0x3"]
    assert result["reason_kinds"] == {"gone": 1, "matching_delay": 1, "not_found": 1}


@responses.activate
def test_cancel_all_is_read_by_the_same_rule(rest):
    responses.delete(
        URL + "/cancel-all",
        json={"canceled": [], "not_canceled": {"0x9": "matching delay"}},
    )
    assert rest.cancel_all()["still_live"] == [["0x9", "matching delay"]]


@responses.activate
def test_a_malformed_cancel_answer_is_transient_so_the_idempotent_cancel_is_retried(rest):
    responses.delete(URL + "/orders", json={"canceled": "0x1"})
    with pytest.raises(TransientError, match="canceled is not a list"):
        rest.cancel_orders(["0x1"])


@responses.activate
def test_order_version_is_read_and_defaults_to_2(rest):
    responses.get(URL + "/version", json={"version": 3})
    responses.get(URL + "/version", json={})
    assert rest.order_version() == 3
    assert rest.order_version() == 2


@responses.activate
def test_balance_allowance_is_read_in_units_and_updated_with_the_same_parameters(rest):
    responses.get(
        URL + "/balance-allowance",
        json={"balance": "12500000", "allowances": {"0xex": "5000000", "0xnr": "9000000"}},
    )
    responses.get(URL + "/balance-allowance/update", json={})
    known = rest.balance_allowance(signature_type=1)
    assert str(known.balance) == "12.5" and str(known.free) == "5"
    rest.update_balance_allowance(signature_type=1, asset_type="CONDITIONAL", token_id="77")
    first, second = (c.request for c in responses.calls)
    assert "asset_type=COLLATERAL" in first.url and "signature_type=1" in first.url
    assert "POLY_SIGNATURE" in first.headers
    assert "asset_type=CONDITIONAL" in second.url and "token_id=77" in second.url


def test_cancels_and_posts_have_their_own_pooled_sessions(rest):
    sessions = rest._sessions
    assert sessions["cancel"] is not sessions["create"]
    assert sessions["default"] not in (sessions["cancel"], sessions["create"])
    assert not sessions["cancel"].trust_env  # no per-request proxy/netrc lookups on the hot path


@responses.activate
def test_when_sent_runs_once_even_if_the_request_never_left(rest):
    calls = []
    responses.delete(URL + "/orders", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(TransientError), rest.when_sent(lambda: calls.append(1)):
        rest.cancel_orders(["0x1"])
    assert calls == [1]


def _payload(order_type):
    return {"order": {"salt": 1}, "owner": "k", "orderType": order_type, "postOnly": False}


@responses.activate
def test_post_results_are_read_by_the_venue_rules(rest):
    responses.post(
        URL + "/orders",
        json=[
            {"success": True, "orderID": "0xa"},  # no status: live
            {"success": True, "orderID": "0xb", "status": "LIVE"},  # FAK live: unsettled
            {"success": False, "errorMsg": "not enough balance / allowance"},
            "garbage",
        ],
    )
    a, b, c, d = rest.post_orders([_payload(t) for t in ("GTC", "FAK", "GTC", "GTC")])
    assert a["success"] and a["status"] == "live" and a["odd"] and a["settled"]
    assert b["success"] and b["status"] == "live" and not b["settled"]
    assert not c["success"] and c["errorMsg"] == "not enough balance / allowance"
    assert d is None  # unreadable: an unknown outcome for the executor, never a rejection


@responses.activate
def test_order_version_mismatch_is_flagged_on_the_rejection(rest):
    responses.post(URL + "/orders", status=400, json={"error": "order_version_mismatch"})
    with pytest.raises(RejectedError) as caught:
        rest.post_orders([_payload("GTC")])
    assert caught.value.version_mismatch is True
