"""Executor regressions found by the whole-bot fault soak
(tests/integration/test_bot_under_faults.py),
against a small hand-written fake CLOB."""

import queue
import random
import threading
import time
from decimal import Decimal

import coincurve
import pytest

from pmbot.errors import VenueModeError
from pmbot.execution.executor import Executor
from pmbot.model import (
    Cancel,
    Create,
    NewOrder,
    OrderRejected,
    Replace,
    Side,
    VenueMode,
    VenueModeChanged,
)
from pmbot.venue.auth import ApiCreds
from pmbot.venue.order_signing import OrderSigning
from pmbot.venue.signer import OrderSigner
from pmbot.venue.wire_user import parse_open_order
from tests.unit.test_executor import (  # the fake venue answers with the real order hash
    SentHook,
    _IdTagging,
)

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
CREDS = ApiCreds("api-key", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "pass")


class FakeRest(SentHook):
    """Accepts every order live unless ``post_errors`` holds an exception for the next post; records
    every call in order."""

    rate_budget = None

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.calls = []
        self.post_errors = []

    def post_orders(self, payloads):
        with self.lock:
            self.calls.append(("post", [p["order"]["_id"] for p in payloads]))
            error = self.post_errors.pop(0) if self.post_errors else None
        if error is not None:
            raise error
        return [
            {"success": True, "errorMsg": "", "orderID": p["order"]["_id"], "status": "live"}
            for p in payloads
        ]

    def cancel_orders(self, ids):
        with self.lock:
            self.calls.append(("cancel", list(ids)))
        self.fire_sent()
        return {"canceled": list(ids), "not_canceled": {}}

    def cancel_all(self):
        with self.lock:
            self.calls.append(("cancel_all",))
        self.fire_sent()
        return {"canceled": [], "not_canceled": {}}


@pytest.fixture
def make():
    made = []

    def build(**kw):
        key = coincurve.PrivateKey(bytes([9]) * 32).to_hex()
        signer = _IdTagging(
            OrderSigner("0x" + key, rng=random.Random(1), clock_ms=lambda: 1_767_000_000_000)
        )
        rest, commands, reports, stop = FakeRest(), queue.Queue(), queue.Queue(), threading.Event()
        opts = dict(
            heartbeat_enabled=False,
            reconcile_secs=0,
            max_retries=2,
            backoff_initial=0.001,
            backoff_max=0.002,
            rng=random.Random(3),
        )
        opts.update(kw)
        ex = Executor(
            rest,
            OrderSigning(signer, CREDS.api_key),
            commands,
            reports,
            stop=stop,
            parse_open_order=parse_open_order,
            **opts,
        )
        made.append((ex, stop))
        return ex, rest, commands, reports

    yield build
    for ex, stop in made:
        stop.set()
        assert ex.join(5)


def order(i, price="0.50"):
    return NewOrder(
        client_id=f"c{i}",
        market="0xm",
        token_id=TOKEN,
        side=Side.BUY,
        price=Decimal(price),
        size=Decimal(10),
        post_only=True,
    )


def next_report(reports, timeout=3.0):
    return reports.get(timeout=timeout)


def test_cancel_only_lifts_even_when_the_paused_strategy_sends_no_creates(make):
    """The strategy pauses in cancel-only mode, so no create batch would ever probe the venue: the
    executor itself reports the venue as possibly normal once a probe is due, and a venue still in
    cancel-only puts the mode straight back on the next creates."""
    clock = [0.0]
    ex, rest, commands, reports = make(monotonic=lambda: clock[0], mode_probe_secs=5.0)
    rest.post_errors = [VenueModeError("cancel-only", mode="cancel_only", status=503)]
    commands.put(Create((order(1),)))
    ex.start()
    changed = next_report(reports)
    assert isinstance(changed, VenueModeChanged) and changed.mode is VenueMode.CANCEL_ONLY
    assert isinstance(next_report(reports), OrderRejected)

    time.sleep(0.6)  # idle, probe not due yet: nothing reported
    assert reports.empty() and ex.mode is VenueMode.CANCEL_ONLY

    clock[0] = 6.0  # probe due, still no command from the strategy
    probing = next_report(reports)
    assert isinstance(probing, VenueModeChanged) and probing.mode is VenueMode.NORMAL
    assert "probing" in probing.reason

    rest.post_errors = [VenueModeError("cancel-only", mode="cancel_only", status=503)]
    commands.put(
        Create((order(2),))
    )  # the resumed strategy's creates are the probe: still cancel-only
    back = next_report(reports)
    assert isinstance(back, VenueModeChanged) and back.mode is VenueMode.CANCEL_ONLY
    rejected = next_report(reports)
    assert isinstance(rejected, OrderRejected) and rejected.kind == "venue_mode"
    assert [c[0] for c in rest.calls] == ["post", "post"]


def _run_one_batch(make, *cmds, reports_expected):
    """Queue every command before the executor starts, so they are processed as one drained
    batch."""
    ex, rest, commands, reports = make()
    for cmd in cmds:
        commands.put(cmd)
    ex.start()
    out = [next_report(reports) for _ in range(reports_expected)]
    return rest.calls, out


def test_post_first_creates_never_overtake_a_cancel_queued_before_them(make):
    """The strategy counts an order as gone once its cancel is sent, so a later decision may want
    the same quote again. If the executor was busy (a hung request, a Retry-After) both commands
    arrive in one batch: the later Replace's post-first creates must not be sent before the earlier
    cancel, or the old and the new order rest at once (the same quote twice)."""
    calls, _ = _run_one_batch(
        make,
        Cancel(("0xold",)),
        Replace(cancel_ids=("0xother",), creates=(order(1),), post_first=True),
        reports_expected=2,
    )
    kinds = [c[0] for c in calls]
    assert set(kinds[:-1]) == {"cancel"} and kinds[-1] == "post"  # one or two cancel requests
    assert sorted(i for c in calls[:-1] for i in c[1]) == ["0xold", "0xother"]


def test_a_lone_post_first_replace_cancels_first_then_posts_alongside(make):
    calls, _ = _run_one_batch(
        make,
        Replace(cancel_ids=("0xold",), creates=(order(1),), post_first=True),
        reports_expected=2,
    )
    assert [c[0] for c in calls] == ["cancel", "post"]
