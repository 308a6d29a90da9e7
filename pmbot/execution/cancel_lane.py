"""The cancel lane: its own thread (and its own pooled connection), so a cancel or cancel-all never
waits behind a create's retry, back-off, rate-budget wait or answer. Everything queued is drained
and sent as one cancel-all and/or one ``DELETE /orders``. Each job's ``sent`` event is set once its
request was written (a create posted alongside its cancels waits for that: the cancel goes first on
the wire) and ``done`` once its cancels were answered (creates that must follow their cancels wait
for that)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmbot.errors import PmbotError
from pmbot.execution.ports import OrderRest, ReportQueue
from pmbot.execution.retry import RetryPolicy, kind_of
from pmbot.execution.warm import KeepWarm
from pmbot.model import CancelResult

log = logging.getLogger(__name__)


@dataclass
class CancelJob:
    order_ids: tuple[str, ...] = ()
    cancel_all: bool = False
    done: threading.Event = field(default_factory=threading.Event)  # answered (or given up)
    sent: threading.Event = field(default_factory=threading.Event)  # written to the wire
    begun: Any = None  # written by another thread (``try_inline``): only its answer is read here


def cancel_report(result: dict) -> CancelResult:
    """The report of a cancel answer. Only ids the REST client classified ``gone`` (``already
    canceled or matched``) are reported ``not_canceled`` (the tracker forgets them); every other
    ``not_canceled`` id (e.g. in the matching delay) is ``failed``: the order still rests, so the
    tracker keeps it live and the strategy cancels it again."""
    reasons = {str(k): str(v) for k, v in (result.get("not_canceled") or {}).items()}
    gone = {str(i) for i in result.get("gone", ())}
    return CancelResult(
        canceled=tuple(str(i) for i in result.get("canceled", ())),
        not_canceled=tuple((i, r) for i, r in reasons.items() if i in gone),
        failed=tuple(i for i in reasons if i not in gone),
    )


class CancelLane:
    def __init__(
        self,
        rest: OrderRest,
        reports: ReportQueue,
        retry: RetryPolicy,
        halt: threading.Event,
        on_done: Callable[[], None] = lambda: None,
        metrics: Any = None,
    ) -> None:
        self.metrics = metrics
        self.rest = rest
        self.reports = reports
        self.retry = retry
        self.halt = halt
        self.on_done = on_done  # wakes the create lane (creates waiting for these cancels)
        self.jobs: queue.Queue[CancelJob] = queue.Queue()
        self.warmth = KeepWarm(rest, "cancel")
        self._lock = threading.Lock()
        self._outstanding = 0  # jobs queued or being sent

    def put(self, job: CancelJob) -> None:
        with self._lock:
            self._outstanding += 1
        self.jobs.put(job)

    def try_inline(self, job: CancelJob, handoff: list[Callable[[], None]]) -> bool:
        """Issue 20, on the caller's thread (the strategy's): when nothing is queued or in flight
        here, write the job's ``DELETE /orders`` now on this lane's connection and leave reading
        the answer (and any retry) to the lane's thread: the caller runs ``handoff`` once it wrote
        everything it has to write (waking this thread sooner would only compete for the
        interpreter). False, nothing sent, otherwise."""
        if job.cancel_all or not job.order_ids:
            return False
        with self._lock:
            if self._outstanding or self.halt.is_set():
                return False
            self._outstanding += 1
        try:
            begun = self.rest.begin_cancel(list(job.order_ids))
        except Exception:  # never into the caller's thread: the lane sends it instead
            log.exception("cancel lane: writing a cancel ahead failed")
            begun = None
        if begun is None:
            with self._lock:
                self._outstanding -= 1
            return False
        self.warmth.used()
        job.begun = begun
        job.sent.set()
        handoff.append(lambda: self.jobs.put(job))
        return True

    def idle(self) -> bool:
        """No cancel queued or in flight (a post-first create may then go before its cancels)."""
        with self._lock:
            return self._outstanding == 0

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                try:
                    batch = [self.jobs.get(timeout=0.2)]
                except queue.Empty:
                    continue
                while True:
                    try:
                        batch.append(self.jobs.get_nowait())
                    except queue.Empty:
                        break
                try:
                    self._process(batch)
                except Exception:  # a bug must not kill the only thread that can cancel
                    log.exception("cancel lane: unexpected error")
                finally:
                    with self._lock:
                        self._outstanding -= len(batch)
                    for job in batch:
                        job.sent.set()
                        job.done.set()
                    self.on_done()
        finally:
            log.info("cancel lane stopped")

    def _process(self, batch: list[CancelJob]) -> None:
        def on_sent() -> None:
            for job in batch:
                job.sent.set()
            self.on_done()

        for job in batch:
            if job.begun is not None:  # already written: read its answer, retry if need be
                self._cancel(list(job.order_ids), job.begun)
        batch = [job for job in batch if job.begun is None]
        if not batch:
            return
        self.warmth.used()
        with self.rest.when_sent(on_sent):
            if any(job.cancel_all for job in batch):
                self._cancel_all()
            ids = list(dict.fromkeys(oid for job in batch for oid in job.order_ids))
            if ids:
                self._cancel(ids)

    def _cancel(self, order_ids: list[str], begun: Any = None) -> None:
        first = [begun] if begun is not None else []

        def call() -> dict:
            if first:  # the answer to the request written ahead; a retry sends it again
                return first.pop().finish()
            return self.rest.cancel_orders(order_ids)

        try:
            result = self.retry.call(call, "cancel_orders", self.halt.wait)
        except PmbotError as exc:
            log.warning(
                "cancel of %d order(s) failed: %s (reconcile will tell)", len(order_ids), exc
            )
            self.retry.count_error(kind_of(exc))
            self.reports.put(CancelResult(canceled=(), failed=tuple(order_ids)))
            return
        self.report(result)

    def _cancel_all(self) -> None:
        try:
            result = self.retry.call(self.rest.cancel_all, "cancel_all", self.halt.wait)
        except PmbotError as exc:
            log.warning("cancel-all failed: %s", exc)
            self.retry.count_error(kind_of(exc))
            # No ids to name: the strategy's tracker keeps its orders cancelling until a reconcile.
            self.reports.put(CancelResult(canceled=(), failed=(), all_failed=True))
            return
        self.report(result)

    def report(self, result: dict) -> None:
        """Report a cancel answer (this lane's, and the pull desk's: ``pulls``)."""
        report = cancel_report(result)
        if report.failed:
            log.warning(
                "%d order(s) not cancelled and still live (retried by the strategy): %s",
                len(report.failed),
                "; ".join(f"{i[:12]}: {result['not_canceled'][i]}" for i in report.failed[:5]),
            )
        if self.metrics is not None:
            kinds = result.get("reason_kinds") or (
                {"other": len(report.failed)} if report.failed else {}
            )
            for kind, count in kinds.items():
                self.metrics.cancel_not_canceled_total.labels(reason=kind).inc(count)
        self.reports.put(report)
