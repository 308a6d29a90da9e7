"""The executor and the venue's rules (issue 13): not_canceled reasons, odd POST answers, FAK/FOK
market amounts, the order version and balance refusals."""

from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from pmbot.errors import FatalError, RejectedError, TransientError
from pmbot.metrics import Metrics
from pmbot.model import (
    Cancel,
    CancelResult,
    Create,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    OrderType,
    Side,
)
from pmbot.trading.orders import OrderTracker
from pmbot.venue.market_orders import market_amounts_error
from pmbot.venue.wire_clob import BalanceAllowance
from tests.unit.test_executor import TOKEN, harness, order, signer  # noqa: F401  (fixtures)


def test_only_gone_reasons_are_forgotten_other_not_canceled_ids_stay_live(harness):  # noqa: F811
    metrics = Metrics(CollectorRegistry(), process_collector=False)
    h = harness(metrics=metrics)

    def cancel(ids):
        h.rest.fire_sent()
        return {  # the REST client's shape (pmbot.venue.rest.cancel_answer)
            "canceled": ["0xa"],
            "not_canceled": {"0xb": "already canceled or matched", "0xc": "matching delay"},
            "gone": ["0xb"],
            "still_live": [["0xc", "matching delay"]],
            "reason_kinds": {"gone": 1, "matching_delay": 1},
        }

    h.rest.cancel_orders = cancel
    [result] = h.run(Cancel(("0xa", "0xb", "0xc")), expect=1)
    assert result == CancelResult(
        canceled=("0xa",),
        not_canceled=(("0xb", "already canceled or matched"),),
        failed=("0xc",),
    )
    assert metrics.value("pmbot_cancel_not_canceled_total", {"reason": "matching_delay"}) == 1
    tracker = OrderTracker()
    for i, oid in enumerate(("0xa", "0xb", "0xc")):
        tracker.on_sent(order(i), 0.0)
        tracker.on_accepted(OrderAccepted(f"c{i}", oid, "live", order(i)), 0.0)
    tracker.on_cancel_sent(["0xa", "0xb", "0xc"], 1.0)
    tracker.on_cancel_result(result, 2.0)
    assert tracker.live_ids() == {"0xc"}  # kept live: the strategy cancels it again


def test_an_unclassified_not_canceled_id_is_treated_as_still_live(harness):  # noqa: F811
    h = harness()

    def cancel(ids):
        h.rest.fire_sent()
        return {"canceled": [], "not_canceled": {"0xd": "something new"}}

    h.rest.cancel_orders = cancel
    [result] = h.run(Cancel(("0xd",)), expect=1)
    assert result.failed == ("0xd",) and result.not_canceled == ()


def _fak(i, side=Side.BUY, tag="arb", price="0.47", size="3.33", tick="0.001"):
    return NewOrder(
        client_id=f"f{i}",
        market="0xm",
        token_id=TOKEN,
        side=side,
        price=Decimal(price),
        size=Decimal(size),
        order_type=OrderType.FAK,
        post_only=False,
        tick=Decimal(tick),
        tag=tag,
    )


def test_fak_orders_are_signed_with_market_amounts_that_pass_the_venue_rule(harness):  # noqa: F811
    h = harness()
    reports = h.run(Create((_fak(1), _fak(2, side=Side.SELL, tag="unwind"))), expect=2)
    assert all(isinstance(r, OrderAccepted) for r in reports)
    buy, sell = (p["order"] for p in h.rest.payloads)
    # BUY 3.33 shares @ 0.47 on a 0.001 tick, an arbitrage leg: spend rounded UP to the cent
    assert buy["makerAmount"] == "1570000" and int(buy["takerAmount"]) >= 3_330_000
    assert sell["makerAmount"] == "3330000" and sell["takerAmount"] == "1565100"
    for o in (buy, sell):
        side = Side.BUY if o["side"] == "BUY" else Side.SELL
        assert market_amounts_error(side, int(o["makerAmount"]), int(o["takerAmount"])) is None


