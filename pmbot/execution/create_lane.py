"""The create lane: its own thread signs and posts creates, waits for rate budget and backs off on
errors, so none of that can delay a cancel (the cancel lane runs beside it).

- A create that must follow cancels (``after``) waits until the cancel lane answered them.
- Creates posted alongside their cancels (``alongside``, issue 20) are signed at once and posted as
  soon as the cancel lane has written that cancel: the cancel is first on the wire, and neither
  waits for the other's answer. One the venue refuses for balance is posted again once that cancel
  was answered (it freed the collateral).
- ``supersede`` drops quote creates of the given markets that are still waiting (queued, waiting for
  their cancels, for budget or in a back-off): they were decided before a cancel of that market and
  must never land after it. They are reported rejected, kind ``local`` (or unknown if an earlier
  attempt may have placed them), so the strategy forgets them and decides again.
- Transient errors are retried with the same signed orders (same hash): a resend can never create a
  second order. Unknown outcomes are never resent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pmbot import ratelimit
from pmbot.errors import (
    FatalError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    VenueModeError,
)
from pmbot.execution.cancel_lane import CancelJob
from pmbot.execution.create_failures import PostFailures
from pmbot.execution.ports import OrderRest, OrderSigning, ReportQueue
from pmbot.execution.post_results import (
    SignedItem,
    give_up,
    read_results,
    reject,
    report_unknown,
)
from pmbot.execution.presign import Presigner
from pmbot.execution.retry import RetryPolicy
from pmbot.execution.venue_mode import ModeGate, reject_local
from pmbot.execution.warm import KeepWarm
from pmbot.model import NewOrder, VenueMode

log = logging.getLogger(__name__)


@dataclass(eq=False)
class CreateJob:
    orders: list[NewOrder]
    after: threading.Event | None = None  # the cancels these creates must follow
    alongside: CancelJob | None = None  # cancels sent with these creates: written first
    deferred: list[SignedItem] = field(default_factory=list)  # balance refusals, retried after
    signed: list[SignedItem] | None = None  # signed by ``try_inline`` (not signed again)
    begun: Any = None  # its POST written by ``try_inline``: only the answer is read here


class CreateLane(PostFailures):
    def __init__(
        self,
        rest: OrderRest,
        signing: OrderSigning,
        reports: ReportQueue,
        retry: RetryPolicy,
        gate: ModeGate,
        halt: threading.Event,
        *,
        max_batch: int,
        metrics: Any = None,
    ) -> None:
        self.rest = rest
        self.signing = signing
        self.reports = reports
        self.retry = retry
        self.gate = gate
        self.halt = halt
        self.max_batch = max_batch
        self.metrics = metrics
        self.warmth = KeepWarm(rest, "create")
        self._cv = threading.Condition()
        self._jobs: deque[CreateJob] = deque()
        self._current: CreateJob | None = None
        self._inline = False  # a caller is signing and writing a job (``try_inline``)
        self._dropped: set[str] = set()  # client ids of the current job superseded meanwhile
        self.fatal: str | None = None  # set when the venue wants an order version we cannot sign
        self.presigner: Presigner | None = None  # orders signed ahead (issue 20), if enabled

    # ------------------------------------------------------------------ called by other threads

    def put(self, job: CreateJob) -> None:
        with self._cv:
            self._jobs.append(job)
            self._cv.notify_all()

    def wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def idle(self) -> bool:
        with self._cv:
            return not self._jobs and self._current is None and not self._inline

    def _could_inline(self, job: CreateJob) -> bool:
        if (job.after is not None and not job.after.is_set()) or self.fatal is not None:
            return False
        if not job.orders or len(job.orders) > self.max_batch or self.gate.mode != VenueMode.NORMAL:
            return False
        with self._cv:
            return not (self._jobs or self._current is not None or self._inline)

    def presign(self, job: CreateJob) -> None:
        """Sign the job now, on the caller's thread, if it may be posted from there (``try_inline``)
        right after its cancels are written: the two writes then follow each other directly."""
        if job.signed is None and self._could_inline(job):
            job.signed = self._sign(job.orders)

    def try_inline(self, job: CreateJob, handoff: list[Callable[[], None]]) -> bool:
        """Issue 20, on the caller's thread (the strategy's): when this lane is idle, the venue
        mode normal, the rate budget has room and the job waits for nothing (its cancels, if any,
        already written), sign it here (unless ``presign`` did) and write its ``POST /orders`` now
        on the lane's connection. The lane's thread, handed the job through ``handoff`` once the
        caller wrote everything, reads the answer and does everything after (results, retries,
        deferred balance refusals). False, nothing sent, otherwise."""
        if job.alongside is not None and not job.alongside.sent.is_set():
            return False
        if not self._could_inline(job):
            return False
        with self._cv:
            if self.halt.is_set():
                return False
            self._inline = True
        try:
            if job.signed is None:
                job.signed = self._sign(job.orders)
            if job.signed:
                job.begun = self.rest.begin_post([item.payload for item in job.signed])
            if job.begun is not None:
                self._observe_tick_to_order(job.signed)
                self.warmth.used()
        except Exception:  # never into the caller's thread: the lane posts it instead
            log.exception("create lane: writing a post ahead failed")
            job.begun = None
        handoff.append(lambda: self._hand_over(job))
        return True

    def _hand_over(self, job: CreateJob) -> None:
        """After ``try_inline``: the lane reads the answer (or posts what could not be written)."""
        with self._cv:
            self._inline = False
            if job.signed:
                self._jobs.appendleft(job)
            self._cv.notify_all()

    def supersede(self, markets: Iterable[str] | None, reason: str) -> None:
        """Drop waiting creates: quote creates of ``markets``, or every create if None."""
        wanted = None if markets is None else frozenset(markets)
        if wanted is not None and not wanted:
            return

        def hit(o: NewOrder) -> bool:
            return wanted is None or (o.tag == "quote" and o.market in wanted)

        dropped: list[NewOrder] = []
        with self._cv:
            for job in self._jobs:
                if job.begun is not None:  # already on the wire: its answer decides
                    continue
                dropped += [o for o in job.orders if hit(o)]
                job.orders = [o for o in job.orders if not hit(o)]
            if self._current is not None:
                self._dropped.update(o.client_id for o in self._current.orders if hit(o))
            self._cv.notify_all()
        reject_local(self.reports, dropped, reason)

    # ------------------------------------------------------------------ the thread

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                job = self._next_job()
                if job is None:
                    self.gate.probe_when_due()
                    self._publish_budget()
                    continue
                try:
                    self._run_job(job)
                except Exception:  # a bug must not stop the creates that follow
                    log.exception("create lane: unexpected error")
                finally:
                    with self._cv:
                        self._current = None
                        self._dropped.clear()
        finally:
            with self._cv:
                left, self._jobs = list(self._jobs), deque()
            for job in left:
                if job.begun is not None:  # written by try_inline: they may rest
                    report_unknown(self.reports, job.signed or [], "shutting down, answer unread")
                else:
                    reject_local(self.reports, job.orders, "shutting down")
            log.info("create lane stopped")

    def _next_job(self) -> CreateJob | None:
        with self._cv:
            if not self._jobs:
                self._cv.wait(0.2)
            if not self._jobs or self.halt.is_set():
                return None
            self._current = self._jobs.popleft()
            self._dropped.clear()
            return self._current

    def _publish_budget(self) -> None:
        budget = self.rest.rate_budget
        if self.metrics is not None and budget is not None:
            for family in ratelimit.FAMILIES:
                gauge = self.metrics.rate_budget_remaining
                gauge.labels(family=family).set(budget.available(family))

    def _wait_for(self, event: threading.Event) -> bool:
        """Wait until ``event`` is set (the cancel lane wakes us). False if halted first."""
        with self._cv:
            while not event.is_set():
                if self.halt.is_set():
                    return False
                self._cv.wait(1.0)
        return True

    def _sleep(self, delay: float, chunk: list[SignedItem]) -> bool:
        """Back-off / budget wait; returns early when an order of ``chunk`` is superseded.
        True if halted."""
        ids = {item.order.client_id for item in chunk}
        end = time.monotonic() + delay
        with self._cv:
            while not self.halt.is_set():
                left = end - time.monotonic()
                if left <= 0 or self._dropped & ids:
                    return False
                self._cv.wait(left)
        return True

    def _keep(self, chunk: list[SignedItem], uncertain: bool) -> list[SignedItem]:
        """Remove the superseded orders of ``chunk``, reporting each once."""
        with self._cv:
            gone = [item for item in chunk if item.order.client_id in self._dropped]
            self._dropped.difference_update(item.order.client_id for item in gone)
        if not gone:
            return chunk
        reason = "superseded by a cancel of its market"
        if uncertain:
            report_unknown(self.reports, gone, f"{reason} after an open-ended attempt")
        else:
            for item in gone:
                self.reports.put(reject(item, reason, "local"))
        return [item for item in chunk if item not in gone]

    # ------------------------------------------------------------------ one job

    def _run_job(self, job: CreateJob) -> None:
        if job.begun is not None:
            self._post_chunk(job.signed or [], job, defer=job.alongside is not None)
            self._post_deferred(job)
            return
        if job.after is not None and not self._wait_for(job.after):
            reject_local(self.reports, job.orders, "shutting down")
            return
        with self._cv:
            orders = [o for o in job.orders if o.client_id not in self._dropped]
            dropped = [o for o in job.orders if o.client_id in self._dropped]
            self._dropped.difference_update(o.client_id for o in dropped)
        reject_local(self.reports, dropped, "superseded by a cancel of its market")
        if self.fatal is not None:
            reject_local(self.reports, orders, self.fatal)
            return
        if job.signed is not None:  # signed by try_inline, not sent (no budget, lane busy)
            keep = {o.client_id for o in self.gate.filter(orders)}
            items = [item for item in job.signed if item.order.client_id in keep]
        else:
            items = self._sign(self.gate.filter(orders))
        if job.alongside is not None and not self._wait_for(job.alongside.sent):
            for item in items:
                self.reports.put(reject(item, "shutting down", "local"))
            return
        for start in range(0, len(items), self.max_batch):
            chunk = self._keep(items[start : start + self.max_batch], uncertain=False)
            if chunk and not self._await_budget(chunk):
                unsent = self._keep(chunk, uncertain=False) + items[start + self.max_batch :]
                for item in unsent:
                    self.reports.put(reject(item, "shutting down", "local"))
                return
            chunk = self._keep(chunk, uncertain=False)  # superseded while waiting for budget
            if chunk:
                self._post_chunk(chunk, job, defer=job.alongside is not None)
        self._post_deferred(job)

    def _post_deferred(self, job: CreateJob) -> None:
        """Balance refusals of a job posted beside its cancels: once more after their answer."""
        if job.deferred and job.alongside is not None:
            if self._wait_for(job.alongside.done):
                self._post_chunk(job.deferred, job, defer=False)
            else:
                give_up(self.reports, job.deferred, "shutting down", False)

    def _sign(self, orders: list[NewOrder]) -> list[SignedItem]:
        """Each order signed (ahead, by the presigner, when it has a fresh match)."""
        items = []
        take = self.presigner.take if self.presigner is not None else None
        for order in orders:
            try:
                got = take(order) if take is not None else None
                order_id, payload = got if got is not None else self.signing.sign(order)
            except ValueError as exc:
                reject_local(self.reports, [order], f"not signed: {exc}")
                continue
            items.append(SignedItem(order, order_id, payload))
        return items

    def _await_budget(self, chunk: list[SignedItem]) -> bool:
        """Wait for order budget (cancels run meanwhile on their own lane). False if halted."""
        budget = self.rest.rate_budget
        while budget is not None:
            delay = budget.delay(ratelimit.ORDERS, len(chunk))
            if delay <= 0:
                return True
            if self._sleep(delay, chunk):
                return False
        return not self.halt.is_set()

    def _observe_tick_to_order(self, chunk: list[SignedItem]) -> None:
        """Tick-to-order: from the market-data frame that caused an order coming off the socket to
        the request that carries it being written (signing and batching included)."""
        if self.metrics is None:
            return
        now_ns = time.monotonic_ns()
        histogram = self.metrics.tick_to_order_seconds
        for item in chunk:
            if item.order.origin_ns:
                histogram.observe((now_ns - item.order.origin_ns) / 1e9)

    def _post_chunk(
        self, chunk: list[SignedItem], job: CreateJob, *, defer: bool, mode_retry: bool = True
    ) -> None:
        uncertain = False
        attempt = 0
        begun, job.begun = job.begun, None  # written by try_inline: its answer is the first try
        if begun is None:
            self._observe_tick_to_order(chunk)
            self.warmth.used()
        while True:
            try:
                if begun is not None:
                    results = begun.finish()
                else:
                    results = self.rest.post_orders([item.payload for item in chunk])
                break
            except TransientError as exc:
                self.retry.count_error("transient")
                uncertain = uncertain or (exc.status is not None and exc.status >= 500)
                delay = self.retry.backoff(attempt, exc.retry_after)
                if self.retry.gives_up(attempt, delay):
                    give_up(self.reports, chunk, str(exc), uncertain)
                    return
                self.retry.count_retry("post_orders", exc)
                log.info("post_orders: %s; retry %d in %.2f s", exc, attempt + 1, delay)
                if self._sleep(delay, chunk):
                    give_up(self.reports, chunk, str(exc), uncertain)
                    return
                begun = None
                chunk = self._keep(chunk, uncertain)
                if not chunk:
                    return
                attempt += 1
            except (UnknownOutcomeError, VenueModeError, RejectedError, FatalError) as exc:
                self._post_failed(chunk, job, exc, uncertain, mode_retry)
                return
        self.gate.accepted([item.order for item in chunk])
        read_results(
            self.reports,
            chunk,
            results,
            retried=uncertain,
            deferred=job.deferred if defer else None,
            explain=self.signing.explain_refusal,
        )
