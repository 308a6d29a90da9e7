"""The market feed's maintenance thread: every REST call, so a slow one never stalls ingest.

* resyncs queued by the WebSocket threads (``inconsistent``) or found by the stale scan (tokens
  still without a snapshot ``snapshot_timeout_secs`` after their connection came up);
* the silent-feed spot check: every ``spot_check_secs`` a few tokens' books per connection are
  fetched; if one differs from the local book and the connection delivered no *data* frame since
  the previous check, the connection is rotated. PONG and keep-alive text frames such as
  ``NO NEW ASSETS`` are not data (``Shard.last_data_ns``), so they never make a dead feed look
  alive. If data was flowing, the fetched book is applied as a resync instead;
* the frame counts and event ages for the metrics.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pmbot.venue.book import OrderBook
from pmbot.venue.market_state import (
    FeedCounters,
    FeedMetrics,
    FeedOutput,
    Registry,
    Shard,
    make_update,
)
from pmbot.venue.wire_market import BookEvent, ParseError, parse_rest_book

log = logging.getLogger("pmbot.venue.market_ws")

_MAINT_TICK_SECS = 0.25


@dataclass(frozen=True)
class MaintSettings:
    spot_check_secs: float
    spot_check_tokens: int
    snapshot_timeout_secs: float
    depth: int


class BookRecorder(Protocol):
    """The feed recorder's side for REST books (pmbot.venue.recorder.FeedRecorder)."""

    def rest_book(self, ev: BookEvent) -> None: ...


class FrameRecorder(BookRecorder, Protocol):
    """The whole feed recorder (pmbot.venue.recorder.FeedRecorder): frames and REST books."""

    def frame(self, connection: str, text: str) -> None: ...


