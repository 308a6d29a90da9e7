"""Arbitrage baskets: leg fills are attributed even when the user channel beats the executor."""

from decimal import Decimal
from types import SimpleNamespace

from pmbot.model import Fill, NewOrder, OrderAccepted, OrderRejected, OrderType, Side, TradeStatus
from pmbot.trading.baskets import BasketBook
from pmbot.trading.fills import FillChange

D = Decimal


def leg(cid, tok):
    return NewOrder(
        client_id=cid,
        market="m-" + tok,
        token_id=tok,
        side=Side.BUY,
        price=D("0.3"),
        size=D(10),
        order_type=OrderType.FAK,
        post_only=False,
        tag="arb",
    )


def fill(oid, tok, size="10", kind="new"):
    f = Fill(
        trade_id="t-" + oid,
        order_id=oid,
        market="m-" + tok,
        token_id=tok,
        side=Side.BUY,
        price=D("0.3"),
        size=D(size),
        fee_usd=D(0),
        is_maker=False,
        status=TradeStatus.MATCHED,
    )
    return FillChange(fill=f, kind=kind)


def accepted(order, oid, taking="10"):
    return OrderAccepted(
        client_id=order.client_id, order_id=oid, status="matched", order=order, taking_amount=taking
    )


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
    assert book.ready(0.2) == []  # uneven: the book changes that caused it are given time to arrive
    [done] = book.ready(0.1 + book.repair_grace_secs)
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


def sell_fill(oid, tok, size):
    f = Fill(
        trade_id="t-" + oid,
        order_id=oid,
        market="m-" + tok,
        token_id=tok,
        side=Side.SELL,
        price=D("0.27"),
        size=D(size),
        fee_usd=D(0),
        is_maker=False,
        status=TradeStatus.MATCHED,
    )
    return FillChange(fill=f, kind="new")


def test_an_even_basket_settles_at_once_an_uneven_one_after_the_grace():
    book = BasketBook(wait_secs=3, repair_grace_secs=0.5)
    legs = [leg("c1", "a"), leg("c2", "b")]
    book.open(SimpleNamespace(cost_usd=D(6)), legs, now=0)
    book.on_accepted(accepted(legs[0], "o1"), now=0.1)
    book.on_accepted(accepted(legs[1], "o2", taking="4"), now=0.1)
    book.on_fill(fill("o1", "a"))
    book.on_fill(fill("o2", "b", size="4"))
    assert book.ready(0.5) == []
    [b] = book.ready(0.6)
    assert b.filled == {"a": D(10), "b": D(4)} and not b.even()


def test_a_repair_basket_starts_from_the_parent_and_counts_sells_down_at_average_cost():
    book = BasketBook(wait_secs=3, repair_grace_secs=0.5)
    legs = [leg("c1", "a"), leg("c2", "b")]
    book.open(SimpleNamespace(cost_usd=D(6)), legs, now=0)
    book.on_accepted(accepted(legs[0], "o1"), now=0)
    book.on_accepted(accepted(legs[1], "o2", taking="4"), now=0)
    book.on_fill(fill("o1", "a"))
    book.on_fill(fill("o2", "b", size="4"))
    [parent] = book.ready(1)
    parent.hedged, parent.planned_loss = D(4), D("0.5")
    unwind = NewOrder(
        client_id="c3",
        market="m-a",
        token_id="a",
        side=Side.SELL,
        price=D("0.27"),
        size=D(6),
        order_type=OrderType.FAK,
        post_only=False,
        tag="unwind",
    )
    r = book.open_repair(parent, [unwind], now=1)
    assert (
        r.repair_round == 1
        and r.hedged == 4
        and r.planned_loss == D("0.5")
        and r.filled == parent.filled
    )
    assert book.in_flight_usd() == 6
    book.on_accepted(
        OrderAccepted(
            client_id="c3", order_id="o3", status="matched", order=unwind, making_amount="6"
        ),
        now=1.1,
    )
    assert book.ready(1.2) == []  # the announced sell has not arrived
    book.on_fill(sell_fill("o3", "a", "6"))
    [done] = book.ready(1.2)  # even again: at once
    assert done is r and done.filled == {"a": D(4), "b": D(4)}
    assert done.cost["a"] == D("1.2")  # 4 of the 10 bought at 0.3 are left
    assert parent.filled == {"a": D(10), "b": D(4)}  # the parent is not touched


def test_a_rejected_repair_settles_after_the_grace_without_waiting_the_timeout():
    book = BasketBook(wait_secs=3, repair_grace_secs=0.5)
    legs = [leg("c1", "a"), leg("c2", "b")]
    book.open(SimpleNamespace(cost_usd=D(6)), legs, now=0)
    book.on_accepted(accepted(legs[0], "o1"), now=0)
    book.on_rejected(OrderRejected(client_id="c2", order=legs[1], reason="no match"), now=0)
    book.on_fill(fill("o1", "a"))
    [parent] = book.ready(0.5)
    r = book.open_repair(parent, [leg("c9", "b")], now=0.5)
    book.on_rejected(
        OrderRejected(client_id="c9", order=leg("c9", "b"), reason="no match"), now=0.6
    )
    assert book.ready(1.0) == [] and book.ready(1.1) == [r]


def test_an_order_without_an_announced_match_is_waited_for_until_the_timeout():
    book = BasketBook(wait_secs=3, repair_grace_secs=0.5)
    legs = [leg("c1", "a"), leg("c2", "b")]
    book.open(SimpleNamespace(cost_usd=D(6)), legs, now=0)
    book.on_accepted(accepted(legs[0], "o1"), now=0)
    book.on_accepted(
        OrderAccepted(client_id="c2", order_id="o2", status="delayed", order=legs[1]), now=0
    )
    book.on_fill(fill("o1", "a"))
    assert book.ready(2.9) == []  # o2 may still fill
    book.on_fill(fill("o2", "b"))
    assert len(book.ready(3.0)) == 1
