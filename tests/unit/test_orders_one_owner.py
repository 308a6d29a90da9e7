"""Issue 12: the strategy thread's order tracker is the only record of the bot's orders.

Adopted start-up orders are never cancelled as orphans; an FAK/FOK answered ``unmatched`` never
rests (and does not block arbitrage); a cancellation is counted exactly once whichever of the user
channel's CANCELLATION and the CancelResult arrives first; a snapshot taken before our own cancel
landed is not taken for a stranger; the unknown-outcome gauge and the kill switch's fallback list
come from the tracker."""

from __future__ import annotations

import logging
import queue
import time
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import (
    Cancel,
    CancelResult,
    MarketInfo,
    NewOrder,
    OpenOrder,
    OpenOrdersSnapshot,
    OrderAccepted,
    OrderEvent,
    OrderEventKind,
    OrderType,
    OrderUnknown,
    Side,
)
from pmbot.state import AppState
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal
from pmbot.trading.orders import OrderTracker

WALLET = "0x" + "cd" * 20
MARKET = MarketInfo("c1", "Y1", "N1")


def new(cid, *, price="0.45", order_type=OrderType.GTC, tag="quote", token="Y1"):
    return NewOrder(
        client_id=cid,
        market="c1",
        token_id=token,
        side=Side.BUY,
        price=D(price),
        size=D(10),
        order_type=order_type,
        post_only=order_type is OrderType.GTC,
        tag=tag,
    )


def venue_row(oid, price="0.30"):
    return OpenOrder(oid, "c1", "Y1", Side.BUY, D(price), D(10), D(0))


def cancellation(oid, price="0.45"):
    return OrderEvent(
        oid, "c1", "Y1", Side.BUY, D(price), D(10), D(0), OrderEventKind.CANCELLATION, "CANCELED"
    )


