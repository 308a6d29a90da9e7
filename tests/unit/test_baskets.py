"""Arbitrage baskets: leg fills are attributed even when the user channel beats the executor."""

from decimal import Decimal
from types import SimpleNamespace

from pmbot.baskets import BasketBook
from pmbot.fills import FillChange
from pmbot.model import Fill, NewOrder, OrderAccepted, OrderRejected, OrderType, Side, TradeStatus

D = Decimal


def leg(cid, tok):
    return NewOrder(client_id=cid, market="m-" + tok, token_id=tok, side=Side.BUY, price=D("0.3"), size=D(10),
                    order_type=OrderType.FAK, post_only=False, tag="arb")


def fill(oid, tok, size="10", kind="new"):
    f = Fill(trade_id="t-" + oid, order_id=oid, market="m-" + tok, token_id=tok, side=Side.BUY, price=D("0.3"),
             size=D(size), fee_usd=D(0), is_maker=False, status=TradeStatus.MATCHED)
    return FillChange(fill=f, kind=kind)


def accepted(order, oid, taking="10"):
    return OrderAccepted(client_id=order.client_id, order_id=oid, status="matched", order=order, taking_amount=taking)


def test_fills_before_and_after_the_report_both_count_and_the_basket_settles_when_complete():
    book = BasketBook(wait_secs=3)
    legs = [leg("c1", "a"), leg("c2", "b"), leg("c3", "c")]
    opp = SimpleNamespace(cost_usd=D(9))
    b = book.open(opp, legs, now=0)
    book.on_fill(fill("o1", "a"))  # before the executor reported c1
    book.on_accepted(accepted(legs[0], "o1"), now=0.1)
    book.on_accepted(accepted(legs[1], "o2"), now=0.1)
    book.on_fill(fill("o2", "b"))
    book.on_accepted(accepted(legs[2], "o3"), now=0.1)
    assert book.ready(0.2) == []  # c's announced fill has not arrived yet
    book.on_fill(fill("o3", "c", size="4"))
    assert book.ready(0.3) == []
    book.on_fill(fill("o3", "c", size="6"))
    [done] = book.ready(0.4)
    assert done is b and done.filled == {"a": D(10), "b": D(10), "c": D(10)}
    assert book.in_flight_usd() == 0


def test_a_rejected_leg_counts_as_zero_and_the_basket_waits_then_settles():
    book = BasketBook(wait_secs=3)
    legs = [leg("c1", "a"), leg("c2", "b")]
    book.open(SimpleNamespace(cost_usd=D(6)), legs, now=0)
    book.on_accepted(accepted(legs[0], "o1"), now=0.1)
    book.on_fill(fill("o1", "a"))
    book.on_rejected(OrderRejected(client_id="c2", order=legs[1], reason="FOK not filled"), now=0.1)
    [done] = book.ready(0.2)
    assert done.filled == {"a": D(10), "b": D(0)}


def test_a_reversed_fill_is_taken_back():
    book = BasketBook(wait_secs=1)
    legs = [leg("c1", "a")]
    b = book.open(SimpleNamespace(cost_usd=D(3)), legs, now=0)
    book.on_accepted(accepted(legs[0], "o1", taking=""), now=0)
    book.on_fill(fill("o1", "a"))
    book.on_fill(fill("o1", "a", kind="reversed"))
    assert b.filled["a"] == 0
    assert book.ready(0.5) == [] and book.ready(1.5) == [b]
