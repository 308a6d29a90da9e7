"""Keeping the lanes' connections warm (pmbot.execution.warm)."""

from pmbot.errors import TransientError
from pmbot.execution.warm import KeepWarm


class Rest:
    def __init__(self, fail=False):
        self.warmed = []
        self.fail = fail

    def warm(self, lane=""):
        self.warmed.append(lane)
        if self.fail:
            raise TransientError("connection failed")


def test_a_lane_is_warmed_only_after_it_was_idle_long_enough():
    now = [100.0]
    rest = Rest()
    warmth = KeepWarm(rest, "cancel", every=15.0, monotonic=lambda: now[0])
    now[0] = 110.0
    warmth.keep_warm()
    assert rest.warmed == []
    warmth.used()  # a cancel went out at 110: warm again only from 125
    now[0] = 124.0
    warmth.keep_warm()
    assert rest.warmed == []
    now[0] = 125.0
    warmth.keep_warm()
    warmth.keep_warm()
    assert rest.warmed == ["cancel"]


def test_a_failed_warm_up_is_logged_not_raised():
    rest = Rest(fail=True)
    warmth = KeepWarm(rest, "create", every=15.0, monotonic=lambda: 0.0)
    warmth.keep_warm(force=True)
    assert rest.warmed == ["create"]
