"""Issue 20's pull desk (pmbot.execution.pulls.PullDesk) with a fake REST client and cancel lane:
a stale book update fires a guard's side once (the prepared request written, or queued to the
cancel lane when the pull connection is busy) and tells the strategy, the other side staying
armed; a pulled order is armed again only after ``settle``; ``disarm`` stops a pull and names the
orders pulled meanwhile; the reader thread reports each pull's answer."""

from __future__ import annotations

import queue
import threading
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.errors import TransientError
from pmbot.execution import pulls as pulls_module
from pmbot.execution.cancel_lane import CancelJob
from pmbot.execution.pulls import PullDesk
from pmbot.metrics import Metrics
from pmbot.model import CancelResult, MarketUpdate, QuotesPulled
from pmbot.strategy.pull_rule import QuoteGuard


def guard(market="c1", yes="Y1", ids=("0xa", "0xb"), bucket=52, side="ask", top=None):
    """Quotes ``ids`` all on one side (asks above the touch, or bids below), decided on ``top``."""
    if side == "ask":
        rows = tuple((D("0.60") + D("0.01") * i, oid) for i, oid in enumerate(ids))
        bids, asks = (), rows
    else:
        rows = tuple((D("0.44") - D("0.01") * i, oid) for i, oid in enumerate(ids))
        bids, asks = rows, ()
    top_bid, top_ask = (D(p) for p in (top or CALM))
    return QuoteGuard(market, yes, bucket, bids, asks, top_bid, top_ask)


def update(token, bid, ask, market="c1") -> MarketUpdate:
    return MarketUpdate(token, market, D(bid), D(ask), D(100), D(100), D("0.01"), True, 1)


CALM = ("0.50", "0.54")  # mid 0.52: bucket 52, nothing crossed
MOVED = ("0.50", "0.56")  # mid 0.53: bucket 53, the best ask up (towards the asks)
DOWN = ("0.48", "0.54")  # mid 0.51: bucket 51, the best bid down (towards the bids)


class Handle:
    def __init__(self, answer=None, error=None):
        self.answer, self.error = answer, error

    def finish(self):
        if self.error is not None:
            raise self.error
        return self.answer


class FakeRest:
    """Records prepare_cancel / send_cancel; ``send_script`` items are what send_cancel returns
    (a Handle); empty script: a Handle answering every id. A lane in ``busy`` sends nothing
    (None); with ``hold``, a lane that sent stays busy (its answer not read)."""

    rate_budget = None

    def __init__(self, prepared_none=False):
        self.prepared: list[tuple[str, ...]] = []
        self.sent: list[tuple[object, int]] = []
        self.send_script: list[Handle] = []
        self.prepared_none = prepared_none
        self.busy: set[str] = set()
        self.hold = False
        self.lanes: list[str] = []

    def prepare_cancel(self, ids):
        self.prepared.append(tuple(ids))
        return None if self.prepared_none else ("prepared", len(self.prepared), tuple(ids))

    def send_cancel(self, prepared, count, lane="pull"):
        if lane in self.busy:
            return None
        if self.hold:
            self.busy.add(lane)
        self.lanes.append(lane)
        self.sent.append((prepared, count))
        if self.send_script:
            return self.send_script.pop(0)
        return Handle({"canceled": list(prepared[2]), "not_canceled": {}})

    def warm(self, lane=""):
        pass


class FakeRetry:
    def __init__(self):
        self.errors: list[str] = []

    def count_error(self, kind):
        self.errors.append(kind)


class FakeCancelLane:
    def __init__(self):
        self.jobs: list[CancelJob] = []
        self.reported: queue.Queue[dict] = queue.Queue()
        self.retry = FakeRetry()

    def put(self, job):
        self.jobs.append(job)

    def report(self, result):
        self.reported.put(result)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def desk():
    registry = CollectorRegistry()
    halt = threading.Event()
    d = PullDesk(
        FakeRest(),
        queue.Queue(),
        FakeCancelLane(),
        halt,
        Metrics(registry, process_collector=False),
        Clock(),
    )
    d.registry = registry  # type: ignore[attr-defined]
    return d


def pulls(desk, kind):
    return desk.registry.get_sample_value("pmbot_quote_pulls_total", {"kind": kind})


def reports(desk):
    out = []
    while True:
        try:
            out.append(desk.reports.get_nowait())
        except queue.Empty:
            return out


def test_a_calm_update_fires_nothing_and_a_stale_one_fires_once(desk):
    desk.arm([guard()])
    assert desk.rest.prepared == [("0xa", "0xb")]
    desk.on_update(update("Y1", *CALM))
    assert desk.rest.sent == [] and reports(desk) == []
    desk.on_update(update("Y1", *MOVED))
    desk.on_update(update("Y1", "0.50", "0.58"))  # still stale: the guard already fired
    assert desk.rest.sent == [(("prepared", 1, ("0xa", "0xb")), 2)]
    assert reports(desk) == [QuotesPulled("c1", ("0xa", "0xb"))]
    assert desk.cancels.jobs == []
    assert pulls(desk, "written") == 1 and pulls(desk, "queued") == 0


