"""tests/waiting.py: waits end on the condition and fail naming what was awaited."""

from __future__ import annotations

import itertools

import pytest

from tests.waiting import holds_for, timeout_scale, wait_for


def test_wait_for_returns_the_first_truthy_value():
    calls = itertools.count(1)
    assert wait_for(lambda: next(calls) >= 3 and "ready", 60, "three calls", interval=0) == "ready"
    assert next(calls) == 4  # stopped polling as soon as it held


def test_wait_for_fails_naming_what_it_waited_for_and_the_last_value():
    with pytest.raises(AssertionError, match=r"waiting for the bot to be up \(last: \[\]\)"):
        wait_for(lambda: [], 0, "the bot to be up")


def test_wait_for_treats_ignored_exceptions_as_not_yet():
    attempts = iter([OSError("refused"), OSError("refused"), 7])

    def probe():
        got = next(attempts)
        if isinstance(got, Exception):
            raise got
        return got

    assert wait_for(probe, 60, "a server", interval=0, ignore=(OSError,)) == 7
    with pytest.raises(ValueError):
        wait_for(lambda: int("x"), 60, "a number", ignore=(OSError,))


def test_holds_for_fails_at_the_first_violation():
    values = iter([True, True, False])
    with pytest.raises(AssertionError, match="no second basket stopped holding"):
        holds_for(lambda: next(values), 60, "no second basket", interval=0)


def test_holds_for_checks_at_least_once():
    with pytest.raises(AssertionError):
        holds_for(lambda: 0, 0, "anything")
    holds_for(lambda: 1, 0, "anything")


def test_the_timeout_scale_is_validated(monkeypatch):
    monkeypatch.delenv("PMBOT_TEST_TIMEOUT_SCALE", raising=False)
    assert timeout_scale() == 1.0
    monkeypatch.setenv("PMBOT_TEST_TIMEOUT_SCALE", "2.5")
    assert timeout_scale() == 2.5
    for bad in ("0", "-1", "fast"):
        monkeypatch.setenv("PMBOT_TEST_TIMEOUT_SCALE", bad)
        with pytest.raises(ValueError, match="PMBOT_TEST_TIMEOUT_SCALE"):
            timeout_scale()
