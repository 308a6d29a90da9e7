"""Executor against a hand-written fake CLOB: per-order results, retries with the same signed
orders,
unknown outcomes, venue modes, cancel priority, batching, heartbeat ids, the open-orders poll,
start-up orphan cancels, kill switch."""

import contextlib
import queue
import random
import threading
import time
from decimal import Decimal

import coincurve
import pytest

from pmbot.errors import RejectedError, TransientError, UnknownOutcomeError, VenueModeError
from pmbot.execution.executor import UNVERIFIED, Executor
from pmbot.model import (
    Cancel,
    CancelAll,
    CancelResult,
    Create,
    NewOrder,
    OpenOrdersSnapshot,
    OrderAccepted,
    OrderRejected,
    OrderUnknown,
    Replace,
    Side,
    VenueMode,
    VenueModeChanged,
)
from pmbot.ratelimit import BucketLimit, RateBudget
from pmbot.venue.auth import ApiCreds
from pmbot.venue.order_signing import OrderSigning
from pmbot.venue.signer import OrderSigner
from pmbot.venue.wire_user import parse_open_order

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
CREDS = ApiCreds("api-key", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "pass")


def ok(order_id, status="live"):
    return {
        "success": True,
        "errorMsg": "",
        "orderID": order_id,
        "status": status,
        "takingAmount": "",
        "makingAmount": "",
        "tradeIDs": [],
    }


class SentHook:
    """The fakes' ``when_sent``: the callback runs when a cancel request is "written" (recorded),
    or at the block's end, like ``pmbot.venue.rest_transport.when_sent``."""

    def __init__(self):
        self._local = threading.local()

    @contextlib.contextmanager
    def when_sent(self, callback):
        self._local.callback = callback
        try:
            yield
        finally:
            self.fire_sent()

    def warm(self, lane=""):
        pass  # no connections to keep open

    def fire_sent(self):
        callback = getattr(self._local, "callback", None)
        self._local.callback = None
        if callback is not None:
            callback()


