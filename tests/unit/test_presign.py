"""Issue 20's orders signed ahead (pmbot.execution.presign): offered neighbours of the resting
quotes are signed one at a time while the strategy thread is idle, a post takes a fresh one at most
once, and anything else is signed on the spot."""

from __future__ import annotations

import queue
import threading
from dataclasses import replace
from decimal import Decimal as D

from pmbot.execution.create_lane import CreateLane
from pmbot.execution.presign import Presigner, key_of
from pmbot.execution.retry import RetryPolicy
from pmbot.execution.venue_mode import ModeGate
from pmbot.model import NewOrder, Side
from pmbot.trading.pull_link import neighbours

ORDER = NewOrder("c1", "m1", "T1", Side.BUY, D("0.40"), D("10"))


class CountingSigning:
    def __init__(self):
        self.calls: list[NewOrder] = []

    def sign(self, order):
        if order.price <= 0:
            raise ValueError("price off its tick")
        self.calls.append(order)
        return f"0xid{len(self.calls)}", {"salt": len(self.calls), "price": str(order.price)}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def presigner():
    signing, clock = CountingSigning(), Clock()
    return Presigner(signing, max_age=5.0, monotonic=clock), signing, clock


def test_offered_orders_are_signed_one_at_a_time_and_taken_once():
    p, signing, _ = presigner()
    p.offer([ORDER, replace(ORDER, price=D("0.41"))])
    assert p.pending()
    assert p.work_one() and len(signing.calls) == 1
    assert p.work_one() and len(signing.calls) == 2
    assert not p.pending() and not p.work_one()
    wanted = replace(ORDER, client_id="c9", origin_ns=123)  # the client id is not signed
    assert p.take(wanted) == ("0xid1", {"salt": 1, "price": "0.40"})
    assert p.take(wanted) is None  # never the same signature twice
    assert (p.used, p.made) == (1, 2)


def test_an_order_never_offered_or_differing_in_a_signed_field_is_not_taken():
    p, _, _ = presigner()
    p.offer([ORDER])
    p.work_one()
    assert p.take(replace(ORDER, size=D("11"))) is None
    assert p.take(replace(ORDER, post_only=False)) is None
    assert p.take(replace(ORDER, token_id="T2")) is None
    assert key_of(ORDER) == key_of(replace(ORDER, client_id="x", tag="other"))


def test_signatures_expire_and_are_made_again_before_they_do():
    p, signing, clock = presigner()
    p.offer([ORDER])
    p.work_one()
    clock.now += 4.1  # past 80% of max_age: due again
    assert p.pending() and p.work_one() and len(signing.calls) == 2
    clock.now += 5.1
    assert p.take(ORDER) is None  # too old to use


def test_a_new_offer_drops_what_is_no_longer_wanted():
    p, _, _ = presigner()
    p.offer([ORDER])
    p.work_one()
    p.offer([replace(ORDER, price=D("0.45"))])
    assert p.take(ORDER) is None
    assert p.pending()


def test_an_order_that_cannot_be_signed_is_no_longer_offered():
    p, signing, _ = presigner()
    p.offer([replace(ORDER, price=D("0"))])
    assert not p.work_one()
    assert not p.pending() and signing.calls == []


def test_neighbours_span_the_ticks_inside_the_price_range():
    near = neighbours([replace(ORDER, price=D("0.02"))], 2)
    assert [o.price for o in near] == [D("0.01"), D("0.02"), D("0.03"), D("0.04")]
    assert all(o.client_id == "" and o.origin_ns == 0 for o in near)
    assert [o.price for o in neighbours([ORDER], 1)] == [D("0.39"), D("0.40"), D("0.41")]


def lane(signing, presigner=None):
    halt = threading.Event()
    reports: queue.Queue = queue.Queue()
    rest = object()
    gate = ModeGate(reports, lambda: 0.0, 5.0)
    retry = RetryPolicy(0, 0.0, 0.0, __import__("random").Random(1), None)
    created = CreateLane(rest, signing, reports, retry, gate, halt, max_batch=15)  # type: ignore[arg-type]
    created.presigner = presigner
    return created


def test_the_create_lane_posts_a_signature_made_ahead_and_signs_the_rest():
    p, signing, _ = presigner()
    p.offer([ORDER])
    p.work_one()
    made = len(signing.calls)
    other = replace(ORDER, client_id="c2", price=D("0.55"))
    items = lane(signing, p)._sign([replace(ORDER, client_id="c1"), other])
    assert [i.order_id for i in items] == ["0xid1", "0xid2"]
    assert len(signing.calls) == made + 1  # only the order nobody signed ahead
    assert items[0].order.client_id == "c1"  # the lane's own order rides on the signature
