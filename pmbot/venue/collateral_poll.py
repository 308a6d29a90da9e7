"""Thread ``collateral-poller``: the funder's free pUSD for the strategy thread (issue 13 item 8).

Every ``interval_secs`` (the positions poll's interval: one request per period) read
``GET /balance-allowance`` through ``ClobRest`` and put a ``CollateralSnapshot`` on the strategy
thread's queue. The runner takes the first one synchronously (``poll_once`` before ``start``), so
the strategy knows the balance before the first book arrives. A failed read is logged (the first
of a run at warning); the loop never dies and the strategy thread keeps the last good figure.

After a balance refusal the executor re-reads the balance itself (``OrderSigning.explain_refusal``)
and the strategy thread takes the figure from that report; this poller is the periodic refresh.
``Pollers`` starts, closes and joins this poller with the positions poller as one feed part.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pmbot.errors import PmbotError
from pmbot.model import CollateralSnapshot
from pmbot.venue.polling import PeriodicPoller
from pmbot.venue.wire_clob import BalanceAllowance, ClobWireError

log = logging.getLogger(__name__)


class BalanceSource(Protocol):
    """What the poller needs from ``pmbot.venue.rest.ClobRest``."""

    def balance_allowance(
        self, signature_type: int, asset_type: str = "COLLATERAL", token_id: str = ""
    ) -> BalanceAllowance: ...


class FeedPart(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


def snapshot(funds: BalanceAllowance, taken_ts: float) -> CollateralSnapshot:
    return CollateralSnapshot(funds.free, funds.balance, funds.allowance, taken_ts)


class CollateralPoller(PeriodicPoller):
    thread_name = "collateral-poller"
    poll_first = False  # the runner reads the balance synchronously at start-up

    def __init__(
        self,
        rest: BalanceSource,
        signature_type: int,
        out: queue.Queue[Any],
        *,
        stop: threading.Event,
        interval_secs: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(stop=stop, interval_secs=interval_secs)
        self.rest = rest
        self.signature_type = signature_type
        self.out = out
        self._clock = clock

    def poll_once(self) -> CollateralSnapshot | None:
        try:
            funds = self.rest.balance_allowance(self.signature_type)
        except (PmbotError, ClobWireError) as exc:
            self.failures += 1
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            log.log(level, "balance poll failed (%d so far): %s", self.failures, exc)
            return None
        self.polls += 1
        snap = snapshot(funds, self._clock())
        self.out.put(snap)
        return snap


class Pollers:
    """Several polling threads as one feed part (the runner starts, closes and joins its parts)."""

    def __init__(self, *parts: FeedPart) -> None:
        self.parts = parts

    def start(self) -> None:
        for part in self.parts:
            part.start()

    def close(self) -> None:
        for part in self.parts:
            part.close()

    def join(self, timeout: float | None = None) -> None:
        for part in self.parts:
            part.join(timeout)
