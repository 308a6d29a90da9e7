"""AppState: the small shared picture other threads read.

One writer (the strategy thread) publishes a fresh immutable ``StateView`` under the lock after each
batch of events; readers (the main thread's health check and summary, tests) take the current view
under the same lock and never hold it during I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pmbot.model import ZERO, VenueMode


@dataclass(frozen=True, slots=True)
class StateView:
    started: bool = False
    quoting: bool = False
    venue_mode: VenueMode = VenueMode.NORMAL
    market_feed_up: bool = False
    user_feed_up: bool = False
    live_tokens: int = 0
    total_tokens: int = 0
    open_orders: int = 0
    open_orders_by_market: Mapping[str, int] = field(default_factory=dict)
    inventory: Mapping[str, Decimal] = field(default_factory=dict)  # token -> shares
    position_value_usd: Decimal = ZERO
    realized_pnl_usd: Decimal = ZERO
    unrealized_pnl_usd: Decimal = ZERO
    fees_usd: Decimal = ZERO
    fills: int = 0
    paused: Mapping[str, str] = field(default_factory=dict)  # market -> reason
    halted_reason: str = ""
    last_decision_ts: float = 0.0
    events_processed: int = 0


class AppState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view = StateView()

    def publish(self, view: StateView) -> None:
        with self._lock:
            self._view = view

    def view(self) -> StateView:
        with self._lock:
            return self._view
