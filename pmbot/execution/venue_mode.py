"""The venue's trading mode as the create lane sees it (normal, post-only, cancel-only, disabled).

503 cancel-only / disabled: creates are refused locally (kind ``venue_mode``) and one create batch
is let through every ``probe_secs`` to find out whether the mode lifted. Post-only: only post-only
orders go, until ``Retry-After`` passes. Every change is reported as ``VenueModeChanged``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pmbot.execution.ports import ReportQueue
from pmbot.model import NewOrder, OrderRejected, VenueMode, VenueModeChanged

log = logging.getLogger(__name__)


def reject_local(
    reports: ReportQueue, orders: list[NewOrder], reason: str, kind: str = "local"
) -> None:
    for order in orders:
        reports.put(OrderRejected(client_id=order.client_id, order=order, reason=reason, kind=kind))


class ModeGate:
    def __init__(
        self, reports: ReportQueue, monotonic: Callable[[], float], probe_secs: float
    ) -> None:
        self.reports = reports
        self.monotonic = monotonic
        self.probe_secs = probe_secs
        self._lock = threading.Lock()
        self.mode = VenueMode.NORMAL
        self._until = 0.0  # monotonic: post-only mode lifts / next probe in cancel-only

    def set(self, mode: VenueMode, reason: str, retry_after: float | None) -> None:
        with self._lock:
            now = self.monotonic()
            if mode is VenueMode.POST_ONLY and retry_after:
                self._until = now + retry_after
            else:
                self._until = now + self.probe_secs
            if mode is self.mode:
                return
            log.warning("venue mode %s -> %s: %s", self.mode.value, mode.value, reason)
            self.mode = mode
        self.reports.put(VenueModeChanged(mode=mode, reason=reason))

    def probe_when_due(self) -> None:
        """Cancel-only / disabled: the strategy pauses and sends no creates, so the create-batch
        probe alone would never run and the bot would stay paused after the venue recovered. Once
        a probe is due, report the venue as possibly normal: the strategy's next creates are the
        probe, and a 503 puts the mode straight back."""
        mode = self.mode
        if mode in (VenueMode.CANCEL_ONLY, VenueMode.DISABLED) and self.monotonic() >= self._until:
            self.set(VenueMode.NORMAL, f"probing whether {mode.value} mode lifted", None)

    def filter(self, orders: list[NewOrder]) -> list[NewOrder]:
        """The orders that may be sent now; the others are rejected locally."""
        mode = self.mode
        if mode is VenueMode.NORMAL:
            return orders
        now = self.monotonic()
        if mode is VenueMode.POST_ONLY:
            if now >= self._until:
                self.set(VenueMode.NORMAL, "post-only window over", None)
                return orders
            refused = [o for o in orders if not o.post_only]
            reject_local(self.reports, refused, "venue in post-only mode", kind="venue_mode")
            return [o for o in orders if o.post_only]
        if now >= self._until:  # cancel-only / disabled: let this batch probe whether it lifted
            with self._lock:
                self._until = now + self.probe_secs
            return orders
        reject_local(self.reports, orders, f"venue in {mode.value} mode", kind="venue_mode")
        return []

    def accepted(self, chunk_orders: list[NewOrder]) -> None:
        """Accepted orders: a non-post-only one (or any in cancel-only) proves the mode normal."""
        proves_normal = self.mode is not VenueMode.POST_ONLY or any(
            not o.post_only for o in chunk_orders
        )
        if self.mode is not VenueMode.NORMAL and proves_normal:
            self.set(VenueMode.NORMAL, "orders accepted again", None)
