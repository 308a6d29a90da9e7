"""The executor against the bundled exchange over loopback, with the venue's faults switched on.

Background traders are off so nothing fills the bot's orders: every order the exchange holds for the
bot's key is therefore resting, and the executor's view can be compared with it exactly.
"""

import dataclasses
import queue
import random
import threading
import time
from decimal import Decimal

import coincurve
import pytest
from prometheus_client import CollectorRegistry

from pmbot.execution.executor import Executor
from pmbot.metrics import Metrics
from pmbot.model import (
    Cancel,
    CancelResult,
    Create,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    OrderUnknown,
    Replace,
    Side,
    VenueMode,
    VenueModeChanged,
)
from pmbot.sim import SimServer
from pmbot.sim.markets import load_sim_config
from pmbot.trading.orders import OrderTracker
from pmbot.venue.auth import derive_api_creds
from pmbot.venue.markets import list_clob_markets
from pmbot.venue.order_signing import OrderSigning
from pmbot.venue.rest import ClobRest
from pmbot.venue.signer import OrderSigner
from pmbot.venue.wire_user import parse_open_order
from tests.integration.botproc import SimProcess
from tests.waiting import wait_for

TERMINAL = (OrderAccepted, OrderRejected, OrderUnknown)


@pytest.fixture
def sim():
    cfg = dataclasses.replace(load_sim_config(None), background=False, heartbeat_timeout_secs=1.0)
    server = SimServer(cfg)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bot(sim):
    """A wallet, its API key, a REST client with a short read timeout, and an executor factory."""
    key = "0x" + coincurve.PrivateKey(random.Random(42).randbytes(32)).to_hex()
    signer = OrderSigner(key)
    creds = derive_api_creds(sim.urls["clob_url"], key, 137)
    rest = ClobRest(sim.urls["clob_url"], creds=creds, address=signer.address, timeout=(1.0, 0.5))
    market = next(m for m in list_clob_markets(rest) if not m.neg_risk)
    made = []

    def make(**kw):
        opts = dict(
            heartbeat_enabled=False,
            reconcile_secs=0,
            max_retries=6,
            backoff_initial=0.01,
            backoff_max=0.05,
            rng=random.Random(5),
            mode_probe_secs=0.2,
        )
        opts.update(kw)
        stop = threading.Event()
        ex = Executor(
            rest,
            OrderSigning(signer, creds.api_key),
            queue.Queue(),
            queue.Queue(),
            stop=stop,
            parse_open_order=parse_open_order,
            **opts,
        )
        made.append((ex, stop))
        return ex

    yield type(
        "Bot",
        (),
        dict(signer=signer, creds=creds, rest=rest, market=market, make=staticmethod(make)),
    )
    for ex, stop in made:
        stop.set()
        assert ex.join(5)
    rest.close()


def _orders(market, n, start=0):
    """Distinct sizes so a duplicate placement would show as two resting orders of one size."""
    tick = market.tick
    return [
        NewOrder(
            client_id=f"c{i}",
            market=market.condition_id,
            token_id=market.yes_token,
            side=Side.BUY,
            price=tick * (1 + i % 5),
            size=Decimal(5) + Decimal(i) / 100,
            neg_risk=market.neg_risk,
            tick=tick,
        )
        for i in range(start, start + n)
    ]


def _collect(ex, client_ids, timeout=20.0):
    """Reports until every client id has a terminal report; returns (terminal by client id,
    others)."""
    done, others = {}, []
    deadline = time.monotonic() + timeout
    while set(client_ids) - set(done):
        report = ex.reports.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(report, TERMINAL):
            assert report.client_id not in done, f"two outcomes for {report.client_id}"
            done[report.client_id] = report
        else:
            others.append(report)
    return done, others


def _venue_open(sim, creds):
    return {o["id"]: o for o in sim.exchange.open_orders(creds.api_key)}