def test_a_pulled_order_is_not_armed_again_before_settle(desk):
    desk.arm([guard()])
    desk.on_update(update("Y1", *MOVED))
    desk.arm([guard()])  # the strategy decided before applying QuotesPulled
    desk.on_update(update("Y1", "0.50", "0.60"))
    assert len(desk.rest.sent) == 1
    desk.settle(("0xa", "0xb"))
    desk.arm([guard(ids=("0xc",), bucket=53, side="bid", top=MOVED)])
    desk.on_update(update("Y1", *MOVED))  # bucket 53: the new quotes are fine
    assert len(desk.rest.sent) == 1
    desk.on_update(update("Y1", *DOWN))  # bucket 51, the best bid down: the new bid is stale
    assert [count for _, count in desk.rest.sent] == [2, 1]
    assert reports(desk) == [QuotesPulled("c1", ("0xa", "0xb")), QuotesPulled("c1", ("0xc",))]


def test_disarm_and_arm_without_a_market_stop_its_pull(desk):
    desk.arm([guard(), guard("c2", "Y2", ("0xz",))])
    desk.disarm(["c1"])
    desk.on_update(update("Y1", *MOVED))
    assert desk.rest.sent == []
    desk.arm([guard()])  # c2 left out: disarmed
    desk.on_update(update("Y2", *MOVED, market="c2"))
    assert desk.rest.sent == [] and reports(desk) == []
    desk.on_update(update("Y1", *MOVED))
    assert reports(desk) == [QuotesPulled("c1", ("0xa", "0xb"))]


def test_only_the_side_whose_touch_moved_is_pulled(desk):
    both = QuoteGuard(
        "c1", "Y1", 52, ((D("0.45"), "0xb"),), ((D("0.59"), "0xa"),), D("0.50"), D("0.54")
    )
    desk.arm([both])
    assert sorted(desk.rest.prepared) == [("0xa",), ("0xa", "0xb"), ("0xb",)]  # ask, both, bid
    desk.on_update(update("Y1", *MOVED))  # only the ask moved: the bid keeps its place
    assert reports(desk) == [QuotesPulled("c1", ("0xa",))]
    [(prepared, count)] = desk.rest.sent
    assert prepared[2] == ("0xa",) and count == 1


def both_sides(top=CALM):
    return QuoteGuard(
        "c1", "Y1", 52, ((D("0.45"), "0xb"),), ((D("0.59"), "0xa"),), D(top[0]), D(top[1])
    )


def test_the_other_side_stays_armed_and_is_pulled_when_its_touch_moves(desk):
    desk.arm([both_sides()])
    desk.on_update(update("Y1", *MOVED))  # bucket 53, the ask's touch moved: the ask goes
    desk.on_update(update("Y1", "0.50", "0.57"))  # the bid's touch still where it was decided
    desk.on_update(update("Y1", "0.49", "0.57"))  # now the bid's moved too: the bid goes
    desk.on_update(update("Y1", "0.40", "0.57"))  # nothing left armed
    assert [prepared[2] for prepared, _ in desk.rest.sent] == [("0xa",), ("0xb",)]
    assert reports(desk) == [QuotesPulled("c1", ("0xa",)), QuotesPulled("c1", ("0xb",))]


def test_the_second_side_goes_on_the_second_connection_while_the_first_is_busy(desk):
    desk.arm([both_sides()])
    desk.rest.hold = True  # no answer read: each connection stays busy
    desk.on_update(update("Y1", *MOVED))
    desk.on_update(update("Y1", "0.49", "0.56"))
    assert desk.rest.lanes == ["pull", "pull2"] and desk.cancels.jobs == []
    assert pulls(desk, "written") == 2 and pulls(desk, "queued") == 0
    assert reports(desk) == [QuotesPulled("c1", ("0xa",)), QuotesPulled("c1", ("0xb",))]


def test_arming_again_leaves_out_orders_pulled_but_not_yet_settled(desk):
    desk.arm([both_sides()])
    desk.on_update(update("Y1", *MOVED))  # the ask pulled; the strategy has not heard yet
    desk.arm([both_sides(MOVED)])  # it decided on the moved book with the ask still live
    assert len(desk.rest.prepared) == 3  # the bid's request, already built, stands
    desk.on_update(update("Y1", "0.56", "0.58"))  # through the bid: only the bid can go
    assert [prepared[2] for prepared, _ in desk.rest.sent] == [("0xa",), ("0xb",)]
    desk.settle(("0xa",))
    assert desk.disarm(["c1"]) == ("0xb",)  # pulled, not settled


def test_disarm_names_the_orders_pulled_that_the_strategy_has_not_heard_of(desk):
    desk.arm([both_sides(), guard("c2", "Y2", ("0xz",))])
    desk.on_update(update("Y1", *MOVED))
    assert desk.disarm(["c2"]) == ()
    assert desk.disarm(["c1"]) == ("0xa",)
    desk.on_update(update("Y1", "0.40", "0.60"))  # disarmed: the bid is the strategy's to cancel
    assert len(desk.rest.sent) == 1
    desk.settle(("0xa",))
    assert desk.disarm(["c1"]) == ()


