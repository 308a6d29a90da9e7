"""Token buckets per family: refill from an injected clock, a fraction of the venue limits, cancels
first."""

import pytest

from pmbot.ratelimit import BucketLimit, RateBudget


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def _budget(clock, **kw):
    limits = {
        "orders": BucketLimit(10.0, 10.0),
        "cancels": BucketLimit(10.0, 10.0),
        "reads": BucketLimit(10.0, 10.0),
    }
    return RateBudget(
        limits, fraction=kw.pop("fraction", 1.0), clock=clock, wall_clock=lambda: 5000.0, **kw
    )


def test_budget_is_a_fraction_of_the_venue_limit():
    budget = RateBudget({"orders": BucketLimit(40.0, 60.0)}, fraction=0.5, clock=Clock())
    assert budget.available("orders") == 30.0


def test_orders_wait_when_empty_and_refill_with_the_clock():
    clock = Clock()
    budget = _budget(clock)
    assert budget.try_acquire("orders", 10)
    assert not budget.try_acquire("orders", 1)
    assert budget.delay("orders", 5) == pytest.approx(0.5)
    clock.now += 0.5
    assert budget.try_acquire("orders", 5)
    clock.now += 100
    assert budget.available("orders") == 10.0  # capped at the burst


def test_cancels_have_priority_they_may_run_on_debt_while_creates_wait():
    clock = Clock()
    budget = _budget(clock)
    assert budget.try_acquire("orders", 10) and budget.try_acquire("cancels", 10)
    assert not budget.try_acquire("orders", 1)
    assert budget.try_acquire("cancels", 8)  # venue allows a negative cancel balance
    assert budget.available("cancels") == -8
    assert not budget.try_acquire("cancels", 5)  # but not more than one burst of debt
    assert budget.delay("cancels", 5) == pytest.approx(0.3)


def test_batch_bigger_than_the_burst_goes_once_the_bucket_is_full():
    clock = Clock()
    budget = _budget(clock)
    assert budget.try_acquire("orders", 15)
    assert budget.available("orders") == -5
    assert budget.delay("orders", 15) == pytest.approx(1.5)


def test_venue_headers_clamp_and_hold_until_reset():
    clock = Clock()
    budget = _budget(clock)
    parsed = budget.observe(
        "orders", {"Poly-RateLimit-Remaining": "0", "Poly-RateLimit-Reset": "5002"}
    )
    assert parsed["remaining"] == 0
    assert budget.delay("orders", 1) == pytest.approx(2.0)
    clock.now += 1.0
    assert not budget.try_acquire("orders", 1)  # no refill while the venue holds the bucket
    clock.now += 1.1
    assert budget.try_acquire("orders", 1)


def test_higher_remaining_header_does_not_raise_the_local_bucket():
    clock = Clock()
    budget = _budget(clock)
    budget.try_acquire("reads", 8)
    budget.observe("reads", {"Poly-RateLimit-Remaining": "500"})
    assert budget.available("reads") == 2


def test_acquire_waits_through_the_injected_wait_and_gives_up_on_stop():
    clock = Clock()
    budget = _budget(clock)
    budget.try_acquire("orders", 10)
    waits = []

    def wait(seconds):
        waits.append(seconds)
        clock.now += seconds
        return False

    assert budget.acquire("orders", 2, wait=wait)
    assert waits == [pytest.approx(0.2)]
    budget.try_acquire("orders", 10)
    assert not budget.acquire("orders", 5, wait=lambda s: True)  # stop event set -> give up


def test_unknown_family_and_bad_fraction_are_errors():
    with pytest.raises(ValueError):
        RateBudget(fraction=0)
    with pytest.raises(ValueError):
        RateBudget(clock=Clock()).available("nope")
