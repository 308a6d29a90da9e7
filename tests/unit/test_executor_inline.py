"""Issue 20: the strategy thread routes its own commands (``CommandLoop.submit``) and, where a lane
is idle, writes the cancel and then the post itself; the lanes' threads read the answers and keep
retries, unknown outcomes and supersede rules. A fake CLOB records every write and answer read with
the thread that did it."""

import queue
import random
import threading

import pytest

from pmbot.errors import TransientError, UnknownOutcomeError
from pmbot.execution.commands import StrategyCommands
from pmbot.execution.executor import Executor
from pmbot.model import (
    Cancel,
    CancelResult,
    Create,
    OrderAccepted,
    OrderRejected,
    OrderUnknown,
    Replace,
)
from pmbot.venue.order_signing import OrderSigning
from pmbot.venue.wire_user import parse_open_order
from tests.unit.test_executor import CREDS, FakeRest, _IdTagging, ok, order, signer  # noqa: F401
from tests.waiting import wait_for

REFUSE = object()  # a begin_* step: the request cannot go at once, nothing is written
DEADLINE = 10.0


class Begun:
    """A request the fake wrote ahead: ``finish`` reads its answer (after ``gate``, if any)."""

    def __init__(self, rest, kind, step, answer, gate):
        self.rest, self.kind, self.step, self.answer, self.gate = rest, kind, step, answer, gate

    def finish(self):
        self.rest.note(f"finish_{self.kind}")
        if self.gate is not None:
            assert self.gate.wait(DEADLINE), "the test never released the answer"
        if isinstance(self.step, Exception):
            self.rest.note(f"{self.kind}_failed")
            raise self.step
        self.rest.note(f"{self.kind}_answered")
        return self.answer()