def test_under_faults_nothing_is_lost_nothing_is_doubled_and_reconcile_matches_exactly(sim, bot):
    sim.faults.error_probability(p_429=0.1, p_500=0.1)
    sim.faults.hang(count=1, secs=0.8)  # placed, answered after the 0.5 s read timeout
    metrics = Metrics(CollectorRegistry())
    ex = bot.make(metrics=metrics)
    ex.start()
    orders = _orders(bot.market, 40)
    done = {}
    for start in range(0, 40, 4):  # one request per batch, so the fault draws hit many requests
        batch = orders[start : start + 4]
        ex.commands.put(Create(tuple(batch)))
        done.update(_collect(ex, [o.client_id for o in batch])[0])
    sim.faults.reset()
    retries = sum(
        s.value
        for m in metrics.registry.collect()
        if m.name == "pmbot_exec_retries"
        for s in m.samples
        if s.name.endswith("_total")
    )
    assert retries >= 1, "the 20% fault rate should have forced retries"

    venue = _venue_open(sim, bot.creds)
    sizes = [Decimal(o["original_size"]) for o in venue.values()]
    assert len(sizes) == len(set(sizes)), "an order was placed twice"
    accepted = {r.order_id for r in done.values() if isinstance(r, OrderAccepted)}
    unknown = {r.order_id for r in done.values() if isinstance(r, OrderUnknown)}
    assert accepted <= set(venue), "an accepted order is not on the venue"
    assert set(venue) <= accepted | unknown, "the venue holds an order the executor lost track of"
    assert unknown, "the hang fault should have produced unknown outcomes"
    assert len(accepted) >= 20

    # The strategy thread's tracker, fed the same reports, is the one record; one poll settles it.
    tracker = OrderTracker(grace_secs=1.0)
    for report in done.values():
        tracker.on_sent(report.order, 0.0)
        if isinstance(report, OrderAccepted):
            tracker.on_accepted(report, 0.0)
        elif isinstance(report, OrderUnknown):
            tracker.on_unknown(report, 0.0)
    assert tracker.live_ids() == accepted | unknown
    snapshot = ex.poll_open_orders()
    tracker.reconcile(snapshot.orders, 10.0, taken_at=10.0)
    assert tracker.live_ids() == set(_venue_open(sim, bot.creds))
    assert tracker.unknown_count() == 0


def test_cancel_only_mode_refuses_creates_allows_cancels_and_lifts(sim, bot):
    ex = bot.make()
    ex.start()
    first = _orders(bot.market, 2)
    ex.commands.put(Create(tuple(first)))
    done, _ = _collect(ex, ["c0", "c1"])
    assert all(isinstance(r, OrderAccepted) for r in done.values())
    first_id = done["c0"].order_id

    sim.faults.cancel_only(True)
    ex.commands.put(Create(tuple(_orders(bot.market, 1, start=2))))
    done, others = _collect(ex, ["c2"])
    assert done["c2"].kind == "venue_mode"
    assert any(isinstance(r, VenueModeChanged) and r.mode is VenueMode.CANCEL_ONLY for r in others)
    ex.commands.put(Cancel((first_id,)))
    result = ex.reports.get(timeout=5)
    assert isinstance(result, CancelResult) and len(result.canceled) == 1
    assert len(_venue_open(sim, bot.creds)) == 1

    sim.faults.cancel_only(False)
    time.sleep(0.25)  # past the probe interval
    ex.commands.put(Create(tuple(_orders(bot.market, 1, start=3))))
    done, others = _collect(ex, ["c3"])
    assert isinstance(done["c3"], OrderAccepted)
    assert any(isinstance(r, VenueModeChanged) and r.mode is VenueMode.NORMAL for r in others)


def test_kill_switch_verifies_nothing_is_left_even_when_first_cancels_fail(sim, bot):
    ex = bot.make()
    ex.start()
    orders = _orders(bot.market, 12)
    ex.commands.put(Create(tuple(orders)))
    _collect(ex, [o.client_id for o in orders])
    assert len(_venue_open(sim, bot.creds)) == 12
    ex.stop.set()
    assert ex.join(5)
    sim.faults.http_429(count=3, retry_after_secs=0.05)  # the first cancel attempts are refused
    assert ex.cancel_all_and_verify(10.0) == []
    assert _venue_open(sim, bot.creds) == {}


