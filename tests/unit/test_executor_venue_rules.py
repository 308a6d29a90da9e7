"""The executor and the venue's rules (issue 13): not_canceled reasons, odd POST answers, FAK/FOK
market amounts, the order version and balance refusals."""

from prometheus_client import CollectorRegistry

from pmbot.metrics import Metrics
from pmbot.model import Cancel, CancelResult, OrderAccepted
from pmbot.trading.orders import OrderTracker
from tests.unit.test_executor import harness, order, signer  # noqa: F401  (fixtures)


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