class Clock:
    """Wall-clock time that a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def engine(tmp_path):
    cfg = parse_config(
        {"mode": "live", "state_dir": str(tmp_path), "arbitrage": {"enabled": False}}
    )
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    eng = Engine(
        cfg=cfg,
        markets=(MARKET,),
        events=(),
        inbound=queue.Queue(),
        commands=queue.Queue(),
        state=AppState(),
        journal=journal,
        metrics=Metrics(CollectorRegistry(), process_collector=False),
        api_key="key",
        funder=WALLET,
        clock=Clock(),
    )
    yield eng
    journal.close()


def place(eng: Engine, cid: str, oid: str, **kw) -> NewOrder:
    o = new(cid, **kw)
    eng.tracker.on_sent(o, eng.clock())
    eng._apply(OrderAccepted(client_id=cid, order_id=oid, status="live", order=o))
    return o


def cancelled_total(eng: Engine) -> float:
    return eng.metrics.value("pmbot_orders_cancelled_total", {"market": "c1"}) or 0.0


def commands(eng: Engine) -> list:
    out = []
    while True:
        try:
            out.append(eng.commands.get_nowait())
        except queue.Empty:
            return out


# ---------------------------------------------------------------------- immediate orders


@pytest.mark.parametrize("status", ["matched", "unmatched"])
@pytest.mark.parametrize("order_type", [OrderType.FAK, OrderType.FOK])
def test_an_immediate_order_answered_matched_or_unmatched_never_rests(status, order_type):
    t = OrderTracker()
    o = new("c1", order_type=order_type, tag="arb")
    t.on_sent(o, 0)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status=status, order=o), 1)
    assert len(t) == 0 and t.get("0xa") is None
    t.on_order_event(cancellation("0xa"), 2)  # the venue's kill of the remainder: a late event
    assert len(t) == 0


def test_a_delayed_immediate_order_is_live_until_the_venue_says_otherwise():
    t = OrderTracker()
    o = new("c1", order_type=OrderType.FAK, tag="arb")
    t.on_sent(o, 0)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="delayed", order=o), 1)
    assert t.get("0xa") is not None


def test_an_fak_answered_unmatched_does_not_block_arbitrage_on_its_tokens(engine):
    arb = new("c1", order_type=OrderType.FAK, tag="arb", price="0.40")
    engine.tracker.on_sent(arb, engine.clock())
    in_flight = engine._strategy_input(engine._marks()).open_orders
    assert [o.tag for o in in_flight] == ["arb"]  # while it is sent, the tokens are in flight
    engine._apply(OrderAccepted(client_id="c1", order_id="0xa", status="unmatched", order=arb))
    assert engine._strategy_input(engine._marks()).open_orders == ()
    assert engine.open_order_ids() == []


# ---------------------------------------------------------------------- cancelled, counted once


def test_cancellation_first_then_cancel_result_counts_once(engine):
    place(engine, "c1", "0xa")
    engine.tracker.on_cancel_sent(["0xa"], engine.clock())
    engine._apply(cancellation("0xa"))
    assert cancelled_total(engine) == 1
    engine._apply(CancelResult(canceled=("0xa",)))
    assert cancelled_total(engine) == 1
    assert engine.open_order_ids() == []


def test_cancel_result_first_then_cancellation_counts_once(engine):
    place(engine, "c1", "0xa")
    engine.tracker.on_cancel_sent(["0xa"], engine.clock())
    engine._apply(CancelResult(canceled=("0xa",)))
    assert cancelled_total(engine) == 1
    engine._apply(cancellation("0xa"))
    assert cancelled_total(engine) == 1


def test_many_requotes_in_mixed_arrival_orders_count_every_cancel_once(engine):
    for i in range(20):
        place(engine, f"c{i}", f"0x{i:02x}")
        engine.tracker.on_cancel_sent([f"0x{i:02x}"], engine.clock())
    for i in range(20):
        first, second = cancellation(f"0x{i:02x}"), CancelResult(canceled=(f"0x{i:02x}",))
        for ev in (first, second) if i % 2 else (second, first):
            engine._apply(ev)
    assert cancelled_total(engine) == 20


def test_a_cancel_that_finds_the_order_matched_is_not_counted_as_cancelled(engine):
    place(engine, "c1", "0xa")
    engine.tracker.on_cancel_sent(["0xa"], engine.clock())
    engine._apply(CancelResult(canceled=(), not_canceled=(("0xa", "matched orders can't be"),)))
    assert cancelled_total(engine) == 0 and engine.open_order_ids() == []


def test_a_failed_cancel_all_puts_every_cancelling_order_back_to_live():
    t = OrderTracker()
    o = new("c1")
    t.on_sent(o, 0)
    t.on_accepted(OrderAccepted(client_id="c1", order_id="0xa", status="live", order=o), 0)
    t.on_cancel_sent(["0xa"], 1)
    t.on_cancel_result(CancelResult(canceled=(), all_failed=True), 2)
    assert t.get("0xa").state == "live"


# ---------------------------------------------------------------------- reconcile snapshots


def test_a_snapshot_taken_before_our_cancel_landed_is_not_a_stranger(engine, caplog):
    place(engine, "c1", "0xa")
    taken_ns = time.monotonic_ns()  # the listing still shows 0xa ...
    engine.tracker.on_cancel_sent(["0xa"], engine.clock())
    engine._apply(cancellation("0xa"))  # ... but our cancel lands before the snapshot is applied
    commands(engine)
    with caplog.at_level(logging.INFO):
        engine._apply(OpenOrdersSnapshot(orders=(venue_row("0xa", "0.45"),), taken_ns=taken_ns))
    assert commands(engine) == []  # not cancelled as an orphan
    assert "unknown to the bot" not in caplog.text and "did not know" not in caplog.text
    assert engine.metrics.value("pmbot_reconcile_diffs_total", {"cause": "unknown_on_venue"}) in (
        None,
        0.0,
    )


def test_a_stranger_on_the_venue_is_still_cancelled(engine):
    engine._apply(OpenOrdersSnapshot(orders=(venue_row("0xz"),), taken_ns=time.monotonic_ns()))
    [cmd] = commands(engine)
    assert isinstance(cmd, Cancel) and cmd.order_ids == ("0xz",)


# ---------------------------------------------------------------------- start-up adoption


def test_adopted_orders_are_tracked_counted_and_never_cancelled_as_orphans(engine):
    rows = (venue_row("0xa"), venue_row("0xb", "0.20"))
    assert engine.take_over_open_orders(rows, "adopt") == []
    assert sorted(engine.open_order_ids()) == ["0xa", "0xb"]
    engine._apply(OpenOrdersSnapshot(orders=rows, taken_ns=time.monotonic_ns()))
    assert commands(engine) == []
    engine.publisher.publish_metrics(engine._marks(), engine.tracker.count_by_market(), None)
    assert engine.metrics.value("pmbot_open_orders", {"market": "c1"}) == 2
    view = engine._strategy_input(engine._marks()).open_orders
    assert {o.tag for o in view} == {"adopted"}  # the quoting strategy leaves them alone


def test_cancel_policy_hands_the_start_up_orders_back_to_be_cancelled(engine):
    rows = (venue_row("0xa"),)
    assert engine.take_over_open_orders(rows, "cancel") == ["0xa"]
    assert engine.open_order_ids() == []


# ---------------------------------------------------------------------- gauges and kill switch


def test_unknown_gauge_and_kill_switch_fallback_come_from_the_tracker(engine):
    place(engine, "c1", "0xa")
    o = new("c2", price="0.40")
    engine.tracker.on_sent(o, engine.clock())
    engine._apply(OrderUnknown(client_id="c2", order_id="0xb", order=o, reason="timeout"))
    engine.publisher.publish_metrics(engine._marks(), engine.tracker.count_by_market(), None)
    assert engine.metrics.value("pmbot_unknown_outcome_orders") == 1
    assert engine.open_order_ids() == ["0xa", "0xb"]
    engine.clock.offset += 10  # past the tracker's grace period: the listing is evidence
    engine._apply(
        OpenOrdersSnapshot(orders=(venue_row("0xa", "0.45"),), taken_ns=time.monotonic_ns())
    )
    engine.publisher.publish_metrics(engine._marks(), engine.tracker.count_by_market(), None)
    assert engine.metrics.value("pmbot_unknown_outcome_orders") == 0  # resolved: not placed
