"""The dead-man heartbeat (thread ``heartbeat``): ``POST /v1/heartbeats`` every ``interval``
seconds,
carrying the id the venue returned last. If the bot dies, the venue cancels everything ~10-15 s
later. A failed heartbeat is retried within a second (the venue's window is ~10 s)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pmbot.errors import PmbotError
from pmbot.execution.ports import HeartbeatRest

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self,
        rest: HeartbeatRest,
        halt: threading.Event,
        stop: threading.Event,
        *,
        interval: float,
        monotonic: Callable[[], float],
        metrics: Any = None,
    ) -> None:
        self.rest = rest
        self.halt = halt
        self.stop = stop
        self.interval = interval
        self.monotonic = monotonic
        self.metrics = metrics
        self._last_ok: float | None = None
        self._started = monotonic()

    def age(self) -> float:
        """Seconds since the last successful heartbeat (since start if none yet)."""
        last = self._last_ok if self._last_ok is not None else self._started
        return max(0.0, self.monotonic() - last)

    def run(self) -> None:
        heartbeat_id = ""
        delay = 0.0
        while not self.halt.wait(delay):
            if self.stop.is_set():
                self.halt.set()
                break
            try:
                heartbeat_id = self.rest.heartbeat(heartbeat_id)
                self._last_ok = self.monotonic()
                if self.metrics is not None:
                    self.metrics.mark_heartbeat()
                delay = self.interval
            except PmbotError as exc:
                log.warning("heartbeat failed: %s", exc)
                if self.metrics is not None:
                    self.metrics.heartbeats_missed_total.inc()
                delay = min(1.0, self.interval)
        log.info("heartbeat thread stopped")
