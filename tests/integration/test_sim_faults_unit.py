"""Fault knob state machine with an injected clock (the HTTP side is in test_sim_faults.py)."""

import random

import pytest

from pmbot.sim.faults import CANCEL_ONLY_ERROR, ORDER_TIMED_OUT, POST_ONLY_MODE_ERROR, Faults


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_restart_is_425_then_post_only_then_normal():
    clock = Clock()
    f = Faults(clock=clock)
    f.restart(too_early_secs=2, post_only_secs=5)
    r = f.before_order(all_post_only=True)
    assert r.status == 425 and dict(r.headers)["Retry-After"] == "2"
    assert f.before_cancel().status == 425
    clock.t += 2.5
    assert f.before_order(all_post_only=True) is None
    r = f.before_order(all_post_only=False)
    assert (
        r.status == 503
        and r.body["error"] == POST_ONLY_MODE_ERROR
        and r.body["code"] == "post_only_mode"
    )
    assert r.body["retry_after_seconds"] == 5 and dict(r.headers)["Retry-After"] == "5"
    assert f.before_cancel() is None
    clock.t += 5
    assert f.before_order(all_post_only=False) is None


def test_counted_faults_are_consumed_in_order():
    f = Faults(clock=Clock())
    f.http_429(2, retry_after_secs=3)
    f.order_timeouts(1)
    assert [f.before_order(all_post_only=False).status for _ in range(3)] == [429, 429, 500]
    assert f.before_order(all_post_only=False) is None
    f.order_timeouts(1)
    assert f.before_order(all_post_only=False).body == {"error": ORDER_TIMED_OUT}


def test_cancel_only_blocks_orders_not_cancels():
    f = Faults(clock=Clock())
    f.cancel_only(True)
    r = f.before_order(all_post_only=True)
    assert r.status == 503 and r.body["error"] == CANCEL_ONLY_ERROR
    assert f.before_cancel() is None
    f.cancel_only(False)
    assert f.before_order(all_post_only=True) is None


def test_error_probability_is_roughly_honoured_and_seeded():
    f = Faults(clock=Clock(), rng=random.Random(1))
    f.error_probability(p_429=0.2, p_500=0.1)
    outcomes = [f.before_order(all_post_only=False) for _ in range(2000)]
    n429 = sum(1 for r in outcomes if r and r.status == 429)
    n500 = sum(1 for r in outcomes if r and r.status == 500)
    assert 300 < n429 < 500 and 120 < n500 < 280
    with pytest.raises(ValueError):
        f.error_probability(p_429=0.8, p_500=0.5)


def test_apply_validates_keys_and_sets_state():
    f = Faults(clock=Clock())
    state = f.apply({"delay_ms": 50, "hang": {"count": 1, "secs": 2}, "silent_feed": True})
    assert state["delay_ms"] == 50 and state["hangs_left"] == 1 and state["silent_feed"] is True
    assert f.take_hang_secs() == 2 and f.take_hang_secs() == 0
    with pytest.raises(ValueError, match="bogus"):
        f.apply({"bogus": 1})
    assert f.apply({"reset": True})["silent_feed"] is False
