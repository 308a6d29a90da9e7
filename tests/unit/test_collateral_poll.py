"""The collateral poller: one ``GET /balance-allowance`` per period as a ``CollateralSnapshot`` on
the strategy thread's queue; a failed read is counted and skipped, never fatal."""

from __future__ import annotations

import queue
import threading
from decimal import Decimal as D

from pmbot.errors import TransientError
from pmbot.model import CollateralSnapshot
from pmbot.venue.collateral_poll import CollateralPoller, Pollers
from pmbot.venue.wire_clob import BalanceAllowance


class FakeRest:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def balance_allowance(self, signature_type, asset_type="COLLATERAL", token_id=""):
        self.calls.append((signature_type, asset_type))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_read_becomes_a_snapshot_of_the_free_figure():
    out: queue.Queue = queue.Queue()
    funds = BalanceAllowance(D(20), (("0xa", D(15)), ("0xb", D(100))))
    rest = FakeRest([funds])
    poller = CollateralPoller(rest, 2, out, stop=threading.Event(), clock=lambda: 5.0)
    snap = poller.poll_once()
    assert snap == CollateralSnapshot(D(15), D(20), D(15), 5.0)  # capped by the binding allowance
    assert out.get_nowait() == snap and rest.calls == [(2, "COLLATERAL")]


def test_a_failed_read_is_counted_and_sends_nothing():
    out: queue.Queue = queue.Queue()
    rest = FakeRest([TransientError("HTTP 503"), BalanceAllowance(D(1), ())])
    poller = CollateralPoller(rest, 0, out, stop=threading.Event())
    assert poller.poll_once() is None and out.empty() and poller.failures == 1
    assert poller.poll_once() is not None and poller.polls == 1


def test_the_thread_polls_each_period_and_stops_on_close():
    out: queue.Queue = queue.Queue()
    rest = FakeRest([BalanceAllowance(D(n), ()) for n in range(1000)])
    poller = CollateralPoller(rest, 0, out, stop=threading.Event(), interval_secs=0.01)
    group = Pollers(poller)
    group.start()
    first = out.get(timeout=10)
    second = out.get(timeout=10)
    group.close()
    group.join(10)
    assert poller._thread is not None and not poller._thread.is_alive()
    assert (first.free_usd, second.free_usd) == (D(0), D(1))
