"""Keeping the lanes' connections open: the ``exec-warm`` thread sends a cheap ``GET /time`` on a
lane's own connection once the lane was idle for ``KEEP_WARM_SECS``, so the next cancel or post
never pays for a new TCP/TLS handshake (a venue or proxy closes idle keep-alive connections). It
runs on its own thread so a slow warm-up never holds a lane's thread; a cancel or post that finds
the connection busy with one uses the lane's ``requests`` session instead of waiting. Best effort:
a failure is logged and the next real request opens a connection as it would anyway."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pmbot.errors import PmbotError
from pmbot.execution.ports import OrderRest

log = logging.getLogger(__name__)

KEEP_WARM_SECS = 15.0


class KeepWarm:
    """``used`` is called by the lane's thread, ``keep_warm`` by ``exec-warm`` (a float store)."""

    def __init__(
        self,
        rest: OrderRest,
        lane: str,
        every: float = KEEP_WARM_SECS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rest = rest
        self.lane = lane
        self.every = every
        self.monotonic = monotonic
        self._last = monotonic()

    def used(self) -> None:
        """The lane just sent a request: its connection is warm."""
        self._last = self.monotonic()

    def keep_warm(self, force: bool = False) -> None:
        if not force and self.monotonic() - self._last < self.every:
            return
        self._last = self.monotonic()
        try:
            self.rest.warm(self.lane)
        except PmbotError as exc:
            log.info("could not warm the %s lane's connection: %s", self.lane, exc)


def keep_warm_loop(lanes: list[KeepWarm], halt: threading.Event, every: float = 1.0) -> None:
    """The ``exec-warm`` thread: checks each lane once a second until ``halt``."""
    while not halt.wait(every):
        for lane in lanes:
            lane.keep_warm()
