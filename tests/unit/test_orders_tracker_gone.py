"""The tracker remembers the orders it just finished for a moment: the market feed's book may still
show them (the REST answer / user channel and the market channel are not ordered)."""

from decimal import Decimal as D

from pmbot.model import CancelResult, NewOrder, OrderAccepted, Side
from pmbot.trading.orders import JUST_GONE_SECS, OrderTracker


def test_a_cancelled_order_is_just_gone_for_a_moment():
    t = OrderTracker()
    o = NewOrder(
        client_id="c1", market="cond", token_id="NO", side=Side.BUY, price=D("0.48"), size=D(10)
    )
    t.on_sent(o, 0.0)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="live", order=o), 0.0)
    t.on_cancel_sent(["0xa"], 1.0)
    t.on_cancel_result(CancelResult(canceled=("0xa",)), 1.0)
    assert t.live_ids() == set()
    assert [g.order_id for g in t.just_gone(1.0 + JUST_GONE_SECS)] == ["0xa"]
    assert t.just_gone(1.0 + JUST_GONE_SECS + 0.01) == []