def test_heartbeat_switch_cancels_orders_after_the_executor_dies_without_cancelling(sim, bot):
    ex = bot.make(heartbeat_enabled=True, heartbeat_secs=0.2)
    ex.start()
    orders = _orders(bot.market, 3)
    ex.commands.put(Create(tuple(orders)))
    _collect(ex, [o.client_id for o in orders])
    time.sleep(1.5)  # longer than the exchange's 1 s window: the heartbeat keeps them alive
    assert len(_venue_open(sim, bot.creds)) == 3
    assert ex.heartbeat_age() < 1.0
    ex.stop.set()  # like SIGKILL for the venue: no cancel is sent, heartbeats simply stop
    assert ex.join(5)
    deadline = time.monotonic() + 5.0
    while _venue_open(sim, bot.creds) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _venue_open(sim, bot.creds) == {}


def test_start_up_cleanup_cancels_orphans_left_by_a_previous_run(sim, bot):
    ex = bot.make()
    ex.start()
    orders = _orders(bot.market, 4)
    ex.commands.put(Create(tuple(orders)))
    done, _ = _collect(ex, [o.client_id for o in orders])
    keep = done["c0"].order_id
    ex.stop.set()
    assert ex.join(5)
    fresh = bot.make()
    listed = fresh.list_open_orders()
    orphans = [o.order_id for o in listed.orders if o.order_id != keep]
    assert len(orphans) == 3
    fresh.cancel_orphans(orphans)
    assert set(_venue_open(sim, bot.creds)) == {keep}


@pytest.fixture
def sim_process():
    """The simulator in its own process (``--holds``): the arrival order it sees is not skewed by
    this process's threads competing for its interpreter."""
    proc = SimProcess("--holds")
    yield proc
    proc.stop()


@pytest.fixture
def held_executor(sim_process):
    """A started executor of a fresh wallet on the holds sim, its REST client and a binary market;
    answers held at the end are released before it stops."""
    key = "0x" + coincurve.PrivateKey(random.Random(43).randbytes(32)).to_hex()
    signer = OrderSigner(key)
    url = sim_process.urls["clob_url"]
    creds = derive_api_creds(url, key, 137)
    rest = ClobRest(url, creds=creds, address=signer.address, timeout=(1.0, 10.0))
    market = next(m for m in list_clob_markets(rest) if not m.neg_risk)
    stop = threading.Event()
    ex = Executor(
        rest,
        OrderSigning(signer, creds.api_key),
        queue.Queue(),
        queue.Queue(),
        stop=stop,
        parse_open_order=parse_open_order,
        heartbeat_enabled=False,
        reconcile_secs=0,
    )
    ex.start()
    try:
        yield ex, rest, market
    finally:
        sim_process._post("/_sim/holds/release", {})
        stop.set()
        assert ex.join(10)
        rest.close()


def test_a_requote_sends_its_cancel_first_and_both_before_either_answer_is_read(
    sim_process, held_executor
):
    """Issue 20: on a re-quote that cannot cross, the cancel and the post go out concurrently on
    their own connections, the cancel first; the sim holds both answers, so both requests must have
    arrived before either answer could be read."""
    ex, rest, market = held_executor
    _requote_with_held_answers(sim_process, ex, rest, market)