class FakeRest(SentHook):
    """Scripted CLOB. ``post_script`` items: an exception to raise, a callable(payloads)->results,
    or None
    for 'accept everything live'. Records every call in ``calls``."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.payloads = []
        self.post_script = []
        self.cancel_all_script = []
        self.list_script = []
        self.open = {}  # order_id -> row
        self.rate_budget = None
        self.heartbeat_ids = []
        self.lock = threading.Lock()

    def post_orders(self, payloads):
        with self.lock:
            self.calls.append(("post_orders", [p["order"]["salt"] for p in payloads]))
            self.payloads.extend(payloads)
            step = self.post_script.pop(0) if self.post_script else None
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(payloads)
        return [ok(self._id(p)) for p in payloads]

    def _id(self, payload):
        return payload["order"]["_id"]

    def cancel_orders(self, ids):
        with self.lock:
            self.calls.append(("cancel_orders", list(ids)))
        self.fire_sent()
        for i in ids:
            self.open.pop(i, None)
        return {"canceled": list(ids), "not_canceled": {}}

    def cancel_all(self):
        with self.lock:
            self.calls.append(("cancel_all",))
            step = self.cancel_all_script.pop(0) if self.cancel_all_script else None
        self.fire_sent()
        if isinstance(step, Exception):
            raise step
        ids = list(self.open)
        self.open.clear()
        return {"canceled": ids, "not_canceled": {}}

    def open_orders(self):
        with self.lock:
            self.calls.append(("open_orders",))
            step = self.list_script.pop(0) if self.list_script else None
        if isinstance(step, Exception):
            raise step
        return list(self.open.values())

    def heartbeat(self, heartbeat_id):
        with self.lock:
            self.heartbeat_ids.append(heartbeat_id)
            return f"hb-{len(self.heartbeat_ids)}"


@pytest.fixture
def signer():
    key = coincurve.PrivateKey(bytes([7]) * 32).to_hex()
    return OrderSigner("0x" + key, rng=random.Random(1), clock_ms=lambda: 1_767_000_000_000)


class Harness:
    def __init__(self, signer, **kw):
        self.rest = FakeRest()
        self.commands = queue.Queue()
        self.reports = queue.Queue()
        self.stop = threading.Event()
        self.now = [1000.0]
        opts = dict(
            heartbeat_enabled=False,
            reconcile_secs=0,
            max_retries=3,
            backoff_initial=0.001,
            backoff_max=0.002,
            rng=random.Random(3),
        )
        opts.update(kw)
        self.ex = Executor(
            self.rest,
            OrderSigning(_IdTagging(signer), CREDS.api_key),
            self.commands,
            self.reports,
            stop=self.stop,
            parse_open_order=parse_open_order,
            **opts,
        )
        self.started = False

    def run(self, *commands, expect):
        for c in commands:
            self.commands.put(c)
        if not self.started:
            self.ex.start()
            self.started = True
        out = []
        for _ in range(expect):
            out.append(self.reports.get(timeout=5))
        return out

    def close(self):
        self.stop.set()
        assert self.ex.join(5)


class _IdTagging:
    """Wraps the signer so the fake venue can answer with the real order hash."""

    def __init__(self, signer):
        self.signer = signer

    def build(self, *a, **kw):
        signed = self.signer.build(*a, **kw)
        signed.order["_id"] = signed.order_id
        return signed

    def build_amounts(self, *a, **kw):
        signed = self.signer.build_amounts(*a, **kw)
        signed.order["_id"] = signed.order_id
        return signed


@pytest.fixture
def harness(signer):
    hs = []

    def make(**kw):
        h = Harness(signer, **kw)
        hs.append(h)
        return h

    yield make
    for h in hs:
        h.close()


def order(i, *, post_only=True, price="0.50"):
    return NewOrder(
        client_id=f"c{i}",
        market="0xm",
        token_id=TOKEN,
        side=Side.BUY,
        price=Decimal(price),
        size=Decimal(10),
        post_only=post_only,
    )


def test_batch_results_are_read_one_by_one(harness):
    h = harness()

    def mixed(payloads):
        return [
            ok(payloads[0]["order"]["_id"]),
            {
                "success": True,
                "errorMsg": "not enough balance / allowance",
                "orderID": "",
                "status": "",
            },
            {
                "success": False,
                "errorMsg": "",
                "orderID": payloads[2]["order"]["_id"],
                "status": "live",
            },
            ok(payloads[3]["order"]["_id"], status="delayed"),
        ]

    h.rest.post_script = [mixed]
    reports = h.run(Create(tuple(order(i) for i in range(4))), expect=4)
    kinds = [(type(r).__name__, r.client_id) for r in reports]
    assert kinds == [
        ("OrderAccepted", "c0"),
        ("OrderRejected", "c1"),
        ("OrderRejected", "c2"),
        ("OrderAccepted", "c3"),
    ]
    assert reports[1].reason == "not enough balance / allowance" and reports[1].kind == "rejected"


def test_transient_errors_are_retried_with_the_same_signed_orders(harness):
    h = harness()
    h.rest.post_script = [
        TransientError("429", status=429, retry_after=0.01),
        TransientError("500", status=500),
    ]
    reports = h.run(Create((order(1), order(2))), expect=2)
    assert all(isinstance(r, OrderAccepted) for r in reports)
    salts = [c[1] for c in h.rest.calls if c[0] == "post_orders"]
    assert len(salts) == 3 and salts[0] == salts[1] == salts[2]  # same orders, never re-signed


def test_exhausted_429s_reject_but_exhausted_500s_are_unknown(harness):
    h = harness(max_retries=1)
    h.rest.post_script = [TransientError("429", status=429), TransientError("429", status=429)]
    [r] = h.run(Create((order(1),)), expect=1)
    assert isinstance(r, OrderRejected) and r.kind == "transient"
    h.rest.post_script = [TransientError("500", status=500), TransientError("503", status=503)]
    [r] = h.run(Create((order(2),)), expect=1)
    assert isinstance(r, OrderUnknown) and r.order_id.startswith("0x")


def test_unknown_outcome_is_reported_and_never_resent(harness):
    h = harness()
    h.rest.post_script = [UnknownOutcomeError("read timeout")]
    [r] = h.run(Create((order(1),)), expect=1)
    assert isinstance(r, OrderUnknown) and r.order_id.startswith("0x")
    assert sum(1 for c in h.rest.calls if c[0] == "post_orders") == 1


def test_duplicate_after_an_open_ended_retry_is_unknown_not_rejected(harness):
    h = harness()
    h.rest.post_script = [
        TransientError("500 order timed out", status=500),
        lambda p: [
            {"success": False, "errorMsg": "order 0x.. is invalid. Duplicated.", "orderID": ""}
        ],
    ]
    [r] = h.run(Create((order(1),)), expect=1)
    assert isinstance(r, OrderUnknown)


def test_cancel_only_mode_stops_creates_until_a_probe_succeeds(harness):
    clock = [0.0]
    h = harness(monotonic=lambda: clock[0], mode_probe_secs=5.0)
    h.rest.post_script = [VenueModeError("cancel-only", mode="cancel_only", status=503)]
    reports = h.run(Create((order(1),)), expect=2)
    assert isinstance(reports[0], VenueModeChanged) and reports[0].mode is VenueMode.CANCEL_ONLY
    assert isinstance(reports[1], OrderRejected) and reports[1].kind == "venue_mode"
    posts = len([c for c in h.rest.calls if c[0] == "post_orders"])
    [r] = h.run(Create((order(2),)), expect=1)  # refused locally, nothing sent
    assert isinstance(r, OrderRejected) and r.kind == "venue_mode"
    assert len([c for c in h.rest.calls if c[0] == "post_orders"]) == posts
    [r] = h.run(Cancel(("0xabc",)), expect=1)  # cancels still go
    assert isinstance(r, CancelResult) and r.canceled == ("0xabc",)
    clock[0] = 6.0  # probe due; the venue accepts again
    reports = h.run(Create((order(3),)), expect=2)
    assert isinstance(reports[0], VenueModeChanged) and reports[0].mode is VenueMode.NORMAL
    assert isinstance(reports[1], OrderAccepted)


def test_post_only_mode_sends_only_post_only_orders(harness):
    clock = [0.0]
    h = harness(monotonic=lambda: clock[0])
    h.rest.post_script = [
        VenueModeError("post-only mode", mode="post_only", status=503, retry_after=60)
    ]
    reports = h.run(Create((order(1, post_only=False), order(2, post_only=True))), expect=3)
    by_type = {type(r).__name__: r for r in reports}
    assert by_type["VenueModeChanged"].mode is VenueMode.POST_ONLY
    assert (
        by_type["OrderRejected"].client_id == "c1" and by_type["OrderRejected"].kind == "venue_mode"
    )
    assert by_type["OrderAccepted"].client_id == "c2"
    reports = h.run(Create((order(3, post_only=False), order(4))), expect=2)
    assert {(type(r).__name__, r.client_id) for r in reports} == {
        ("OrderRejected", "c3"),
        ("OrderAccepted", "c4"),
    }


def test_replace_creates_follow_their_cancels_and_cancel_all_drops_earlier_creates(harness):
    h = harness()
    h.commands.put(Create((order(1),)))
    h.commands.put(Replace(cancel_ids=("0xold",), creates=(order(2),)))
    h.commands.put(Cancel(("0xother",)))
    reports = h.run(expect=3)
    answered = {i for r in reports if isinstance(r, CancelResult) for i in r.canceled}
    if answered != {"0xold", "0xother"}:  # the two cancels went out as two requests
        reports.append(h.reports.get(timeout=5))
    assert sorted(getattr(r, "client_id", "") for r in reports if isinstance(r, OrderAccepted)) == [
        "c1",
        "c2",
    ]
    cancelled = [i for c in h.rest.calls if c[0] == "cancel_orders" for i in c[1]]
    assert sorted(cancelled) == ["0xold", "0xother"]
    posts = [i for i, c in enumerate(h.rest.calls) if c[0] == "post_orders"]
    first_cancel = next(i for i, c in enumerate(h.rest.calls) if "0xold" in c[1])
    assert len(posts) == 2 and posts[-1] > first_cancel  # c2 went out after its cancel
    h.rest.calls.clear()
    reports = h.run(Create((order(3),)), CancelAll("risk"), Create((order(4),)), expect=3)
    # c3 may already be on its way; otherwise it is dropped, never sent after the cancel-all
    names = [(type(r).__name__, getattr(r, "client_id", "")) for r in reports]
    assert ("OrderAccepted", "c4") in names
    if ("OrderRejected", "c3") not in names:  # c3 was sent before the cancel-all was even queued
        assert [c[0] for c in h.rest.calls][:2] == ["post_orders", "cancel_all"]


def test_creates_are_batched_by_15(harness):
    h = harness()
    h.run(Create(tuple(order(i) for i in range(20))), expect=20)
    sizes = [len(c[1]) for c in h.rest.calls if c[0] == "post_orders"]
    assert sizes == [15, 5]


def test_a_create_waiting_for_budget_lets_a_later_cancel_go_first(harness):
    clock = [0.0]
    h = harness()
    h.rest.rate_budget = RateBudget(
        {"orders": BucketLimit(5.0, 1.0)}, fraction=1.0, clock=lambda: clock[0]
    )
    h.rest.rate_budget.try_acquire("orders", 1)  # empty: the create must wait 1/5 s of fake time

    h.commands.put(Create((order(1),)))
    h.ex.start()
    h.started = True
    threading.Event().wait(0.3)  # the executor now waits for budget (fake clock does not move)
    assert not [c for c in h.rest.calls if c[0] == "post_orders"]
    h.commands.put(Cancel(("0xurgent",)))
    r = h.reports.get(timeout=5)
    assert isinstance(r, CancelResult) and r.canceled == ("0xurgent",)
    clock[0] = 1.0
    h.commands.put(Cancel(("0xwake",)))  # wake the waiting loop; budget is there now
    got = [h.reports.get(timeout=5) for _ in range(2)]
    assert {type(g).__name__ for g in got} == {"CancelResult", "OrderAccepted"}
    assert [c[0] for c in h.rest.calls][0] == "cancel_orders"


def test_heartbeat_carries_the_returned_id(harness):
    h = harness(heartbeat_enabled=True, heartbeat_secs=0.02)
    h.ex.start()
    h.started = True
    threading.Event().wait(0.15)
    ids = list(h.rest.heartbeat_ids)
    assert ids[0] == "" and ids[1:4] == ["hb-1", "hb-2", "hb-3"]
    assert h.ex.heartbeat_age() < 1.0


def _row(oid, market="0xm"):
    return {
        "id": oid,
        "status": "LIVE",
        "market": market,
        "asset_id": TOKEN,
        "side": "BUY",
        "price": "0.5",
        "original_size": "10",
        "size_matched": "0",
        "owner": "api-key",
        "order_type": "GTC",
    }


def test_open_orders_poll_parses_rows_once_and_skips_malformed_ones(harness):
    h = harness()
    h.rest.open = {"0xa": _row("0xa"), "bad": {"id": "bad", "side": "SIDEWAYS"}}
    snapshot = h.ex.poll_open_orders()
    assert isinstance(snapshot, OpenOrdersSnapshot)
    assert [o.order_id for o in snapshot.orders] == ["0xa"]
    assert h.reports.get(timeout=1) == snapshot  # for the strategy thread's tracker
    assert not hasattr(h.ex, "open_order_ids")  # the executor keeps no order set


def test_cancel_orphans_cancels_the_given_orders(harness):
    h = harness()
    h.rest.open = {"0xa": _row("0xa"), "0xb": _row("0xb")}
    listed = h.ex.list_open_orders()
    assert sorted(o.order_id for o in listed.orders) == ["0xa", "0xb"]
    h.ex.cancel_orphans(["0xb"])
    assert set(h.rest.open) == {"0xa"}


def test_cancel_all_and_verify_retries_until_nothing_is_left(harness):
    h = harness()
    h.rest.open = {"0xa": _row("0xa")}
    h.rest.cancel_all_script = [
        TransientError("500", status=500),
        TransientError("500", status=500),
    ]
    h.rest.list_script = [TransientError("502", status=502)]
    assert h.ex.cancel_all_and_verify(5.0) == []
    assert not h.rest.open


def test_cancel_all_and_verify_never_claims_success_without_listing(harness):
    h = harness()
    h.rest.cancel_all_script = [TransientError("x")] * 100
    h.rest.list_script = [TransientError("x")] * 100
    assert h.ex.cancel_all_and_verify(0.3) == [UNVERIFIED]
    # the fallback names what the strategy's tracker still holds
    assert h.ex.cancel_all_and_verify(0.3, known_open=lambda: ["0xb", "0xa"]) == ["0xa", "0xb"]


def test_rejected_batch_reports_every_order(harness):
    h = harness()
    h.rest.post_script = [RejectedError("Invalid order payload", status=400)]
    reports = h.run(Create((order(1), order(2))), expect=2)
    assert [(type(r).__name__, r.kind) for r in reports] == [("OrderRejected", "rejected")] * 2


def test_off_tick_price_is_rejected_locally(harness):
    h = harness()
    [r] = h.run(Create((order(1, price="0.505"),)), expect=1)
    assert isinstance(r, OrderRejected) and r.kind == "local"
    assert not h.rest.calls


def test_a_post_first_replace_cancels_first_and_retries_balance_refusals_after_the_cancel(
    harness,
):
    h = harness()

    def first_batch(payloads):  # the second order is refused for balance while the old quotes rest
        return [
            ok(payloads[0]["order"]["_id"]),
            {
                "success": False,
                "errorMsg": "not enough balance / allowance",
                "orderID": "",
                "status": "",
            },
        ]

    h.rest.post_script = [first_batch, None]
    reports = h.run(
        Replace(cancel_ids=("0xold",), creates=(order(1), order(2, price="0.49")), post_first=True),
        expect=3,
    )
    calls = [c[0] for c in h.rest.calls]
    assert calls == ["cancel_orders", "post_orders", "post_orders"]
    accepted = sorted(r.client_id for r in reports if isinstance(r, OrderAccepted))
    assert accepted == ["c1", "c2"]  # c2 went through once the cancel freed its collateral
    assert not any(isinstance(r, OrderRejected) for r in reports)


def test_a_balance_refusal_after_the_cancels_is_reported(harness):
    h = harness()

    def refuse(payloads):
        return [
            {
                "success": False,
                "errorMsg": "not enough balance / allowance",
                "orderID": "",
                "status": "",
            }
            for _ in payloads
        ]

    h.rest.post_script = [refuse, refuse]
    reports = h.run(Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=True), expect=2)
    rejected = [r for r in reports if isinstance(r, OrderRejected)]
    assert [r.client_id for r in rejected] == ["c1"] and "balance" in rejected[0].reason


# ---------------------------------------------------------------------- cancels first, always


def _wait(predicate, what, timeout=5.0):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.005)


def _posts(h):
    return [c for c in h.rest.calls if c[0] == "post_orders"]


def test_a_cancel_is_sent_while_a_create_backs_off_after_429_retry_after(harness):
    h = harness(max_retries=3)
    h.rest.post_script = [TransientError("429", status=429, retry_after=5.0)] * 3
    h.commands.put(Create((order(1),)))
    h.ex.start()
    h.started = True
    _wait(lambda: len(_posts(h)) == 1, "the first create attempt")
    h.commands.put(Cancel(("0xold",)))  # no market given: the waiting create is kept
    r = h.reports.get(timeout=5)
    assert isinstance(r, CancelResult) and r.canceled == ("0xold",)
    assert len(_posts(h)) == 1  # the create is still in its 5 s back-off: the cancel did not wait


def test_a_cancel_of_its_market_drops_a_create_waiting_in_back_off(harness):
    h = harness(max_retries=3)
    h.rest.post_script = [TransientError("429", status=429, retry_after=5.0)] * 3
    h.commands.put(Create((order(1),)))
    h.ex.start()
    h.started = True
    _wait(lambda: len(_posts(h)) == 1, "the first create attempt")
    h.commands.put(Cancel(("0xold",), markets=("0xm",)))
    got = {type(r).__name__: r for r in (h.reports.get(timeout=5), h.reports.get(timeout=5))}
    assert got["OrderRejected"].client_id == "c1" and got["OrderRejected"].kind == "local"
    assert got["CancelResult"].canceled == ("0xold",)
    h.commands.put(Create((order(2),)))  # the lane is free again at once, no 5 s wait left
    h.rest.post_script = []
    [r] = [h.reports.get(timeout=5)]
    assert isinstance(r, OrderAccepted) and r.client_id == "c2"
    assert len(_posts(h)) == 2  # c1's one attempt and c2: c1 was never sent again


def test_a_cancel_all_drops_waiting_creates_and_goes_out_at_once(harness):
    h = harness(max_retries=3)
    h.rest.post_script = [TransientError("429", status=429, retry_after=5.0)] * 3
    h.commands.put(Create((order(1),)))
    h.commands.put(Create((order(2),)))
    h.ex.start()
    h.started = True
    _wait(lambda: len(_posts(h)) == 1, "the first create attempt")
    h.commands.put(CancelAll("risk"))
    reports = [h.reports.get(timeout=5) for _ in range(3)]
    rejected = sorted(r.client_id for r in reports if isinstance(r, OrderRejected))
    assert rejected == ["c1", "c2"] and all(
        r.kind == "local" for r in reports if isinstance(r, OrderRejected)
    )
    assert ("cancel_all",) in h.rest.calls and len(_posts(h)) == 1


def test_a_create_is_never_sent_before_a_cancel_routed_before_it(harness):
    h = harness()
    gate = threading.Event()
    original = h.rest.cancel_orders

    def slow_cancel(ids):
        gate.wait(5)  # the cancel is on its way: the create queued after it must wait
        return original(ids)

    h.rest.cancel_orders = slow_cancel
    h.ex.start()
    h.started = True
    h.commands.put(Cancel(("0xold",)))
    h.commands.put(Create((order(1),)))
    _wait(lambda: h.commands.empty() and not h.ex.creates.idle(), "the create routed")
    assert not _posts(h)  # held on the create lane until the cancel is answered
    gate.set()
    got = [h.reports.get(timeout=5) for _ in range(2)]
    assert [type(r).__name__ for r in got] == ["CancelResult", "OrderAccepted"]


def test_a_post_first_replace_posts_while_its_cancel_waits_for_its_answer(harness):
    """Issue 20: the cancel is written first, the post follows without waiting for the cancel's
    answer (the fake venue holds the cancel's answer until the post has arrived)."""
    h = harness()
    post_seen = threading.Event()
    original_post = h.rest.post_orders

    def held_cancel(ids):
        h.rest.calls.append(("cancel_orders", list(ids)))
        h.rest.fire_sent()  # written: the create lane may post now
        assert post_seen.wait(5), "the post waited for the cancel's answer"
        return {"canceled": list(ids), "not_canceled": {}}

    def post(payloads):
        post_seen.set()
        return original_post(payloads)

    h.rest.cancel_orders, h.rest.post_orders = held_cancel, post
    reports = h.run(Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=True), expect=2)
    assert [c[0] for c in h.rest.calls] == ["cancel_orders", "post_orders"]
    assert {type(r).__name__ for r in reports} == {"CancelResult", "OrderAccepted"}


def test_a_replace_that_may_cross_posts_only_after_its_cancel_was_answered(harness):
    h = harness()
    answered = threading.Event()
    original_cancel, original_post = h.rest.cancel_orders, h.rest.post_orders

    def cancel(ids):
        result = original_cancel(ids)
        answered.set()
        return result

    def post(payloads):
        assert answered.is_set(), "a crossing create was posted before its cancel's answer"
        return original_post(payloads)

    h.rest.cancel_orders, h.rest.post_orders = cancel, post
    reports = h.run(Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=False), expect=2)
    assert [type(r).__name__ for r in reports] == ["CancelResult", "OrderAccepted"]
