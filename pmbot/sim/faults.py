"""Fault knobs: make the simulator misbehave the way Polymarket does, on demand (reference 1.6,
1.10, 1.11, checklist item 10).

One ``Faults`` object per server. Tests drive it from Python (``server.faults.restart(...)``) or
over HTTP (``POST /_sim/control`` with the same knob names, see :meth:`Faults.apply`). Venue
behaviours:

- 429 ``Too Many Requests`` with a ``Retry-After`` header (rate limit enforcement);
- matching-engine restart: 425 on order endpoints, then ~2 minutes of post-only mode answered
  with 503 ``code: post_only_mode`` for non-post-only orders;
- 503 cancel-only mode (new orders refused, cancels allowed);
- 500 ``order timed out`` (the order was NOT placed; the docs say resubmitting is safe);
- "process then hang": the order IS placed but the answer comes late (the unknown-outcome case);
- slow responses, random 429/500 injection, silent market feed, WebSocket drops;
- engine-side knobs (books, balances, ticks, failing trades) forwarded to the exchange.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from pmbot.sim.venue_knobs import VenueKnobs

log = logging.getLogger(__name__)

CANCEL_ONLY_ERROR = (
    "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."
)
POST_ONLY_MODE_ERROR = "post-only mode: only post-only orders and cancels are allowed"
TOO_MANY_REQUESTS = "Too Many Requests"
ORDER_TIMED_OUT = "order timed out"
TOO_EARLY = "Too Early"


@dataclass(frozen=True, slots=True)
class FaultReply:
    """An answer the server sends instead of doing the request."""

    status: int
    body: dict
    headers: tuple[tuple[str, str], ...] = ()


class EngineKnobs(Protocol):
    """The exchange's knobs these fault controls forward to (``Exchange`` has them)."""

    def set_book(
        self,
        token_id: str,
        bids: list[tuple[Decimal, Decimal]],
        asks: list[tuple[Decimal, Decimal]],
        *,
        freeze: bool = True,
    ) -> None: ...
    def set_balance(self, address: str, amount: Decimal) -> None: ...
    def set_position(self, address: str, token_id: str, size: Decimal) -> None: ...
    def set_tick_size(self, token_id: str, tick: Decimal) -> None: ...
    def front_run(self, token_id: str, max_size: Decimal, count: int = 1) -> None: ...
    def set_trade_fail_share(self, share: Decimal) -> None: ...