def test_updates_of_the_no_token_or_other_markets_are_ignored(desk):
    desk.arm([guard()])
    desk.on_update(update("N1", "0.10", "0.20"))  # a NO book: guards are keyed by YES token
    desk.on_update(update("Y9", *MOVED, market="c9"))
    assert desk.rest.sent == [] and reports(desk) == []


def test_an_unchanged_guard_keeps_its_request_until_it_is_old(desk):
    desk.arm([guard()])
    desk.monotonic.now += pulls_module.REBUILD_SECS / 2
    desk.arm([guard()])
    assert len(desk.rest.prepared) == 1  # reused
    desk.arm([guard(ids=("0xa",))])  # the quotes changed: a new request
    assert desk.rest.prepared == [("0xa", "0xb"), ("0xa",)]
    desk.monotonic.now += pulls_module.REBUILD_SECS
    desk.arm([guard(ids=("0xa",))])  # too old: its L2 timestamp is rebuilt
    assert desk.rest.prepared == [("0xa", "0xb"), ("0xa",), ("0xa",)]
    desk.on_update(update("Y1", *MOVED))
    assert desk.rest.sent == [(("prepared", 3, ("0xa",)), 1)]


def test_busy_pull_connections_queue_the_cancel_to_the_cancel_lane(desk):
    desk.rest.busy = {"pull", "pull2"}
    desk.arm([guard()])
    desk.on_update(update("Y1", *MOVED))
    [job] = desk.cancels.jobs
    assert job.order_ids == ("0xa", "0xb") and not job.cancel_all
    assert reports(desk) == [QuotesPulled("c1", ("0xa", "0xb"))]
    assert pulls(desk, "queued") == 1 and pulls(desk, "written") == 0


def test_without_a_prepared_request_the_cancel_is_queued():
    rest = FakeRest(prepared_none=True)  # e.g. behind a proxy: no lean connection
    lane = FakeCancelLane()
    d = PullDesk(rest, queue.Queue(), lane, threading.Event())
    d.arm([guard()])
    d.on_update(update("Y1", *MOVED))
    assert rest.sent == []
    assert [j.order_ids for j in lane.jobs] == [("0xa", "0xb")]
    assert d.reports.get_nowait() == QuotesPulled("c1", ("0xa", "0xb"))


def test_a_failing_send_never_reaches_the_feed_thread_and_leaves_no_order_stuck(desk):
    def boom(prepared, count, lane="pull"):
        raise RuntimeError("bug")

    desk.rest.send_cancel = boom
    desk.arm([guard()])
    desk.on_update(update("Y1", *MOVED))  # does not raise
    # The strategy marks the orders cancelling on QuotesPulled (and settles the market); with no
    # cancel known to be on its way, the failure that follows turns them back live so the
    # strategy cancels them itself.
    assert reports(desk) == [
        QuotesPulled("c1", ("0xa", "0xb")),
        CancelResult(canceled=(), failed=("0xa", "0xb")),
    ]


@pytest.fixture
def reader(desk):
    thread = threading.Thread(target=desk.run, name="exec-pulls-test")
    thread.start()
    yield desk
    desk.halt.set()
    thread.join(5)
    assert not thread.is_alive()


def test_the_reader_reports_a_pull_answer_through_the_cancel_lane(reader):
    answer = {"canceled": ["0xa"], "not_canceled": {"0xb": "gone"}}
    reader.rest.send_script = [Handle(answer)]
    reader.arm([guard()])
    reader.on_update(update("Y1", *MOVED))
    assert reader.cancels.reported.get(timeout=5) == answer
    assert reports(reader) == [QuotesPulled("c1", ("0xa", "0xb"))]


def test_a_failed_pull_reports_its_orders_failed(reader):
    reader.rest.send_script = [Handle(error=TransientError("cancel_orders: timed out"))]
    reader.arm([guard()])
    reader.on_update(update("Y1", *MOVED))
    assert reader.reports.get(timeout=5) == QuotesPulled("c1", ("0xa", "0xb"))
    assert reader.reports.get(timeout=5) == CancelResult(canceled=(), failed=("0xa", "0xb"))
    assert reader.cancels.retry.errors == ["transient"]
    assert reader.cancels.reported.empty()


def test_a_bug_in_an_answer_does_not_stop_the_reader(reader):
    reader.rest.send_script = [
        Handle(error=ValueError("bug")),
        Handle({"canceled": ["0xc"], "not_canceled": {}}),
    ]
    reader.arm([guard(), guard("c2", "Y2", ("0xc",))])
    reader.on_update(update("Y1", *MOVED))
    reader.on_update(update("Y2", *MOVED, market="c2"))
    assert reader.cancels.reported.get(timeout=5) == {"canceled": ["0xc"], "not_canceled": {}}
    got = reports(reader)
    assert CancelResult(canceled=(), failed=("0xa", "0xb")) in got