class InlineRest(FakeRest):
    """``FakeRest`` plus ``begin_cancel`` / ``begin_post``. Script items per call: ``REFUSE``
    (None: nothing sent), an exception ``finish`` raises, None (accepted) or, for a post, a
    callable(payloads) giving the answer. ``events`` holds
    (what, thread name) in the order things happened."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.begin_cancel_script = []
        self.begin_post_script = []
        self.cancel_script = []  # exceptions the lane's own cancel_orders raises, one per call
        self.gates = {}  # "cancel" / "post" -> Event a begun answer waits for
        self.begun_salts = []  # salts of every begin_post (written or refused)
        self.on_begin_post = lambda: None

    def note(self, what):
        with self.lock:
            self.events.append((what, threading.current_thread().name))

    def begin_cancel(self, ids, lane="cancel"):
        step = self.begin_cancel_script.pop(0) if self.begin_cancel_script else None
        if step is REFUSE:
            self.note("begin_cancel_refused")
            return None
        self.note("begin_cancel")
        with self.lock:
            self.calls.append(("begin_cancel", list(ids)))

        def answer():
            return {"canceled": list(ids), "not_canceled": {}}

        return Begun(self, "cancel", step, answer, self.gates.get("cancel"))

    def begin_post(self, payloads):
        self.on_begin_post()
        step = self.begin_post_script.pop(0) if self.begin_post_script else None
        salts = [p["order"]["salt"] for p in payloads]
        with self.lock:
            self.begun_salts.append(salts)
        if step is REFUSE:
            self.note("begin_post_refused")
            return None
        self.note("begin_post")
        with self.lock:
            self.calls.append(("begin_post", salts))

        def answer():
            return [ok(self._id(p)) for p in payloads]

        if callable(step):  # a scripted answer: callable(payloads) -> results
            answer, step = (lambda script: lambda: script(payloads))(step), None
        return Begun(self, "post", step, answer, self.gates.get("post"))

    def cancel_orders(self, ids):
        self.note("cancel_orders")
        step = self.cancel_script.pop(0) if self.cancel_script else None
        if isinstance(step, Exception):
            with self.lock:
                self.calls.append(("cancel_orders", list(ids)))
            self.fire_sent()
            raise step
        return super().cancel_orders(ids)

    def post_orders(self, payloads):
        self.note("post_orders")
        return super().post_orders(payloads)

    def names(self):
        with self.lock:
            return [what for what, _ in self.events]

    def threads_of(self, what):
        with self.lock:
            return {thread for name, thread in self.events if name == what}

    def salts_of(self, call):
        with self.lock:
            return [c[1] for c in self.calls if c[0] == call]


class CountingSigning:
    """The real order signing, counting ``sign`` calls per client id (noted as an event too)."""

    def __init__(self, inner, note):
        self.inner = inner
        self.note = note
        self.signed = []
        self.lock = threading.Lock()

    def sign(self, order):
        with self.lock:
            self.signed.append(order.client_id)
        self.note("sign")
        return self.inner.sign(order)

    def check_version(self):
        self.inner.check_version()

    def explain_refusal(self, order, reason):
        return self.inner.explain_refusal(order, reason)


class Harness:
    def __init__(self, signer):  # noqa: F811  (the fixture's value)
        self.rest = InlineRest()
        self.signing = CountingSigning(
            OrderSigning(_IdTagging(signer), CREDS.api_key), self.rest.note
        )
        self.commands = queue.Queue()
        self.reports = queue.Queue()
        self.stop = threading.Event()
        self.ex = Executor(
            self.rest,
            self.signing,
            self.commands,
            self.reports,
            stop=self.stop,
            parse_open_order=parse_open_order,
            heartbeat_enabled=False,
            reconcile_secs=0,
            max_retries=3,
            backoff_initial=0.001,
            backoff_max=0.002,
            rng=random.Random(3),
        )
        self.caller = threading.current_thread().name

    def start(self):
        self.ex.start()

    def submit(self, cmd):
        self.ex.loop.submit(cmd)

    def take(self, n):
        return [self.reports.get(timeout=DEADLINE) for _ in range(n)]

    def close(self):
        for gate in self.rest.gates.values():
            gate.set()
        self.stop.set()
        assert self.ex.join(DEADLINE)


@pytest.fixture
def harness(signer):  # noqa: F811
    hs = []

    def make():
        h = Harness(signer)
        hs.append(h)
        return h

    yield make
    for h in hs:
        h.close()


def by_type(reports):
    return {type(r).__name__: r for r in reports}


# ---------------------------------------------------------------------- the caller writes


def test_a_post_first_replace_writes_cancel_then_post_on_the_callers_thread(harness):
    h = harness()
    h.start()
    handed_before_post = []
    h.rest.on_begin_post = lambda: handed_before_post.append(h.ex.cancels.jobs.qsize())

    h.submit(Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=True))

    got = by_type(h.take(2))
    assert got["CancelResult"] == CancelResult(canceled=("0xold",))
    assert got["OrderAccepted"].client_id == "c1"
    names = h.rest.names()
    # signed ahead so that the two writes follow each other; cancel first; both before any answer
    assert names[:3] == ["sign", "begin_cancel", "begin_post"]
    assert h.rest.threads_of("begin_cancel") == h.rest.threads_of("begin_post") == {h.caller}
    assert handed_before_post == [0]  # the cancel lane was not woken before the post was written
    assert h.rest.threads_of("finish_cancel") == {"exec-cancels"}
    assert h.rest.threads_of("finish_post") == {"exec-creates"}
    assert "cancel_orders" not in names and "post_orders" not in names  # nothing sent twice
    assert h.signing.signed == ["c1"]


def test_a_crossing_replace_posts_only_after_its_cancels_answer(harness):
    h = harness()
    h.start()
    h.rest.gates["cancel"] = threading.Event()

    h.submit(Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=False))

    assert h.rest.threads_of("begin_cancel") == {h.caller}
    assert not {"sign", "begin_post"} & set(h.rest.names())  # the caller neither signs nor posts
    wait_for(lambda: "finish_cancel" in h.rest.names(), DEADLINE, "the cancel lane reading")
    # the create lane holds the job, waiting for the cancel's answer (white box: no public view)
    wait_for(lambda: h.ex.creates._current is not None, DEADLINE, "the create lane holding it")
    assert "post_orders" not in h.rest.names()
    h.rest.gates["cancel"].set()

    got = by_type(h.take(2))
    assert got["CancelResult"].canceled == ("0xold",) and got["OrderAccepted"].client_id == "c1"
    names = h.rest.names()
    assert "begin_post" not in names  # it could not go inline: it waited for an answer
    assert names.index("post_orders") > names.index("cancel_answered")
    assert h.rest.threads_of("post_orders") == {"exec-creates"}


# ---------------------------------------------------------------------- order kept


def test_submit_queues_behind_a_command_not_yet_routed(harness):
    h = harness()  # not started: the command loop has not routed the queued create
    h.commands.put(Create((order(1),)))

    h.submit(Cancel(("0xold",)))

    assert h.rest.events == [] and h.rest.calls == []  # the caller wrote nothing
    assert h.commands.qsize() == 2
    h.start()
    got = by_type(h.take(2))
    assert got["OrderAccepted"].client_id == "c1" and got["CancelResult"].canceled == ("0xold",)
    assert h.rest.threads_of("cancel_orders") == {"exec-cancels"}
    assert h.rest.threads_of("post_orders") == {"exec-creates"}
    assert not {"begin_cancel", "begin_post"} & set(h.rest.names())

    wait_for(lambda: h.commands.unfinished_tasks == 0, DEADLINE, "everything routed")
    wait_for(lambda: h.ex.cancels.idle(), DEADLINE, "the cancel lane idle")
    h.submit(Cancel(("0xnext",)))  # nothing waits now: routed and written on the caller's thread
    assert h.rest.threads_of("begin_cancel") == {h.caller}
    assert h.take(1) == [CancelResult(canceled=("0xnext",))]


def test_submit_queues_while_the_command_loop_is_routing(harness):
    h = harness()
    h.start()
    with h.ex.loop._lock:  # stands in for the command loop thread routing a command
        caller = threading.Thread(target=h.submit, args=(Cancel(("0xold",)),), name="strategy")
        caller.start()
        caller.join(DEADLINE)
        assert not caller.is_alive()  # submit never waits for the routing lock
        assert h.rest.events == []  # nothing written by the caller
    assert h.take(1) == [CancelResult(canceled=("0xold",))]
    assert h.rest.threads_of("cancel_orders") == {"exec-cancels"}
    assert "begin_cancel" not in h.rest.names()


# ---------------------------------------------------------------------- busy lanes


def test_a_refused_cancel_goes_through_the_lane_and_the_presigned_post_follows_it(harness):
    h = harness()
    h.start()
    h.rest.begin_cancel_script = [REFUSE]

    h.submit(Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=True))

    got = by_type(h.take(2))
    assert got["CancelResult"].canceled == ("0xold",) and got["OrderAccepted"].client_id == "c1"
    names = h.rest.names()
    assert names[:2] == ["sign", "begin_cancel_refused"]
    assert "begin_post" not in names  # its cancel was not written: the post cannot go first
    assert h.rest.threads_of("cancel_orders") == {"exec-cancels"}
    assert h.rest.threads_of("post_orders") == {"exec-creates"}
    assert names.index("post_orders") > names.index("cancel_orders")  # the cancel is first
    assert h.signing.signed == ["c1"]  # presigned on the caller's thread, never signed again


def test_a_refused_post_is_posted_by_the_lane_with_the_same_signatures(harness):
    h = harness()
    h.start()
    h.rest.begin_post_script = [REFUSE]

    h.submit(Replace(cancel_ids=("0xold",), creates=(order(1), order(2)), post_first=True))

    reports = h.take(3)
    assert sorted(r.client_id for r in reports if isinstance(r, OrderAccepted)) == ["c1", "c2"]
    assert h.rest.threads_of("begin_cancel") == {h.caller}
    assert h.rest.threads_of("post_orders") == {"exec-creates"}
    assert h.rest.salts_of("post_orders") == h.rest.begun_salts  # the same signed orders
    assert sorted(h.signing.signed) == ["c1", "c2"]  # signed once each


# ---------------------------------------------------------------------- begun answers


def test_a_begun_post_failing_transiently_is_retried_with_the_same_orders(harness):
    h = harness()
    h.start()
    h.rest.begin_post_script = [TransientError("429", status=429)]

    h.submit(Create((order(1), order(2))))

    reports = h.take(2)
    assert sorted(r.client_id for r in reports if isinstance(r, OrderAccepted)) == ["c1", "c2"]
    assert h.rest.threads_of("begin_post") == {h.caller}
    assert h.rest.salts_of("post_orders") == h.rest.salts_of("begin_post")  # same hashes
    assert h.rest.threads_of("post_orders") == {"exec-creates"}
    assert sorted(h.signing.signed) == ["c1", "c2"]


def test_a_begun_post_with_an_unknown_outcome_is_never_resent(harness):
    h = harness()
    h.start()
    h.rest.begin_post_script = [UnknownOutcomeError("read timeout")]

    h.submit(Create((order(1),)))

    [r] = h.take(1)
    assert isinstance(r, OrderUnknown) and r.client_id == "c1" and r.order_id.startswith("0x")
    [first] = h.rest.salts_of("begin_post")
    h.submit(Create((order(2),)))  # a later create: whatever went out by then is on record
    [r] = h.take(1)
    assert isinstance(r, OrderAccepted) and r.client_id == "c2"
    sent = h.rest.salts_of("begin_post") + h.rest.salts_of("post_orders")
    assert sum(salt in first for salts in sent for salt in salts) == 1  # c1 went out once


def test_a_begun_cancel_failing_transiently_is_retried_by_the_lane(harness):
    h = harness()
    h.start()
    h.rest.begin_cancel_script = [TransientError("502", status=502)]

    h.submit(Cancel(("0xa", "0xb")))

    assert h.take(1) == [CancelResult(canceled=("0xa", "0xb"))]
    assert h.rest.threads_of("begin_cancel") == {h.caller}
    assert h.rest.salts_of("cancel_orders") == [["0xa", "0xb"]]
    assert h.rest.threads_of("cancel_orders") == {"exec-cancels"}


def test_a_begun_cancel_whose_retries_fail_reports_the_ids_failed(harness):
    h = harness()
    h.start()
    h.rest.begin_cancel_script = [TransientError("502", status=502)]
    h.rest.cancel_script = [TransientError("502", status=502) for _ in range(10)]

    h.submit(Cancel(("0xa",)))

    assert h.take(1) == [CancelResult(canceled=(), failed=("0xa",))]
    # the begun answer is the first of the max_retries + 1 attempts
    assert len(h.rest.salts_of("cancel_orders")) == 3


def test_a_begun_posts_balance_refusal_is_posted_again_after_its_cancels_answer(harness):
    h = harness()
    h.start()
    h.rest.gates["cancel"] = threading.Event()  # the cancel's answer is held

    def refuse_second(payloads):  # the old quote still holds the collateral
        refusal = {"success": False, "errorMsg": "not enough balance / allowance", "orderID": ""}
        return [ok(payloads[0]["order"]["_id"]), refusal]

    h.rest.begin_post_script = [refuse_second]
    h.submit(
        Replace(cancel_ids=("0xold",), creates=(order(1), order(2, price="0.49")), post_first=True)
    )

    [r] = h.take(1)  # the post's answer is read while the cancel's is still out
    assert isinstance(r, OrderAccepted) and r.client_id == "c1"
    assert "post_orders" not in h.rest.names()  # c2 waits for the cancel's answer
    h.rest.gates["cancel"].set()
    got = by_type(h.take(2))
    assert got["CancelResult"].canceled == ("0xold",) and got["OrderAccepted"].client_id == "c2"
    names = h.rest.names()
    assert names.index("post_orders") > names.index("cancel_answered")
    [[c1_salt, c2_salt]] = h.rest.salts_of("begin_post")
    assert h.rest.salts_of("post_orders") == [[c2_salt]]  # the same signed order, only c2
    assert sorted(h.signing.signed) == ["c1", "c2"]


# ---------------------------------------------------------------------- supersede


def test_supersede_never_drops_the_orders_of_a_begun_post(harness):
    h = harness()  # lanes not started yet: the begun job stays queued on the create lane

    h.submit(Create((order(1),)))  # written on the caller's thread
    h.submit(Create((order(2),)))  # the lane is not idle now: queued, not written
    assert h.rest.names() == ["sign", "begin_post"]
    h.submit(Cancel((), markets=("0xm",)))  # a cancel of their market

    [r] = h.take(1)
    assert isinstance(r, OrderRejected) and r.client_id == "c2" and r.kind == "local"
    assert h.reports.empty()  # c1 is on the wire: only its answer decides
    h.start()
    [r] = h.take(1)
    assert isinstance(r, OrderAccepted) and r.client_id == "c1"
    wait_for(h.ex.creates.idle, DEADLINE, "the create lane done")
    assert "post_orders" not in h.rest.names() and h.reports.empty()  # c2 was never sent


# ---------------------------------------------------------------------- the strategy's put


class RecordingLoop:
    def __init__(self):
        self.submitted = []

    def submit(self, cmd):
        self.submitted.append(cmd)


def test_strategy_commands_queue_until_attached_then_submit():
    commands = queue.Queue()
    put = StrategyCommands(commands)
    early, late = Cancel(("0xa",)), Cancel(("0xb",))
    put.put(early)
    loop = RecordingLoop()
    put.attach(loop)
    put.put(late)
    assert commands.get_nowait() == early and commands.empty()
    assert loop.submitted == [late]


def test_strategy_commands_attached_to_the_executor_write_on_the_strategy_thread(harness):
    h = harness()
    h.start()
    put = StrategyCommands(h.commands)
    put.attach(h.ex.loop)

    put.put(Cancel(("0xa",)))

    assert h.rest.threads_of("begin_cancel") == {h.caller}
    assert h.take(1) == [CancelResult(canceled=("0xa",))]


def test_a_begun_post_left_unread_at_shutdown_is_unknown_not_rejected(harness):
    h = harness()  # lanes not started: the begun job waits on the create lane
    h.submit(Create((order(1), order(2))))
    assert h.rest.names() == ["sign", "sign", "begin_post"]
    h.ex.creates.halt.set()  # halted before the lane read the answer

    h.ex.creates.run()  # returns at once: what is left is reported

    reports = h.take(2)
    assert [(type(r).__name__, r.client_id) for r in reports] == [
        ("OrderUnknown", "c1"),
        ("OrderUnknown", "c2"),
    ]  # written: they may rest, so the strategy must not forget them
    assert all(r.order_id.startswith("0x") for r in reports)
