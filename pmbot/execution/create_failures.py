"""What the create lane does when a post fails (a mixin of ``CreateLane``): unknown outcomes are
reported and never resent; a venue mode (503 cancel-only / post-only / disabled) closes the gate,
post-only orders get one retry; ``order_version_mismatch`` re-reads the version and re-signs once;
anything else is a rejection with the operator's explanation."""

from __future__ import annotations

import logging
import threading
from typing import Any

from pmbot.errors import FatalError, PmbotError, UnknownOutcomeError, VenueModeError
from pmbot.execution.ports import OrderSigning, ReportQueue
from pmbot.execution.post_results import SignedItem, reject, report_unknown
from pmbot.execution.presign import Presigner
from pmbot.execution.retry import RetryPolicy, kind_of
from pmbot.execution.venue_mode import ModeGate
from pmbot.model import NewOrder, VenueMode

log = logging.getLogger("pmbot.execution.create_lane")


class PostFailures:
    """Needs the lane's ``signing``, ``reports``, ``retry``, ``gate``, ``fatal``, ``_sign`` and
    ``_post_chunk``."""

    signing: OrderSigning
    reports: ReportQueue
    retry: RetryPolicy
    gate: ModeGate
    fatal: str | None
    halt: threading.Event
    presigner: Presigner | None

    def _sign(self, orders: list[NewOrder]) -> list[SignedItem]:
        raise NotImplementedError

    def _post_chunk(
        self, chunk: list[SignedItem], job: Any, *, defer: bool, mode_retry: bool = True
    ) -> None:
        raise NotImplementedError

    def _post_failed(
        self,
        chunk: list[SignedItem],
        job: Any,
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

    def _version_mismatch(self, chunk: list[SignedItem], job: Any, why: str) -> None:
        """``order_version_mismatch``: re-read ``GET /version`` and re-sign and post once (the
        refused orders were not placed); a version the bot cannot sign stops every create."""
        log.warning("order batch refused (%s): re-reading the order version", why)
        if self.presigner is not None:  # signed for the version the venue no longer takes
            self.presigner.offer(())
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
        self, chunk: list[SignedItem], job: Any, exc: VenueModeError, mode_retry: bool
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
