"""The order tracker never loses an order: pending, unknown outcome, cancel, reconcile."""

from decimal import Decimal

from pmbot.model import (
    CancelResult,
    NewOrder,
    OpenOrder,
    OrderAccepted,
    OrderEvent,
    OrderEventKind,
    OrderRejected,
    OrderType,
    OrderUnknown,
    Side,
)
from pmbot.trading.orders import OrderTracker

D = Decimal


def order(cid="c1", price="0.45", size="10", side=Side.BUY, order_type=OrderType.GTC):
    return NewOrder(
        client_id=cid,
        market="m1",
        token_id="t1",
        side=side,
        price=D(price),
        size=D(size),
        order_type=order_type,
    )


def event(oid, kind, matched="0", price="0.45", size="10"):
    return OrderEvent(
        order_id=oid,
        market="m1",
        token_id="t1",
        side=Side.BUY,
        price=D(price),
        original_size=D(size),
        size_matched=D(matched),
        kind=kind,
    )


def test_pending_then_accepted_then_filled_in_two_updates():
    t = OrderTracker()
    o = order()
    t.on_sent(o, 0)
    assert len(t) == 1 and t.all()[0].state == "pending"
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="live", order=o), 1)
    assert t.live_ids() == {"0xa"}
    t.on_order_event(event("0xa", OrderEventKind.UPDATE, "4"), 2)
    assert t.get("0xa").remaining == D(6)
    t.on_order_event(event("0xa", OrderEventKind.UPDATE, "10"), 3)
    assert len(t) == 0


def test_rejected_create_is_forgotten():
    t = OrderTracker()
    o = order()
    t.on_sent(o, 0)
    t.on_rejected(OrderRejected(client_id="c1", order=o, reason="tick"))
    assert len(t) == 0


def test_unknown_outcome_counts_as_live_until_reconcile_says_otherwise():
    t = OrderTracker(grace_secs=5)
    o = order()
    t.on_sent(o, 0)
    t.on_unknown(OrderUnknown(client_id="c1", order_id="0xa", order=o, reason="timeout"), 1)
    assert t.get("0xa").state == "unknown"
    diff = t.reconcile([], now=3, taken_at=3)  # inside the grace period: not evidence
    assert t.get("0xa") is not None and diff.dropped == ()
    diff = t.reconcile([], now=10, taken_at=10)
    assert [c for _, c in diff.dropped] == ["unknown_outcome_not_placed"]
    assert len(t) == 0


def test_unknown_outcome_confirmed_by_the_venue_becomes_live():
    t = OrderTracker()
    o = order()
    t.on_unknown(OrderUnknown(client_id="c1", order_id="0xa", order=o), 0)
    venue = OpenOrder(
        order_id="0xa",
        market="m1",
        token_id="t1",
        side=Side.BUY,
        price=D("0.45"),
        original_size=D(10),
        size_matched=D(2),
    )
    diff = t.reconcile([venue], now=10, taken_at=10)
    assert diff.orphans == () and diff.dropped == ()
    assert t.get("0xa").state == "live" and t.get("0xa").size_matched == D(2)


def test_venue_orders_unknown_to_the_bot_are_orphans_but_in_flight_creates_are_not():
    t = OrderTracker()
    t.on_sent(order("c9", price="0.40"), 0)
    in_flight = OpenOrder(
        order_id="0xb",
        market="m1",
        token_id="t1",
        side=Side.BUY,
        price=D("0.40"),
        original_size=D(10),
        size_matched=D(0),
    )
    stranger = OpenOrder(
        order_id="0xc",
        market="m1",
        token_id="t1",
        side=Side.SELL,
        price=D("0.60"),
        original_size=D(5),
        size_matched=D(0),
    )
    diff = t.reconcile([in_flight, stranger], now=1, taken_at=1)
    assert [o.order_id for o in diff.orphans] == ["0xc"]


def test_cancel_result_removes_cancelled_and_not_cancelable_but_keeps_failed():
    t = OrderTracker()
    for i, oid in enumerate(("0xa", "0xb", "0xc")):
        o = order(f"c{i}")
        t.on_sent(o, 0)
        t.on_accepted(OrderAccepted(client_id=f"c{i}", order_id=oid, status="live", order=o), 0)
    t.on_cancel_sent(["0xa", "0xb", "0xc"], 1)
    cancelled = t.on_cancel_result(
        CancelResult(
            canceled=("0xa",),
            not_canceled=(("0xb", "matched orders can't be canceled"),),
            failed=("0xc",),
        ),
        2,
    )
    assert [r.order_id for r in cancelled] == ["0xa"]  # 0xb left the book, but not by a cancel
    assert t.get("0xa") is None and t.get("0xb") is None
    assert t.get("0xc").state == "live"


def test_late_user_event_for_a_cancelled_order_does_not_resurrect_it():
    t = OrderTracker()
    o = order()
    t.on_sent(o, 0)
    t.on_order_event(event("0xa", OrderEventKind.PLACEMENT), 0.5)  # user channel beats the executor
    assert t.get("0xa") is not None and len(t) == 1
    t.on_order_event(event("0xa", OrderEventKind.CANCELLATION), 1)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="live", order=o), 2)
    assert len(t) == 0


def test_an_acknowledgement_after_the_user_event_keeps_what_happened_since():
    # The user channel showed the order first; the strategy then cancelled it and part of it
    # filled. The executor's late acknowledgement must not make it live and unfilled again (the
    # strategy would cancel it a second time, and its inventory view would be wrong).
    t = OrderTracker()
    o = order()
    t.on_sent(o, 0)
    t.on_order_event(event("0xa", OrderEventKind.PLACEMENT), 0.5)  # user channel beats the executor
    t.on_order_event(event("0xa", OrderEventKind.UPDATE, "4"), 0.6)
    t.on_cancel_sent(["0xa"], 0.7)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="live", order=o), 1)
    [tracked] = t.all()
    assert (tracked.order_id, tracked.state, tracked.size_matched) == ("0xa", "cancelling", D(4))


def test_immediate_orders_that_matched_never_rest():
    t = OrderTracker()
    o = order(order_type=OrderType.FAK)
    t.on_sent(o, 0)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="matched", order=o), 1)
    assert len(t) == 0


def test_crossing_is_judged_on_the_unified_yes_book():
    from pmbot.model import MarketInfo
    from pmbot.trading.engine import crosses

    m = MarketInfo(condition_id="m1", yes_token="t1", no_token="t2")

    def o(token, side, price):
        return NewOrder(
            client_id="x", market="m1", token_id=token, side=side, price=D(price), size=D(10)
        )

    assert crosses(o("t1", Side.BUY, "0.60"), o("t1", Side.SELL, "0.59"), m)  # bid above own ask
    assert not crosses(o("t1", Side.BUY, "0.58"), o("t1", Side.SELL, "0.59"), m)
    assert crosses(
        o("t1", Side.BUY, "0.60"), o("t2", Side.BUY, "0.41"), m
    )  # BUY NO 0.41 = YES ask 0.59
    assert not crosses(o("t1", Side.BUY, "0.45"), o("t2", Side.BUY, "0.41"), m)
    assert crosses(
        o("t2", Side.BUY, "0.56"), o("t1", Side.BUY, "0.45"), m
    )  # YES ask 0.44 <= bid 0.45
    assert not crosses(
        o("t1", Side.BUY, "0.45"), o("t1", Side.BUY, "0.44"), m
    )  # two bids never cross
