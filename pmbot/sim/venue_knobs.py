"""Venue rules the simulator can switch at runtime (issue 13), driven like the fault knobs
(``Faults.apply``: ``order_version``, ``cancel_delay``; see :class:`VenueKnobs`).

- ``GET /version`` answers the order version the venue wants signed. The simulator verifies
  version-2 signatures only (the V2 exchange domain), so while it asks for another version every
  order is refused with 400 ``order_version_mismatch`` (py-clob-client-v2 #32: the venue's answer
  to an order signed for the other version).
- Matching delay: on delayed markets an order cannot be cancelled during the delay; the cancel is
  answered ``not_canceled`` with a reason other than ``already canceled or matched`` and the order
  stays live (Polymarket docs, trading/orders/cancel). The reason text is not quoted in any public
  thread; :data:`MATCHING_DELAY_REASON` is the conformance fixture's constructed string.
"""

from __future__ import annotations

import threading

SIGNED_ORDER_VERSION = 2  # the order version whose signatures pmbot.sim.auth verifies
ORDER_VERSION_MISMATCH = "order_version_mismatch"
MATCHING_DELAY_REASON = "order is in the matching delay and can't be canceled yet"


class VenueKnobs:
    """Thread-safe: the server's request threads read, tests and the control endpoint write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._order_version = SIGNED_ORDER_VERSION
            self._cancel_delays_left = 0

    # ------------------------------------------------------------------ knobs

    def set_order_version(self, version: int) -> None:
        """What ``GET /version`` answers from now on (2 or 3 on the live venue)."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"order_version must be a positive integer, got {version!r}")
        with self._lock:
            self._order_version = version

    def cancel_delay(self, count: int) -> None:
        """The next ``count`` cancel requests that reach a live order leave it live, answered
        ``not_canceled`` with :data:`MATCHING_DELAY_REASON`."""
        with self._lock:
            self._cancel_delays_left = max(0, int(count))

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "order_version": self._order_version,
                "cancel_delays_left": self._cancel_delays_left,
            }

    # ------------------------------------------------------------------ used by the routes

    def version_answer(self) -> dict:
        """The ``GET /version`` body."""
        with self._lock:
            return {"version": self._order_version}

    def order_version_refusal(self) -> str | None:
        """The venue's refusal of an order signed for version 2, or None when it accepts them."""
        with self._lock:
            if self._order_version == SIGNED_ORDER_VERSION:
                return None
        return ORDER_VERSION_MISMATCH

    def take_cancel_delay(self) -> bool:
        """Whether this cancel request meets the matching delay (uses one of the count)."""
        with self._lock:
            if self._cancel_delays_left <= 0:
                return False
            self._cancel_delays_left -= 1
            return True
