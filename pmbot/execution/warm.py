"""Keeping a lane's pooled connection open: a lane idle for ``KEEP_WARM_SECS`` sends a cheap
``GET /time`` on its own connection, so the next cancel or post never pays for a new TCP/TLS
handshake (a venue or proxy closes idle keep-alive connections). Best effort: a failure is logged
and the next real request opens a connection as it would anyway."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pmbot.errors import PmbotError
from pmbot.execution.ports import OrderRest

log = logging.getLogger(__name__)

KEEP_WARM_SECS = 15.0


class KeepWarm:
    """Called by one lane's own thread only (no lock needed)."""

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
