"""What the execution package needs from the outside, as ``typing.Protocol``s.

``pmbot.execution`` never imports ``pmbot.venue``: the composition root (``pmbot.runner``) passes
the venue's REST client, order signer and open-orders parser in. Everything here is structural
typing.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pmbot.model import BotCommand, ExecutorReport, NewOrder, OpenOrder

CommandQueue = queue.Queue[BotCommand]
ReportQueue = queue.Queue[Any]
ParseOpenOrder = Callable[[dict], OpenOrder]


class RateBudget(Protocol):
    def delay(self, family: str, cost: float = 1.0) -> float: ...

    def available(self, family: str) -> float: ...


class Begun(Protocol):
    """A request already written; ``finish`` reads and shapes its answer or raises its error."""

    def finish(self) -> Any: ...


class OrderRest(Protocol):
    """The order endpoints of the CLOB REST client (``pmbot.venue.rest.ClobRest``)."""

    @property
    def rate_budget(self) -> RateBudget | None: ...

    def post_orders(self, payloads: list[dict]) -> list[dict | None]: ...

    def cancel_orders(self, order_ids: list[str]) -> dict: ...

    def cancel_all(self) -> dict: ...

    def begin_post(self, payloads: list[dict]) -> Begun | None:
        """``post_orders`` written now on the caller's thread, its answer read by ``finish()``
        later; None (nothing sent) when it cannot go at once (issue 20)."""
        ...

    def begin_cancel(self, order_ids: list[str], lane: str = "cancel") -> Begun | None:
        """``cancel_orders`` written now (``lane``: ``cancel`` or ``pull``), answer later."""
        ...

    def prepare_cancel(self, order_ids: list[str]) -> Any:
        """``cancel_orders`` built and signed ahead for the pull lane (None: no lean lane)."""
        ...

    def send_cancel(self, prepared: Any, count: int, lane: str = "pull") -> Begun | None:
        """Write a ``prepare_cancel``d request now on ``lane``'s connection (``pull`` or
        ``pull2``); None, nothing sent, if it cannot go at once."""
        ...

    def warm(self, lane: str = "") -> None:
        """Open (or keep open) the ``cancel`` / ``create`` lane's pooled connection."""
        ...

    def when_sent(self, callback: Callable[[], None]) -> AbstractContextManager[None]:
        """Within the block, ``callback`` runs once this thread's next request was written (and
        at the block's end at the latest)."""
        ...

    def open_orders(self) -> list[dict]: ...

    def heartbeat(self, heartbeat_id: str) -> str: ...


class HeartbeatRest(Protocol):
    def heartbeat(self, heartbeat_id: str) -> str: ...


class OrderSigning(Protocol):
    """Turns a NewOrder into (order_id, request payload); ValueError if it cannot be signed."""

    def sign(self, order: NewOrder) -> tuple[str, dict]: ...

    def check_version(self) -> None:
        """Re-read the order version the venue wants; FatalError if it cannot be signed."""
        ...

    def explain_refusal(self, order: NewOrder, reason: str) -> str:
        """The operator's line for a refusal (a balance refusal gets the balance re-read)."""
        ...


class ExecMetrics(Protocol):
    """The metrics the execution package writes (a subset of ``pmbot.metrics.Metrics``)."""

    exec_retries_total: Any
    exec_errors_total: Any
    rate_budget_remaining: Any
    heartbeats_missed_total: Any
    tick_to_order_seconds: Any
    feed_parse_errors_total: Any

    def mark_heartbeat(self, at: float | None = None) -> None: ...


def report(reports: ReportQueue, item: ExecutorReport) -> None:
    reports.put(item)