class Faults:
    """Thread-safe fault state. ``clock`` is monotonic seconds; ``rng`` drives probabilistic faults.

    ``exchange`` and ``drop_connections`` are bound by the server so engine-side knobs and WebSocket
    drops work from the same object (and from the control endpoint)."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random(0)
        self._lock = threading.Lock()
        self.exchange: EngineKnobs | None = None
        self.drop_connections: Callable[[str], int] | None = None
        self.set_silent_text: Callable[[str | None], None] | None = None  # bound by the server
        self.venue = VenueKnobs()  # order version, matching-delay cancels (issue 13)
        self._reset_locked()

    def _reset_locked(self) -> None:
        self._http_429_left = 0
        self._retry_after_secs = 1.0
        self._too_early_until = 0.0
        self._post_only_until = 0.0
        self._cancel_only = False
        self._timeouts_left = 0
        self._p_429 = 0.0
        self._p_500 = 0.0
        self._delay_secs = 0.0
        self._hangs_left = 0
        self._hang_secs = 0.0
        self._silent_feed = False

    # ------------------------------------------------------------------ knobs

    def reset(self) -> None:
        with self._lock:
            self._reset_locked()
        self.venue.reset()
        if self.set_silent_text is not None:
            self.set_silent_text(None)

    def http_429(self, count: int, retry_after_secs: float = 1.0) -> None:
        """The next ``count`` trading requests (orders and cancels) get 429 + Retry-After."""
        with self._lock:
            self._http_429_left = int(count)
            self._retry_after_secs = float(retry_after_secs)

    def restart(self, too_early_secs: float, post_only_secs: float = 120.0) -> None:
        """Matching-engine restart: 425 for ``too_early_secs``, then post-only mode."""
        now = self._clock()
        with self._lock:
            self._too_early_until = now + float(too_early_secs)
            self._post_only_until = self._too_early_until + float(post_only_secs)

    def post_only_mode(self, secs: float) -> None:
        with self._lock:
            self._post_only_until = self._clock() + float(secs)

    def cancel_only(self, on: bool) -> None:
        with self._lock:
            self._cancel_only = bool(on)

    def order_timeouts(self, count: int) -> None:
        """The next ``count`` order requests fail with 500 ``order timed out``, not placed."""
        with self._lock:
            self._timeouts_left = int(count)

    def error_probability(self, p_429: float = 0.0, p_500: float = 0.0) -> None:
        """Each order request independently gets 429 with ``p_429`` or 500 with ``p_500``."""
        if not (0 <= p_429 <= 1 and 0 <= p_500 <= 1 and p_429 + p_500 <= 1):
            raise ValueError("probabilities must be in [0, 1] and sum to at most 1")
        with self._lock:
            self._p_429 = float(p_429)
            self._p_500 = float(p_500)

    def delay_ms(self, ms: float) -> None:
        """Every REST answer (except /_sim) is delayed by ``ms`` milliseconds."""
        with self._lock:
            self._delay_secs = max(0.0, float(ms) / 1000.0)

    def hang(self, count: int, secs: float) -> None:
        """The next ``count`` order requests are processed (placed) but answered ``secs`` late."""
        with self._lock:
            self._hangs_left = int(count)
            self._hang_secs = float(secs)

    def silent_feed(self, on: bool, text: str | None = None) -> None:
        """Market channel stops sending data; PING is still answered with PONG. ``text``: a
        plain-text frame sent instead of each withheld event (the venue's ``NO NEW ASSETS`` with
        custom_feature_enabled); None keeps the current one. Turning it off clears it."""
        with self._lock:
            self._silent_feed = bool(on)
        if self.set_silent_text is not None and (text is not None or not on):
            self.set_silent_text(text if on else None)  # no text given: keep the hub's

    def ws_drop(self, channel: str = "all") -> int:
        """Close every market and/or user WebSocket now; returns how many were closed."""
        if self.drop_connections is None:
            raise RuntimeError("no server bound")
        return self.drop_connections(channel)

    # engine-side knobs, forwarded so one object (and the control endpoint) drives everything

    def _engine(self) -> EngineKnobs:
        if self.exchange is None:
            raise RuntimeError("no exchange bound to these fault knobs")
        return self.exchange

    def set_book(self, token_id: str, bids, asks, *, freeze: bool = True) -> None:
        self._engine().set_book(token_id, _levels(bids), _levels(asks), freeze=freeze)

    def set_balance(self, address: str, amount) -> None:
        self._engine().set_balance(address, Decimal(str(amount)))

    def set_position(self, address: str, token_id: str, size) -> None:
        self._engine().set_position(address, token_id, Decimal(str(size)))

    def tick_size(self, token_id: str, tick) -> None:
        self._engine().set_tick_size(token_id, Decimal(str(tick)))

    def front_run(self, token_id: str, max_size, count: int = 1) -> None:
        """The next ``count`` FOK/FAK orders on the token fill at most ``max_size`` shares; the rest
        of the liquidity they could reach is taken by a faster (phantom) taker. Uneven arbitrage
        legs."""
        self._engine().front_run(token_id, Decimal(str(max_size)), int(count))

    def trade_fail_share(self, share) -> None:
        """Share of new trades that end FAILED after MATCHED (the engine reverses their ledger)."""
        share = Decimal(str(share))
        if not 0 <= share <= 1:
            raise ValueError("trade_fail_share must be in [0, 1]")
        self._engine().set_trade_fail_share(share)

    # ------------------------------------------------------------------ control endpoint

    def apply(self, knobs: dict) -> dict:
        """Apply knobs given as JSON (the ``POST /_sim/control`` body); returns :meth:`snapshot`.

        Keys: reset, http_429 {count, retry_after_secs}, restart {too_early_secs, post_only_secs},
        post_only_secs, cancel_only, order_timeout {count}, error_probability {p_429, p_500},
        delay_ms, hang {count, secs}, silent_feed (bool or {on, text}), ws_drop
        ("all"|"market"|"user"), order_version, cancel_delay {count},
        trade_fail_share, tick_size {token_id, tick}, set_book {token_id, bids, asks, freeze},
        set_balance {address, amount}, set_position {address, token_id, size},
        front_run {token_id, max_size, count}.
        Unknown keys raise ValueError naming them."""
        if not isinstance(knobs, dict):
            raise ValueError("control body must be a JSON object")
        handlers: dict[str, Callable[[Any], Any]] = {
            "reset": lambda v: self.reset() if v else None,
            "http_429": lambda v: self.http_429(v.get("count", 1), v.get("retry_after_secs", 1.0)),
            "restart": lambda v: self.restart(
                v.get("too_early_secs", 1.0), v.get("post_only_secs", 120.0)
            ),
            "post_only_secs": lambda v: self.post_only_mode(v),
            "cancel_only": lambda v: self.cancel_only(v),
            "order_timeout": lambda v: self.order_timeouts(v.get("count", 1)),
            "error_probability": lambda v: self.error_probability(
                v.get("p_429", 0.0), v.get("p_500", 0.0)
            ),
            "delay_ms": lambda v: self.delay_ms(v),
            "hang": lambda v: self.hang(v.get("count", 1), v.get("secs", 5.0)),
            "silent_feed": lambda v: (
                self.silent_feed(v.get("on", True), v.get("text"))
                if isinstance(v, dict)
                else self.silent_feed(v)
            ),
            "order_version": lambda v: self.venue.set_order_version(v),
            "cancel_delay": lambda v: self.venue.cancel_delay(
                v.get("count", 1) if isinstance(v, dict) else v
            ),
            "ws_drop": lambda v: self.ws_drop(v if isinstance(v, str) else "all"),
            "trade_fail_share": lambda v: self.trade_fail_share(v),
            "tick_size": lambda v: self.tick_size(v["token_id"], v["tick"]),
            "set_book": lambda v: self.set_book(
                v["token_id"], v.get("bids", []), v.get("asks", []), freeze=v.get("freeze", True)
            ),
            "set_balance": lambda v: self.set_balance(v["address"], v["amount"]),
            "set_position": lambda v: self.set_position(v["address"], v["token_id"], v["size"]),
            "front_run": lambda v: self.front_run(v["token_id"], v["max_size"], v.get("count", 1)),
        }
        unknown = sorted(set(knobs) - set(handlers))
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(unknown)}")
        for key in [k for k in handlers if k in knobs]:  # fixed order: reset first
            log.info("fault knob %s set", key)
            handlers[key](knobs[key])
        return self.snapshot()

    def snapshot(self) -> dict:
        now = self._clock()
        with self._lock:
            return {
                "http_429_left": self._http_429_left,
                "retry_after_secs": self._retry_after_secs,
                "too_early_secs_left": max(0.0, self._too_early_until - now),
                "post_only_secs_left": max(
                    0.0, self._post_only_until - max(now, self._too_early_until)
                ),
                "cancel_only": self._cancel_only,
                "order_timeouts_left": self._timeouts_left,
                "p_429": self._p_429,
                "p_500": self._p_500,
                "delay_ms": self._delay_secs * 1000.0,
                "hangs_left": self._hangs_left,
                "hang_secs": self._hang_secs,
                "silent_feed": self._silent_feed,
            } | self.venue.snapshot()

    # ------------------------------------------------------------------ checks used by the server

    @property
    def feed_silent(self) -> bool:
        return self._silent_feed

    def response_delay_secs(self) -> float:
        return self._delay_secs

    def _retry_after(self, secs: float) -> tuple[tuple[str, str], ...]:
        return (("Retry-After", str(max(1, int(secs + 0.999)))),)

    def before_order(self, *, all_post_only: bool) -> FaultReply | None:
        """Called before an order placement request is processed; a reply means "answer this"."""
        now = self._clock()
        with self._lock:
            if now < self._too_early_until:
                return FaultReply(
                    425, {"error": TOO_EARLY}, self._retry_after(self._too_early_until - now)
                )
            if now < self._post_only_until and not all_post_only:
                left = self._post_only_until - now
                body = {
                    "error": POST_ONLY_MODE_ERROR,
                    "code": "post_only_mode",
                    "retry_after_seconds": max(1, int(left + 0.999)),
                }
                return FaultReply(503, body, self._retry_after(left))
            if self._cancel_only:
                return FaultReply(503, {"error": CANCEL_ONLY_ERROR})
            reply = self._take_429_locked()
            if reply is not None:
                return reply
            if self._timeouts_left > 0:
                self._timeouts_left -= 1
                return FaultReply(500, {"error": ORDER_TIMED_OUT})
            if self._p_429 or self._p_500:
                draw = self._rng.random()
                if draw < self._p_429:
                    return FaultReply(
                        429, {"error": TOO_MANY_REQUESTS}, self._retry_after(self._retry_after_secs)
                    )
                if draw < self._p_429 + self._p_500:
                    return FaultReply(500, {"error": ORDER_TIMED_OUT})
        return None

    def before_cancel(self) -> FaultReply | None:
        """Cancels work in cancel-only and post-only modes, but not during a restart or a 429."""
        now = self._clock()
        with self._lock:
            if now < self._too_early_until:
                return FaultReply(
                    425, {"error": TOO_EARLY}, self._retry_after(self._too_early_until - now)
                )
            return self._take_429_locked()

    def _take_429_locked(self) -> FaultReply | None:
        if self._http_429_left > 0:
            self._http_429_left -= 1
            return FaultReply(
                429, {"error": TOO_MANY_REQUESTS}, self._retry_after(self._retry_after_secs)
            )
        return None

    def take_hang_secs(self) -> float:
        """How long to hold the answer of an order request that was processed (0 = answer now)."""
        with self._lock:
            if self._hangs_left > 0:
                self._hangs_left -= 1
                return self._hang_secs
        return 0.0


def _levels(levels) -> list[tuple[Decimal, Decimal]]:
    """Accept [[p, s], ...] or [{"price", "size"}, ...] of strings or numbers; exact Decimals."""
    out = []
    for level in levels:
        if isinstance(level, dict):
            price, size = level["price"], level["size"]
        else:
            price, size = level
        out.append((Decimal(str(price)), Decimal(str(size))))
    return out
