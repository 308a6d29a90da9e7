"""SIGHUP = reload: the signal only queues a token; the reload thread does the work and logs it."""

from __future__ import annotations

import os
import signal
import threading

from pmbot.control.hangup import install_reload_on_hangup
from pmbot.control.protocol import ControlAnswer
from tests.waiting import wait_for


def test_sighup_runs_the_reload_on_its_own_thread() -> None:
    calls: list[tuple[str, str]] = []

    def reload(who: str) -> ControlAnswer:
        calls.append((who, threading.current_thread().name))
        return ControlAnswer(True, "applied: strategy.edge_fraction 0.1 -> 0.2")

    reloader = install_reload_on_hangup(reload)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        wait_for(lambda: reloader.done >= 1, timeout=10, what="a reload after SIGHUP")
        assert calls[0] == ("SIGHUP", "reload")
    finally:
        reloader.stop()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL


def test_a_failing_reload_is_logged_and_the_thread_keeps_serving() -> None:
    answers = iter([RuntimeError("bug"), ControlAnswer(False, "invalid config, nothing changed")])

    def reload(who: str) -> ControlAnswer:
        nxt = next(answers)
        if isinstance(nxt, Exception):
            raise nxt
        return nxt

    reloader = install_reload_on_hangup(reload)
    try:
        reloader.trigger()
        wait_for(lambda: reloader.done >= 1, timeout=10, what="the failing reload")
        reloader.trigger()
        wait_for(lambda: reloader.done >= 2, timeout=10, what="the second reload")
    finally:
        reloader.stop()


def test_a_stopping_bot_ignores_a_late_sighup() -> None:
    reloader = install_reload_on_hangup(lambda who: ControlAnswer(True, "no change"))
    try:
        reloader.stop(then=signal.SIG_IGN)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGHUP)  # ignored: the test process lives on
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
