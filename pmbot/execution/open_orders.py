"""THE periodic open-orders poller (thread ``reconcile``): ``GET /data/orders`` every ``interval``
seconds, every row parsed once with the venue's one parser (passed in), malformed rows counted and
skipped, and the result put on the strategy's inbound queue as an ``OpenOrdersSnapshot``. The
strategy thread's order tracker compares it with its own record; nothing here keeps order state."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pmbot.errors import PmbotError
from pmbot.execution.ports import ParseOpenOrder, ReportQueue
from pmbot.model import OpenOrder, OpenOrdersSnapshot

log = logging.getLogger(__name__)


def parse_rows(rows: list, parse: ParseOpenOrder, metrics: Any = None) -> list[OpenOrder]:
    orders = []
    for row in rows:
        try:
            orders.append(parse(row))
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            log.warning("skipping malformed open order row: %s", exc)
            if metrics is not None:
                metrics.feed_parse_errors_total.labels(kind="schema").inc()
    return orders


class OpenOrdersPoller:
    def __init__(
        self,
        list_rows: Callable[[], list],
        parse: ParseOpenOrder,
        out: ReportQueue,
        halt: threading.Event,
        *,
        interval: float,
        metrics: Any = None,
    ) -> None:
        self.list_rows = list_rows
        self.parse = parse
        self.out = out
        self.halt = halt
        self.interval = interval
        self.metrics = metrics

    def snapshot(self) -> OpenOrdersSnapshot:
        """List now (raises PmbotError if the venue cannot be listed)."""
        taken_ns = time.monotonic_ns()  # before the request: later changes are not in it
        orders = parse_rows(self.list_rows(), self.parse, self.metrics)
        return OpenOrdersSnapshot(orders=tuple(orders), taken_ns=taken_ns)

    def poll_once(self) -> OpenOrdersSnapshot | None:
        try:
            snap = self.snapshot()
        except PmbotError as exc:
            log.warning("open-orders poll failed: %s", exc)
            return None
        self.out.put(snap)
        return snap

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            try:
                self.poll_once()
            except Exception:
                log.exception("open-orders poll: unexpected error")
        log.info("open-orders poller stopped")
