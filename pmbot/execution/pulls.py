"""Pulling stale quotes on the market-feed thread (issue 20).

The strategy thread arms a guard per market after each decision (``arm``): the market's resting
quotes, the mid bucket they were placed for, and their ``DELETE /orders`` request already built and
signed (``OrderRest.prepare_cancel``). The market-feed thread calls ``on_update`` with every book
update before handing it on; when the update makes a guarded market's quotes stale
(``strategy.pull_rule.stale_side``: through the touch, or the market will be re-quoted and the
touch moved towards them), it claims
the guard, writes the ready request on one of the two pull connections (one ``sendall``: no
signing, no JSON, no thread hop) and puts ``QuotesPulled`` on Inbound ahead of the update, so the
strategy sees those quotes cancel-pending when it decides. Thread ``exec-pulls`` reads the answers
and reports ``CancelResult``s as the cancel lane does (a failed pull turns the orders back live and
the strategy cancels them again). If both pull connections are still busy with earlier pulls,
the cancel is queued to the cancel lane instead.

Each side fires once: when one side is pulled, the other stays armed (a book move reaches the
feed as many updates, the bid's touch moving in one and the ask's in a later one; both sides are
pulled as they go stale, so the strategy's re-quote has nothing left to cancel before it posts).
An order pulled is not armed again until the strategy applied its ``QuotesPulled`` (``settle``),
so the same quotes are never pulled twice; before the strategy cancels a market's quotes itself,
``disarm`` stops its pulls and names the orders already pulled that the strategy has not yet
heard of, so it does not cancel them a second time. Requests are rebuilt every ``REBUILD_SECS``
so their L2 timestamp stays fresh.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
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
# Two connections: a book move stales one side and then the other a few updates later, before the
# first pull's answer is back; the second pull need not wait for it or go through the cancel lane.
PULL_LANES = ("pull", "pull2")


@dataclass(frozen=True, slots=True)
class _Armed:
    guard: QuoteGuard
    # the venue's prepared requests (``OrderRest.prepare_cancel``) by side: bid, ask, both; a
    # value is None without a lean pull connection
    prepared: dict[str, Any]
    built_at: float

    def after_pulling(self, side: str) -> _Armed | None:
        """What stays armed once ``side`` was pulled: the other side's quotes, or nothing."""
        other = {BID: ASK, ASK: BID}.get(side)
        if other is None or not self.guard.side_ids(other):
            return None
        guard = replace(
            self.guard,
            bids=self.guard.bids if other == BID else (),
            asks=self.guard.asks if other == ASK else (),
        )
        return _Armed(guard, {other: self.prepared.get(other)}, self.built_at)


def _less(guard: QuoteGuard, pulled: dict[str, str]) -> QuoteGuard | None:
    """The guard without the orders already pulled; None if that leaves none."""
    bids = tuple(row for row in guard.bids if row[1] not in pulled)
    asks = tuple(row for row in guard.asks if row[1] not in pulled)
    if not bids and not asks:
        return None
    return replace(guard, bids=bids, asks=asks)


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
        # order id -> market: pulled, and their QuotesPulled not yet applied by the strategy
        self._pulled: dict[str, str] = {}
        self._answers: queue.Queue[tuple[tuple[str, ...], Begun]] = queue.Queue()
        self.warmths = {lane: KeepWarm(rest, lane) for lane in PULL_LANES}

    # ------------------------------------------------------------------ the strategy thread

    def arm(self, guards: Iterable[QuoteGuard]) -> None:
        """The guards of every market with resting quotes now (markets left out are disarmed).
        Orders already pulled are left out of them. Requests are built outside the lock, which
        the feed thread takes to claim a guard."""
        now = self.monotonic()
        old = self._armed
        with self._lock:
            pulled = dict(self._pulled)
        fresh: dict[str, _Armed] = {}
        for given in guards:
            guard = _less(given, pulled) if pulled else given
            if guard is None:
                continue
            have = old.get(guard.yes_token)
            if (
                have is not None
                and have.guard.order_ids == guard.order_ids
                and now - have.built_at < REBUILD_SECS
            ):  # the same quotes: their requests stand, the touch and bucket are new
                fresh[guard.yes_token] = _Armed(guard, have.prepared, have.built_at)
            else:
                fresh[guard.yes_token] = _Armed(guard, self._prepare(guard), now)
        with self._lock:  # a market with an order pulled meanwhile stays unarmed until settled
            self._armed = {
                t: a
                for t, a in fresh.items()
                if not any(oid in self._pulled for oid in a.guard.order_ids)
            }

    def _prepare(self, guard: QuoteGuard) -> dict[str, Any]:
        sides = [side for side in (BID, ASK) if guard.side_ids(side)]
        if len(sides) == 2:
            sides.append(BOTH)
        return {side: self.rest.prepare_cancel(list(guard.side_ids(side))) for side in sides}

    def disarm(self, markets: Iterable[str]) -> tuple[str, ...]:
        """The strategy is cancelling these markets' quotes itself. Returns the orders of those
        markets already pulled whose ``QuotesPulled`` it has not applied yet: cancel-pending, not
        to be cancelled again."""
        wanted = set(markets)
        with self._lock:
            if any(a.guard.market in wanted for a in self._armed.values()):
                self._armed = {t: a for t, a in self._armed.items() if a.guard.market not in wanted}
            return tuple(sorted(oid for oid, market in self._pulled.items() if market in wanted))

    def settle(self, order_ids: Iterable[str]) -> None:
        """The strategy applied the ``QuotesPulled`` of these orders: they may be armed again."""
        with self._lock:
            for oid in order_ids:
                self._pulled.pop(oid, None)

    # ------------------------------------------------------------------ the market-feed thread

    def on_update(self, update: MarketUpdate) -> None:
        """Called for every book update before it is put on Inbound; never raises."""
        armed = self._armed.get(update.token_id)
        if armed is None:
            return
        side = stale_side(armed.guard, update.best_bid, update.best_ask)
        if not side:
            return
        ids = armed.guard.side_ids(side)
        rest = armed.after_pulling(side)
        with self._lock:
            if self._armed.get(update.token_id) is not armed:
                return  # re-armed or disarmed meanwhile
            now_armed = {t: a for t, a in self._armed.items() if a is not armed}
            if rest is not None:
                now_armed[update.token_id] = rest
            self._armed = now_armed
            for oid in ids:
                self._pulled[oid] = armed.guard.market
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
        for lane in PULL_LANES if prepared is not None else ():
            begun = self.rest.send_cancel(prepared, len(ids), lane)
            if begun is not None:
                self.warmths[lane].used()
                break
        if begun is not None:
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