def test_a_success_with_an_order_id_but_no_or_odd_status_is_live(harness):  # noqa: F811
    h = harness()

    def odd(payloads):
        return [
            {"success": True, "orderID": payloads[0]["order"]["_id"]},
            {"success": True, "orderID": payloads[1]["order"]["_id"], "status": "queued"},
        ]

    h.rest.post_script = [odd]
    reports = h.run(Create((order(1), order(2, price="0.49"))), expect=2)
    assert [(type(r).__name__, r.status) for r in reports] == [("OrderAccepted", "live")] * 2


def test_a_fak_answered_delayed_is_reported_so_the_tracker_keeps_it(harness):  # noqa: F811
    h = harness()
    h.rest.post_script = [
        lambda p: [{"success": True, "orderID": p[0]["order"]["_id"], "status": "delayed"}]
    ]
    [report] = h.run(Create((_fak(1),)), expect=1)
    assert isinstance(report, OrderAccepted) and report.status == "delayed"
    tracker = OrderTracker()
    tracker.on_sent(report.order, 0.0)
    tracker.on_accepted(report, 0.0)
    assert tracker.live_ids() == {report.order_id}  # until the user channel or a poll settles it


def _venue_reads(h, versions, balance=None):
    h.rest.versions = list(versions)
    h.rest.order_version = lambda: h.rest.versions.pop(0)
    h.rest.balance_calls = []
    h.rest.update_balance_allowance = lambda *a: h.rest.balance_calls.append("update")
    h.rest.balance_allowance = lambda *a: h.rest.balance_calls.append("read") or balance
    h.ex.creates.signing.rest = h.rest


def test_order_version_mismatch_rereads_the_version_and_resigns_once(harness):  # noqa: F811
    h = harness()
    _venue_reads(h, [2, 2])
    mismatch = RejectedError("HTTP 400: order_version_mismatch", status=400)
    mismatch.version_mismatch = True
    h.rest.post_script = [mismatch, None]
    [report] = h.run(Create((order(1),)), expect=1)
    assert isinstance(report, OrderAccepted)
    first, second = (c[1] for c in h.rest.calls if c[0] == "post_orders")
    assert first != second  # signed again (new salt), posted once more
    assert h.ex.alive()


def test_a_version_the_bot_cannot_sign_stops_creates_with_a_clear_message(harness):  # noqa: F811
    h = harness()
    _venue_reads(h, [2, 3])
    mismatch = RejectedError("HTTP 400: order_version_mismatch", status=400)
    mismatch.version_mismatch = True
    h.rest.post_script = [mismatch]
    [report] = h.run(Create((order(1),)), expect=1)
    assert isinstance(report, OrderRejected) and "order version 3" in report.reason
    assert not h.ex.alive()
    [later] = h.run(Create((order(2),)), expect=1)
    assert isinstance(later, OrderRejected) and "order version 3" in later.reason
    assert len([c for c in h.rest.calls if c[0] == "post_orders"]) == 1


def test_start_refuses_a_version_the_bot_cannot_sign(harness):  # noqa: F811
    h = harness()
    _venue_reads(h, [3])
    with pytest.raises(FatalError, match="refusing to trade"):
        h.ex.start()


def test_a_balance_refusal_is_reported_with_the_balance_read_again(harness):  # noqa: F811
    h = harness()
    known = BalanceAllowance(Decimal("3.5"), (("0xex", Decimal("100")),))
    _venue_reads(h, [2], balance=known)
    refused = {"success": False, "errorMsg": "not enough balance / allowance", "orderID": ""}
    h.rest.post_script = [lambda p: [refused]]
    [report] = h.run(Create((order(1),)), expect=1)
    assert isinstance(report, OrderRejected)
    assert report.reason == (
        "not enough balance/allowance: need 5.00 pUSD, balance 3.5, allowance 100, free 3.5"
    )
    # the venue's cache may predate a deposit or approval: it is told to re-read before the read
    assert h.rest.balance_calls == ["update", "read"]


def test_start_retries_a_transient_failure_to_read_the_version(harness):  # noqa: F811
    h = harness()
    answers = [TransientError("HTTP 503: busy", status=503), 2]

    def version():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    _venue_reads(h, [])
    h.rest.order_version = version
    h.ex.start()
    h.started = True
    assert not answers and h.ex.alive()
