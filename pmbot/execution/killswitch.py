"""Start-up orphan cancel and the kill switch: cancel on the venue, then verify by listing.

Both run on the caller's thread (the composition root), outside the lanes. Neither keeps order
state: the fallback "left open" list, used only when the venue cannot be listed, comes from the
strategy thread's order tracker (passed in as ``known_open``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pmbot.errors import PmbotError
from pmbot.execution.open_orders import parse_rows
from pmbot.execution.ports import OrderRest, ParseOpenOrder
from pmbot.execution.retry import RetryPolicy

log = logging.getLogger(__name__)

UNVERIFIED = "<unverified>"


def cancel_orphans(rest: OrderRest, retry: RetryPolicy, order_ids: list[str]) -> dict:
    """Start-up: cancel these orders (retrying transient errors); raises if that fails."""
    if not order_ids:
        return {"canceled": [], "not_canceled": {}}
    pause = threading.Event().wait
    result = retry.call(lambda: rest.cancel_orders(order_ids), "cancel_orders", pause)
    log.info(
        "start-up: cancelled %d orphan order(s); not cancelled: %s",
        len(result.get("canceled", ())),
        result.get("not_canceled") or "none",
    )
    return result


def _cancel_attempt(rest: OrderRest, left: list[str] | None, attempt: int) -> None:
    try:
        if left:  # cancel-all answered but orders remain (or it failed): name them explicitly
            rest.cancel_orders(left)
        else:
            rest.cancel_all()
    except PmbotError as exc:
        log.warning("kill switch: cancel attempt %d failed: %s", attempt + 1, exc)
        if left:
            try:
                rest.cancel_all()
            except PmbotError as exc2:
                log.warning("kill switch: cancel-all also failed: %s", exc2)


def cancel_all_and_verify(
    rest: OrderRest,
    parse: ParseOpenOrder,
    retry: RetryPolicy,
    monotonic: Callable[[], float],
    known_open: Callable[[], list[str]],
    deadline_secs: float = 10.0,
) -> list[str]:
    """Cancel everything of this key, then ``GET /data/orders`` until nothing is left, retrying
    within
    the deadline. Returns the ids still open; empty means verified. If the venue could never be
    listed, returns ``known_open()`` (the tracker's record), or ``["<unverified>"]`` when it is
    empty, so an unverified kill switch never looks clean."""
    end = monotonic() + deadline_secs
    pause = threading.Event().wait
    left: list[str] | None = None
    attempt = 0
    while True:
        _cancel_attempt(rest, left, attempt)
        try:
            left = [o.order_id for o in parse_rows(rest.open_orders(), parse)]
            if not left:
                log.info("kill switch: verified, no open orders left")
                return []
            log.warning(
                "kill switch: %d order(s) still open after attempt %d", len(left), attempt + 1
            )
        except PmbotError as exc:
            log.warning("kill switch: listing open orders failed: %s", exc)
        remaining = end - monotonic()
        if remaining <= 0:
            break
        pause(min(retry.backoff(attempt, None) + 0.05, remaining))
        attempt += 1
    if left is not None:
        return left
    return sorted(known_open()) or [UNVERIFIED]