class FeedMaintenance:
    """Owns the ``market-feed-maint`` thread and the resync queue."""

    def __init__(
        self,
        registry: Registry,
        settings: MaintSettings,
        *,
        out: queue.Queue[FeedOutput],
        get_book: Callable[[str], dict],
        counters: FeedCounters,
        metrics: FeedMetrics | None,
        clock_ns: Callable[[], int],
        on_parse_error: Callable[[ParseError], None],
        running: Callable[[], bool],
    ) -> None:
        self._reg = registry
        self._cfg = settings
        self._out = out
        self._get_book = get_book
        self._counters = counters
        self._metrics = metrics
        self._clock_ns = clock_ns
        self._on_parse_error = on_parse_error
        self._running = running
        self._count_lock = threading.Lock()  # guards the shards' ``reported``
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self.recorder: BookRecorder | None = None  # feed.record_dir: REST books applied on resync

    def run(self) -> None:
        spot = self._cfg.spot_check_secs
        next_spot = time.monotonic() + spot if spot > 0 else None
        next_scan = time.monotonic() + _MAINT_TICK_SECS
        scans = 0
        while self._running():
            due = next_scan if next_spot is None else min(next_spot, next_scan)
            wait = max(0.0, min(due - time.monotonic(), _MAINT_TICK_SECS))
            try:
                item: tuple[str, str] | None = self.queue.get(timeout=wait)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self.resync(*item)
                now = time.monotonic()
                if now >= next_scan:
                    next_scan = now + _MAINT_TICK_SECS
                    self.flush_counts()
                    self._scan_stale()
                    scans += 1
                    if scans % 4 == 0:  # ages for the metrics: once a second is plenty
                        self._mark_ages()
                if next_spot is not None and now >= next_spot:
                    next_spot = now + spot
                    self._spot_check()
            except Exception:  # noqa: BLE001 - the maintenance thread must survive anything
                log.exception("market feed maintenance step failed")
        self.flush_counts()

    def flush_counts(self, shards: list[Shard] | None = None) -> None:
        """Add the frames counted since the last flush to ``feed_messages_total``."""
        if shards is None:
            shards = self._reg.shard_list()
        with self._count_lock:
            for shard in shards:
                received = shard.received
                if received != shard.reported and shard.messages is not None:
                    shard.messages.inc(received - shard.reported)
                    shard.reported = received

    def _fetch(self, token: str) -> BookEvent | None:
        try:
            return parse_rest_book(self._get_book(token))
        except ParseError as exc:
            self._on_parse_error(exc)
        except Exception as exc:  # noqa: BLE001 - REST failure: retried by the stale scan
            log.warning("GET /book %s… failed: %r", token[:12], exc)
        return None

    def resync(self, token: str, reason: str, snap: BookEvent | None = None) -> None:
        st = self._reg.tokens.get(token)
        if st is None:
            return
        if snap is None:
            snap = self._fetch(token)
        shard = st.shard
        with shard.lock:
            st.resync_pending = False
            if (
                snap is None
                or st.resolved
                or not shard.up_ns
                or self._reg.tokens.get(token) is not st
            ):
                # failed, or disconnected: the reconnect's snapshot (or a later scan) fixes it
                return
            st.book.apply_snapshot(snap.bids, snap.asks, snap.tick)
            if snap.last_trade_price is not None:
                st.book.last_trade_price = snap.last_trade_price
            st.live = True
            st.reason = ""
            update = make_update(st, self._cfg.depth, self._clock_ns())
            if self.recorder is not None:  # in order with the frames applied under this lock
                self.recorder.rest_book(snap)
        self._counters.add_kind("resyncs", reason)
        if self._metrics is not None:
            self._metrics.feed_resyncs_total.labels(reason=reason).inc()
        log.info("book %s… resynced over REST (%s)", token[:12], reason)
        self._out.put(update)

    def _scan_stale(self) -> None:
        """Tokens on an up connection still without a trustworthy book after the timeout."""
        now = self._clock_ns()
        limit = int(self._cfg.snapshot_timeout_secs * 1e9)
        for shard in self._reg.shard_list():
            stale = []
            with shard.lock:
                if not shard.up_ns or now - shard.up_ns < limit:
                    continue
                for tok in shard.tokens:
                    st = self._reg.tokens.get(tok)
                    if st is None or st.live or st.resolved or st.resync_pending:
                        continue
                    if now - st.not_live_ns >= limit:
                        st.resync_pending = True
                        st.not_live_ns = now  # retry no sooner than another timeout
                        stale.append(tok)
            for tok in stale:
                self.queue.put((tok, "snapshot_timeout"))

    def _spot_check(self) -> None:
        now = self._clock_ns()
        for shard in self._reg.shard_list():
            if shard.runner is None or not shard.up_ns:
                continue
            with shard.lock:
                tokens = self._reg.tokens
                live = [t for t in shard.tokens if t in tokens and tokens[t].live]
                prev_mark = shard.spot_mark_ns
                shard.spot_mark_ns = now
            if live:
                self._spot_check_shard(shard, live, prev_mark)

    def _spot_check_shard(self, shard: Shard, live: list[str], prev_mark: int) -> None:
        n = min(self._cfg.spot_check_tokens, len(live))
        start = shard.spot_cursor % len(live)
        shard.spot_cursor = start + n
        for tok in [live[(start + i) % len(live)] for i in range(n)]:
            snap = self._fetch(tok)
            st = self._reg.tokens.get(tok)
            if snap is None or st is None:
                continue
            fresh = OrderBook()
            fresh.apply_snapshot(snap.bids, snap.asks)
            with shard.lock:
                same = fresh.snapshot() == st.book.snapshot()
            if same:
                continue
            if shard.last_data_ns < prev_mark and shard.up_ns <= prev_mark:
                self._rotate(shard, tok)
                return
            self.resync(tok, "spot_check", snap)

    def _rotate(self, shard: Shard, token: str) -> None:
        self._counters.add("rotations")
        if self._metrics is not None:
            self._metrics.feed_rotations_total.labels(reason="silent_feed").inc()
        log.warning(
            "connection %s is silent (no data, only PONG or keep-alive text) while the book of "
            "%s… changed: rotating",
            shard.name,
            token[:12],
        )
        if shard.runner is not None:
            shard.runner.rotate("silent feed")

    def _mark_ages(self) -> None:
        m = self._metrics
        if m is None:
            return
        for shard in self._reg.shard_list():
            if shard.last_data_ns:
                m.mark_feed_event(shard.name, at=shard.last_data_ns / 1e9)
        for tok, st in list(self._reg.tokens.items()):
            if st.last_ns:
                m.mark_token_event(st.market, tok, at=st.last_ns / 1e9)
