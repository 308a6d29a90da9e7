"""UserFeed: the authenticated user channel, plus a REST catch-up after every (re)connect.

Protocol (reference 3.1): the first frame is ``{"auth": {apiKey, secret, passphrase}, "markets":
[condition ids], "type": "user"}`` (raw credentials, no HMAC; condition ids, not token ids); new
markets are added with ``{"operation": "subscribe", "markets": [...]}``; text ``PING`` every 10 s.
Only the key's own orders and trades arrive. ``WsRunner`` does the connection, PINGs and backoff.

Nothing may be missed while disconnected: after every connect (the first one included, which covers
the gap between start-up and the subscription) the ``reconcile`` callable runs on its own thread
(``user-reconcile``, so the socket keeps being read) and whatever it returns (``OpenOrdersSnapshot``
and ``TradeEvent``s from ``GET /data/orders`` and ``GET /data/trades?after=``) is put on ``out``
after the live messages already there. Duplicates between the two paths are expected; FillTracker
counts each (trade, order) once.

Secrets: the credentials only ever go into the auth frame; ``repr`` and logs show the API key only.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from pmbot.model import FeedStatus, OpenOrdersSnapshot, TradeEvent
from pmbot.venue.polling import STOP_POLL_SECS
from pmbot.venue.wire_user import (
    UserWireError,
    parse_open_order,
    parse_rows,
    parse_trade,
    parse_user_frame,
)
from pmbot.venue.ws import WsRunner

log = logging.getLogger(__name__)

CONNECTION = "user"


class RestCatchUp:
    """The REST half of a user-channel reconcile: open orders, then trades since the last one seen.

    ``since`` is where the catch-up starts on the first connect: the journal's last trade time on a
    restart, or the start-up time on a fresh start (the Data API seed already holds older history; a
    replay from zero would count it twice). Every later catch-up starts ``overlap_secs`` before the
    newest trade seen on either path, because ``after`` has one-second resolution and clocks differ.
    """

    def __init__(
        self,
        list_open_orders: Callable[[], list],
        list_trades_since: Callable[..., list],
        *,
        since: float,
        overlap_secs: float = 120.0,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._list_open_orders = list_open_orders
        self._list_trades_since = list_trades_since
        self._overlap = overlap_secs
        self._clock = clock
        self._lock = (
            threading.Lock()
        )  # observe() runs on the WS thread, __call__ on the reconcile thread
        self.last_trade_ts = since
        self.errors: list[UserWireError] = []

    def observe(self, message: Any) -> None:
        if isinstance(message, TradeEvent) and message.ts:
            with self._lock:
                self.last_trade_ts = max(self.last_trade_ts, message.ts)

    def __call__(self) -> list:
        with self._lock:
            after = max(0, int(self.last_trade_ts - self._overlap))
        taken_ns = self._clock()
        orders, order_errors = parse_rows(self._list_open_orders(), parse_open_order)
        trades, trade_errors = parse_rows(self._list_trades_since(after=after), parse_trade)
        self.errors = order_errors + trade_errors
        trades.sort(key=lambda t: t.ts)
        for t in trades:
            self.observe(t)
        return [OpenOrdersSnapshot(tuple(orders), taken_ns), *trades]


class UserFeed:
    def __init__(
        self,
        url: str,
        creds,
        condition_ids: Iterable[str],
        out: queue.Queue,
        *,
        stop: threading.Event,
        reconcile: Callable[[], list] | None = None,
        metrics=None,
        ping_interval: float = 10.0,
        rng: random.Random | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        reconcile_retry_secs: float = 2.0,
    ) -> None:
        self.url = url
        self.out = out
        self._creds = creds
        self._markets: list[str] = list(dict.fromkeys(condition_ids))
        self._markets_lock = threading.Lock()
        self._stop = stop
        self._reconcile = reconcile
        self._metrics = metrics
        self._reconcile_retry_secs = reconcile_retry_secs
        self._reconcile_due = threading.Event()
        self._closed = threading.Event()
        self._reconcile_thread: threading.Thread | None = None
        self.parse_errors: dict[str, int] = {}
        self.messages = 0
        self.reconciles = 0
        self.reconcile_failures = 0
        self._runner = WsRunner(
            CONNECTION,
            url,
            on_open=self._on_open,
            on_text=self._on_text,
            on_state=self._on_state,
            stop=stop,
            ping_interval=ping_interval,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            rng=rng,
            metrics=metrics,
        )

    def __repr__(self) -> str:
        api_key = getattr(self._creds, "api_key", "?")
        return f"UserFeed(url={self.url!r}, api_key={api_key!r}, connected={self.connected})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._reconcile is not None:
            self._reconcile_thread = threading.Thread(
                target=self._reconcile_loop, name="user-reconcile", daemon=False
            )
            self._reconcile_thread.start()
        self._runner.start()

    def close(self) -> None:
        self._closed.set()
        self._reconcile_due.set()
        self._runner.close()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._runner.join(timeout)
        if self._reconcile_thread is not None:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._reconcile_thread.join(remaining)

    @property
    def connected(self) -> bool:
        return self._runner.connected

    @property
    def reconnects(self) -> int:
        return self._runner.reconnects

    def add_markets(self, condition_ids: Iterable[str]) -> None:
        with self._markets_lock:
            new = [c for c in condition_ids if c not in self._markets]
            self._markets.extend(new)
        if new and self.connected:
            self._runner.send(json.dumps({"operation": "subscribe", "markets": new}))

    # ----------------------------------------------------- WsRunner callbacks (WS thread)

    def _auth_frame(self) -> str:
        with self._markets_lock:
            markets = list(self._markets)
        return json.dumps(
            {
                "auth": {
                    "apiKey": self._creds.api_key,
                    "secret": self._creds.secret,
                    "passphrase": self._creds.passphrase,
                },
                "markets": markets,
                "type": "user",
            }
        )

    def _on_open(self, runner: WsRunner) -> None:
        if not runner.send(self._auth_frame()):
            runner.rotate("auth frame not sent")
            return
        self._reconcile_due.set()

    def _on_text(self, text: str, recv_ns: int) -> None:
        messages, errors = parse_user_frame(text)
        for err in errors:
            self._parse_error(err)
        for message in messages:
            self._deliver(message)
        if messages:
            mark = getattr(self._metrics, "mark_feed_event", None)
            if mark is not None:
                mark(CONNECTION)

    def _on_state(self, up: bool, reason: str) -> None:
        self.out.put(FeedStatus(connection=CONNECTION, up=up, reason=reason))

    # ------------------------------------------------------------------ internals

    def _deliver(self, message: Any) -> None:
        observe = getattr(self._reconcile, "observe", None)
        if observe is not None:
            observe(message)
        self.messages += 1
        self.out.put(message)

    def _parse_error(self, err: UserWireError) -> None:
        first = err.kind not in self.parse_errors
        self.parse_errors[err.kind] = self.parse_errors.get(err.kind, 0) + 1
        metric = (
            getattr(self._metrics, "feed_parse_errors_total", None)
            if self._metrics is not None
            else None
        )
        if metric is not None:
            metric.labels(kind=err.kind).inc()
        if first:
            log.warning(
                "user channel: skipped a malformed message (%s: %s); later ones are only counted",
                err.kind,
                err,
            )

    def _stopping(self) -> bool:
        return self._closed.is_set() or self._stop.is_set()

    def _reconcile_loop(self) -> None:
        reconcile = self._reconcile
        if reconcile is None:  # the thread is started only with a catch-up source
            return
        while not self._stopping():
            if not self._reconcile_due.wait(STOP_POLL_SECS):
                continue
            self._reconcile_due.clear()
            if self._stopping():
                break
            try:
                results = reconcile()
            except Exception as exc:  # noqa: BLE001 - any failure is retried; the thread never dies
                self.reconcile_failures += 1
                log.warning(
                    "user channel catch-up failed (%s: %s); retrying in %.1fs",
                    type(exc).__name__,
                    exc,
                    self._reconcile_retry_secs,
                )
                deadline = time.monotonic() + self._reconcile_retry_secs
                while not self._stopping() and (left := deadline - time.monotonic()) > 0:
                    self._closed.wait(min(left, STOP_POLL_SECS))
                self._reconcile_due.set()
                continue
            for err in getattr(self._reconcile, "errors", ()) or ():
                self._parse_error(err)
            self.reconciles += 1
            for message in results:
                self._deliver(message)
            log.info(
                "user channel catch-up #%d delivered %d messages", self.reconciles, len(results)
            )
