"""Pulling stale quotes on the market-feed thread (issue 20).

The strategy thread arms a guard per market after each decision (``arm``): the market's resting
quotes, the mid bucket they were placed for, and their ``DELETE /orders`` request already built and
signed (``OrderRest.prepare_cancel``). The market-feed thread calls ``on_update`` with every book
update before handing it on; when the update makes a guarded market's quotes stale
(``strategy.pull_rule.stale_side``: through the touch, or the market will be re-quoted and the
touch moved towards them), it claims
the guard, writes the ready request on the pull lane's own connection (one ``sendall``: no
signing, no JSON, no thread hop) and puts ``QuotesPulled`` on Inbound ahead of the update, so the
strategy sees those quotes cancel-pending when it decides. Thread ``exec-pulls`` reads the answers
and reports ``CancelResult``s as the cancel lane does (a failed pull turns the orders back live and
the strategy cancels them again). If the pull connection is still busy with an earlier pull, the
cancel is queued to the cancel lane instead.

A guard fires once. A fired market is not armed again until the strategy applied its
``QuotesPulled`` (``settle``), so the same quotes are never pulled twice; a market whose quotes the
strategy cancels itself is disarmed first (``disarm``). Requests are rebuilt every
``REBUILD_SECS`` so their L2 timestamp stays fresh.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pmbot.errors import PmbotError
from pmbot.execution.cancel_lane import CancelJob, CancelLane
from pmbot.execution.ports import Begun, OrderRest, ReportQueue
from pmbot.execution.retry import kind_of
from pmbot.execution.warm import KeepWarm
from pmbot.model import CancelResult, MarketUpdate, QuotesPulled
from pmbot.strategy.pull_rule import ASK, BID, BOTH, QuoteGuard, stale_side

log = logging.getLogger(__name__)

REBUILD_SECS = 2.0  # the venue rejects stale L2 timestamps (window undocumented)


@dataclass(frozen=True, slots=True)
class _Armed:
    guard: QuoteGuard
    # the venue's prepared requests (``OrderRest.prepare_cancel``) by side: bid, ask, both; a
    # value is None without a lean pull connection
    prepared: dict[str, Any]
    built_at: float


class PullDesk:
    def __init__(
        self,
        rest: OrderRest,
        reports: ReportQueue,
        cancels: CancelLane,
        halt: threading.Event,
        metrics: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rest, self.reports, self.cancels, self.halt = rest, reports, cancels, halt
        self.metrics, self.monotonic = metrics, monotonic
        self._lock = threading.Lock()
        self._armed: dict[str, _Armed] = {}  # YES token -> guard; replaced whole (read unlocked)
        self._fired: set[str] = set()  # markets pulled whose QuotesPulled was not yet applied
        self._answers: queue.Queue[tuple[tuple[str, ...], Begun]] = queue.Queue()
        self.warmth = KeepWarm(rest, "pull")

    # ------------------------------------------------------------------ the strategy thread

    def arm(self, guards: Iterable[QuoteGuard]) -> None:
        """The guards of every market with resting quotes now (markets left out are disarmed).
        Requests are built outside the lock, which the feed thread takes to claim a guard."""
        now = self.monotonic()
        old = self._armed
        fresh: dict[str, _Armed] = {}
        for guard in guards:
            have = old.get(guard.yes_token)
            if (
                have is not None
                and have.guard.order_ids == guard.order_ids
                and now - have.built_at < REBUILD_SECS
            ):  # the same quotes: their requests stand, the touch and bucket are new
                fresh[guard.yes_token] = _Armed(guard, have.prepared, have.built_at)
            else:
                fresh[guard.yes_token] = _Armed(guard, self._prepare(guard), now)
        with self._lock:  # a market pulled meanwhile stays unarmed until settled
            self._armed = {t: a for t, a in fresh.items() if a.guard.market not in self._fired}

    def _prepare(self, guard: QuoteGuard) -> dict[str, Any]:
        sides = [side for side in (BID, ASK) if guard.side_ids(side)]
        if len(sides) == 2:
            sides.append(BOTH)
        return {side: self.rest.prepare_cancel(list(guard.side_ids(side))) for side in sides}

    def disarm(self, markets: Iterable[str]) -> None:
        """The strategy is cancelling these markets' quotes itself."""
        wanted = set(markets)
        with self._lock:
            if any(a.guard.market in wanted for a in self._armed.values()):
                self._armed = {t: a for t, a in self._armed.items() if a.guard.market not in wanted}

    def settle(self, market: str) -> None:
        """The strategy applied this market's ``QuotesPulled``: it may be armed again."""
        with self._lock:
            self._fired.discard(market)

    # ------------------------------------------------------------------ the market-feed thread

    def on_update(self, update: MarketUpdate) -> None:
        """Called for every book update before it is put on Inbound; never raises."""
        armed = self._armed.get(update.token_id)
        if armed is None:
            return
        side = stale_side(armed.guard, update.best_bid, update.best_ask)
        if not side:
            return
        with self._lock:
            if self._armed.get(update.token_id) is not armed:
                return  # re-armed or disarmed meanwhile
            self._armed = {t: a for t, a in self._armed.items() if a is not armed}
            self._fired.add(armed.guard.market)
        ids = armed.guard.side_ids(side)
        failed = False
        try:
            self._fire(ids, armed.prepared.get(side))
        except Exception:  # never into the feed thread
            log.exception("pulling stale quotes failed")
            failed = True
        self.reports.put(QuotesPulled(armed.guard.market, ids))
        if failed:
            # No cancel is known to be on its way: without this the orders would stay cancelling
            # (QuotesPulled) while resting; failed turns them back live and the strategy cancels.
            self.reports.put(CancelResult(canceled=(), failed=ids))

    def _fire(self, ids: tuple[str, ...], prepared: Any) -> None:
        begun = None
        if prepared is not None:
            begun = self.rest.send_cancel(prepared, len(ids))
        if begun is not None:
            self.warmth.used()
            self._answers.put((ids, begun))
            path = "written"
        else:
            self.cancels.put(CancelJob(order_ids=ids))
            path = "queued"
        if self.metrics is not None:
            self.metrics.quote_pulls_total.labels(kind=path).inc()

    # ------------------------------------------------------------------ thread exec-pulls

    def run(self) -> None:
        """Read each pull's answer and report it (as the cancel lane reports its own)."""
        try:
            while not self.halt.is_set():
                try:
                    ids, begun = self._answers.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    result = begun.finish()
                except PmbotError as exc:
                    log.warning("pull of %d order(s) failed: %s (cancelled again)", len(ids), exc)
                    self.cancels.retry.count_error(kind_of(exc))
                    self.reports.put(CancelResult(canceled=(), failed=ids))
                    continue
                except Exception:  # a bug must not stop the answers that follow
                    log.exception("pull answer: unexpected error")
                    self.reports.put(CancelResult(canceled=(), failed=ids))
                    continue
                self.cancels.report(result)
        finally:
            log.info("pull reader stopped")