def test_a_requote_routed_on_the_strategy_thread_writes_cancel_then_post_itself(
    sim_process, held_executor
):
    """Issue 20, the strategy thread's path (``CommandLoop.submit``): with both lanes idle the
    caller writes the cancel and then the post itself, on the lanes' own connections, and returns
    before either answer is read (the sim holds both); the lanes' threads read them."""
    ex, rest, market = held_executor
    [old] = _orders(market, 1)
    ex.loop.submit(Create((old,)))
    done, _ = _collect(ex, ["c0"])
    assert isinstance(done["c0"], OrderAccepted)
    old_id = done["c0"].order_id
    for method in ("DELETE", "POST"):
        sim_process._post("/_sim/holds/hold", {"method": method, "path": "/orders"})
    writes: list[tuple[str, str]] = []
    begin_cancel, begin_post = rest.begin_cancel, rest.begin_post

    def recording_cancel(ids, lane="cancel"):
        begun = begin_cancel(ids, lane)
        writes.append(("cancel", threading.current_thread().name))
        return begun

    def recording_post(payloads):
        writes.append(("post", threading.current_thread().name))
        return begin_post(payloads)

    rest.begin_cancel, rest.begin_post = recording_cancel, recording_post
    [new] = _orders(market, 1, start=1)
    ex.loop.submit(
        Replace(
            cancel_ids=(old_id,), creates=(new,), post_first=True, markets=(market.condition_id,)
        )
    )
    # submit returned: both requests were written by this thread, the cancel first.
    here = threading.current_thread().name
    assert writes == [("cancel", here), ("post", here)]
    wait_for(
        lambda: sim_process.get("/_sim/holds/held") == [["DELETE", "/orders"], ["POST", "/orders"]],
        10,
        "both the cancel and the post held at the sim",
    )
    assert ex.reports.empty()  # neither answer read yet
    sim_process._post("/_sim/holds/release", {})
    _expect_replaced(ex, rest, old_id)


def _expect_replaced(ex, rest, old_id: str) -> None:
    """The new order (c1) accepted, the old one cancelled, only the new one resting."""
    done, others = _collect(ex, ["c1"])
    assert isinstance(done["c1"], OrderAccepted)
    if not others:
        others = [ex.reports.get(timeout=10)]
    assert isinstance(others[0], CancelResult) and others[0].canceled == (old_id,)
    assert {o["id"] for o in rest.open_orders()} == {done["c1"].order_id}


def _record_wire_order(rest):
    """Client-side times: when the cancel's request was written (``when_sent``) and when the post
    was handed to the REST client (before any of its bytes are written)."""
    times = {}
    when_sent, post_orders = rest.when_sent, rest.post_orders

    def recording_when_sent(callback):
        def written():
            times.setdefault("cancel_written", time.monotonic_ns())
            callback()

        return when_sent(written)

    def recording_post(payloads):
        times.setdefault("post_started", time.monotonic_ns())
        return post_orders(payloads)

    rest.when_sent, rest.post_orders = recording_when_sent, recording_post
    return times


def _requote_with_held_answers(sim_process, ex, rest, market):
    [old] = _orders(market, 1)
    ex.commands.put(Create((old,)))
    done, _ = _collect(ex, ["c0"])
    assert isinstance(done["c0"], OrderAccepted)
    old_id = done["c0"].order_id
    sim_process.get("/_sim/holds/arrivals?clear=1")
    for method in ("DELETE", "POST"):
        sim_process._post("/_sim/holds/hold", {"method": method, "path": "/orders"})
    [new] = _orders(market, 1, start=1)
    times = _record_wire_order(rest)
    ex.commands.put(
        Replace(
            cancel_ids=(old_id,), creates=(new,), post_first=True, markets=(market.condition_id,)
        )
    )
    wait_for(
        lambda: sim_process.get("/_sim/holds/held") == [["DELETE", "/orders"], ["POST", "/orders"]],
        10,
        "both the cancel and the post held at the sim",
    )
    # Both reached the sim and neither answer was read: neither request waited for the other's.
    assert ex.reports.empty()
    # The cancel was on the wire before the post's first byte was: loopback TCP delivers in that
    # order. (The sim's own arrival order is not asserted: its two connection threads wake in
    # either order when the post follows the cancel by ~0.1 ms, as it now does.)
    assert times["cancel_written"] < times["post_started"]
    sim_process._post("/_sim/holds/release", {})
    _expect_replaced(ex, rest, old_id)
