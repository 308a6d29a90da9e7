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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pmbot import ratelimit
from pmbot.errors import (
    FatalError,
    PmbotError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    VenueModeError,
)
from pmbot.execution.cancel_lane import CancelJob
from pmbot.execution.ports import OrderRest, OrderSigning, ReportQueue
from pmbot.execution.post_results import (
    SignedItem,
    give_up,
    read_results,
    reject,
    report_unknown,
)
from pmbot.execution.retry import RetryPolicy, kind_of
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


class CreateLane:
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
        self._dropped: set[str] = set()  # client ids of the current job superseded meanwhile
        self.fatal: str | None = None  # set when the venue wants an order version we cannot sign

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
            return not self._jobs and self._current is None

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
        if job.deferred and job.alongside is not None:
            if self._wait_for(job.alongside.done):
                self._post_chunk(job.deferred, job, defer=False)
            else:
                give_up(self.reports, job.deferred, "shutting down", False)

    def _sign(self, orders: list[NewOrder]) -> list[SignedItem]:
        items = []
        for order in orders:
            try:
                order_id, payload = self.signing.sign(order)
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
        self._observe_tick_to_order(chunk)
        self.warmth.used()
        while True:
            try:
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

    def _post_failed(
        self,
        chunk: list[SignedItem],
        job: CreateJob,
        exc: Exception,
        uncertain: bool,
        mode_retry: bool,
    ) -> None:
        self.retry.count_error(kind_of(exc))
        if isinstance(exc, UnknownOutcomeError):
            report_unknown(self.reports, chunk, str(exc))
        elif uncertain:  # an earlier attempt may have placed them: do not call them rejected
            report_unknown(self.reports, chunk, f"{kind_of(exc)} after an open-ended retry: {exc}")
            if isinstance(exc, VenueModeError):
                self.gate.set(VenueMode(exc.mode), str(exc), exc.retry_after)
        elif isinstance(exc, VenueModeError):
            self._venue_mode(chunk, job, exc, mode_retry)
        elif getattr(exc, "version_mismatch", False) and mode_retry:
            self._version_mismatch(chunk, job, str(exc))
        else:
            log.warning("order batch of %d rejected: %s", len(chunk), exc)
            for item in chunk:
                self.reports.put(
                    reject(item, self.signing.explain_refusal(item.order, str(exc)), "rejected")
                )

    def _version_mismatch(self, chunk: list[SignedItem], job: CreateJob, why: str) -> None:
        """``order_version_mismatch``: re-read ``GET /version`` and re-sign and post once (the
        refused orders were not placed); a version the bot cannot sign stops every create."""
        log.warning("order batch refused (%s): re-reading the order version", why)
        refusal: str | None = None
        try:
            self.signing.check_version()
        except FatalError as exc:
            self.fatal = refusal = str(exc)
            log.critical("%s", exc)
        except PmbotError as exc:
            refusal = f"{why}; version re-read failed: {exc}"
        if refusal is not None:
            for item in chunk:
                self.reports.put(reject(item, refusal, "rejected"))
            return
        items = self._sign([item.order for item in chunk])
        if items:
            self._post_chunk(items, job, defer=False, mode_retry=False)

    def _venue_mode(
        self, chunk: list[SignedItem], job: CreateJob, exc: VenueModeError, mode_retry: bool
    ) -> None:
        """503 cancel-only / disabled / post-only: refuse locally; post-only orders get one
        retry."""
        self.gate.set(VenueMode(exc.mode), str(exc), exc.retry_after)
        postable = [i for i in chunk if i.order.post_only] if exc.mode == "post_only" else []
        for item in chunk:
            if item not in postable:
                self.reports.put(reject(item, str(exc), "venue_mode"))
        if postable and mode_retry:
            self._post_chunk(postable, job, defer=False, mode_retry=False)
        elif postable:
            for item in postable:
                self.reports.put(reject(item, str(exc), "venue_mode"))
