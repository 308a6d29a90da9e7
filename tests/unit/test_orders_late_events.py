"""A user-channel event for an order the tracker does not hold must not take over a pending create
that merely has the same terms (token, side, price, size).

Found by the whole-bot fault soak (tests/integration/test_bot_under_faults.py): the strategy
re-quoted at a price it had just left, so the new create was pending while the CANCELLATION of the
old order (same terms, already finished by the executor's CancelResult) was still on its way over
the user channel. The event "adopted" the pending create and finished it at once; the strategy saw
the quote missing and sent it again, and both creates rested on the exchange.
"""

from decimal import Decimal

from pmbot.model import CancelResult, NewOrder, OrderAccepted, OrderEvent, OrderEventKind, Side
from pmbot.trading.orders import OrderTracker

D = Decimal


def order(cid):
    return NewOrder(
        client_id=cid, market="m1", token_id="t1", side=Side.BUY, price=D("0.45"), size=D(10)
    )


def event(oid, kind):
    return OrderEvent(
        order_id=oid,
        market="m1",
        token_id="t1",
        side=Side.BUY,
        price=D("0.45"),
        original_size=D(10),
        size_matched=D(0),
        kind=kind,
    )


def pending_ids(t: OrderTracker) -> list[str]:
    return [x.order.client_id for x in t.all() if x.state == "pending"]


def test_late_cancellation_of_a_finished_order_leaves_a_same_terms_pending_create_alone():
    t = OrderTracker()
    old = order("c1")
    t.on_sent(old, 0)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xold", status="live", order=old), 1)
    t.on_cancel_sent(["0xold"], 2)
    t.on_cancel_result(CancelResult(canceled=("0xold",)), 3)
    t.on_sent(order("c2"), 4)  # the same quote again, in flight

    t.on_order_event(event("0xold", OrderEventKind.CANCELLATION), 5)

    assert pending_ids(t) == ["c2"]
    assert len(t) == 1


def test_cancellation_of_an_order_never_tracked_does_not_adopt_a_pending_create():
    t = OrderTracker()
    t.on_sent(order("c1"), 0)

    t.on_order_event(event("0xorphan", OrderEventKind.CANCELLATION), 1)

    assert pending_ids(t) == ["c1"]


def test_a_placement_that_beats_the_report_still_adopts_its_pending_create():
    t = OrderTracker()
    o = order("c1")
    t.on_sent(o, 0)

    t.on_order_event(event("0xnew", OrderEventKind.PLACEMENT), 1)
    assert t.live_ids() == {"0xnew"} and pending_ids(t) == []

    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xnew", status="live", order=o), 2)
    assert t.live_ids() == {"0xnew"} and len(t) == 1


def test_a_placed_order_cancelled_before_its_report_does_not_come_back_live():
    t = OrderTracker()
    o = order("c1")
    t.on_sent(o, 0)
    t.on_order_event(
        event("0xgone", OrderEventKind.CANCELLATION), 1
    )  # e.g. the venue cancelled it at once

    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xgone", status="live", order=o), 2)

    assert len(t) == 0


def test_an_unknown_outcome_report_after_the_placement_event_keeps_what_the_user_channel_said():
    """The hung request's report comes after the user channel showed the order placed (and the
    strategy already sent its cancel): it must not turn the order back into 'unknown', which would
    count an order being cancelled as a live quote and cancel it a second time."""
    from pmbot.model import OrderUnknown

    t = OrderTracker()
    o = order("c1")
    t.on_sent(o, 0)
    t.on_order_event(event("0xhung", OrderEventKind.PLACEMENT), 1)
    t.on_cancel_sent(["0xhung"], 2)

    t.on_unknown(OrderUnknown(client_id="c1", order_id="0xhung", order=o, reason="read timeout"), 3)

    assert t.get("0xhung").state == "cancelling"
    assert len(t) == 1
