"""The market feed: sharded market-channel connections, local books, resync, silent-feed detection.

Output (on ``out``): a ``MarketUpdate`` for every token whose top, first levels, tick, liveness or
last trade changed, and a ``FeedStatus`` when a connection goes up or down. Each update is
self-contained (full top plus ``depth`` levels a side) so the strategy may keep only the latest per
token.

A token is *live* only while its book is trustworthy. It is not live:

* before its first snapshot (``awaiting_snapshot``),
* after its connection dropped, until a fresh snapshot arrives on the new connection
  (``disconnected``),
* after an ``inconsistent`` check: the local top after a ``price_change`` differs from the message's
  own ``best_bid``/``best_ask`` (protocol 2.9), until a REST ``GET /book`` resync (``get_book``),
* after ``market_resolved`` (``resolved``, for good).

Tokens still waiting for a snapshot ``snapshot_timeout_secs`` after their connection came up are
resynced over REST too (a subscribe whose dump never came).

Silent feed (issue 4 item 4, issue 13 item 5): a connection can keep answering PONG, and with
``custom_feature_enabled`` keep sending plain-text frames such as ``NO NEW ASSETS``, while
delivering no data. Those text frames are counted apart (``feed_keepalive_frames_total{text}``),
never as parse errors, and never as data; the spot check of ``market_maint`` rotates a connection
that delivered no data while the venue's book moved.

Modules: ``market_state`` (tokens, shards, registry, counters), ``market_apply`` (events -> books,
the hot path), ``market_maint`` (the REST thread), this one (the facade and connection callbacks).

Threads: one ``ws-market-N`` (+ its ping thread) per shard of at most ``shard_size`` tokens (both
tokens of a market stay in one shard), and ``market-feed-maint`` for all REST work. Each shard's
lock guards its tokens' books and states; a token belongs to one shard.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable

from pmbot.model import FeedStatus, MarketInfo, MarketUpdate
from pmbot.venue.book import OrderBook
from pmbot.venue.market_apply import Batch, apply_events
from pmbot.venue.market_maint import FeedMaintenance, FrameRecorder, MaintSettings
from pmbot.venue.market_state import (
    AWAITING,
    DISCONNECTED,
    INCONSISTENT,
    RESOLVED,
    UNSUBSCRIBED,
    FeedCounters,
    FeedMetrics,
    FeedOutput,
    Registry,
    Shard,
    make_update,
    subscribe_msg,
    subscribe_op,
    unsubscribe_op,
)
from pmbot.venue.wire_market import MarketEvent, ParseError, keepalive_label, parse_frame
from pmbot.venue.ws import WsRunner

__all__ = [
    "AWAITING",
    "DISCONNECTED",
    "INCONSISTENT",
    "RESOLVED",
    "UNSUBSCRIBED",
    "MarketFeed",
]

log = logging.getLogger(__name__)


class MarketFeed:
    """Market-channel books for a set of markets; see the module docstring."""

    def __init__(
        self,
        url: str,
        markets: Iterable[MarketInfo],
        out: queue.Queue[FeedOutput],
        *,
        stop: threading.Event,
        get_book: Callable[[str], dict],
        shard_size: int = 200,
        metrics: FeedMetrics | None = None,
        spot_check_secs: float = 15.0,
        spot_check_tokens: int = 3,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        ping_interval: float = 10.0,
        rng: random.Random | None = None,
        depth: int = 5,
        snapshot_timeout_secs: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        if shard_size < 2:
            raise ValueError("shard_size must be at least 2 (a market's two tokens share a shard)")
        self.url = url
        self.out = out
        self._stop = stop
        self.shard_size = shard_size
        self._metrics = metrics
        self._clock_ns = clock_ns
        self.ping_interval = ping_interval
        self._rng = rng or random.Random()
        self.depth = depth
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._reg = Registry()
        self._tokens = self._reg.tokens  # the registry's dict (tests and the bench peek at it)
        self._started = False
        self._closed = threading.Event()
        self._maint_thread: threading.Thread | None = None
        self._logged_kinds: set[str] = set()
        self._counters = FeedCounters()
        settings = MaintSettings(spot_check_secs, spot_check_tokens, snapshot_timeout_secs, depth)
        self._maint = FeedMaintenance(
            self._reg,
            settings,
            out=out,
            get_book=get_book,
            counters=self._counters,
            metrics=metrics,
            clock_ns=clock_ns,
            on_parse_error=self._parse_error,
            running=lambda: not (self._closed.is_set() or self._stop.is_set()),
        )
        self._reg.place(list(markets), shard_size, clock_ns())
        self._recorder: FrameRecorder | None = None
        self.watch: Callable[[MarketUpdate], None] | None = None  # issue 20: sees live updates

    @property
    def recorder(self) -> FrameRecorder | None:
        """``feed.record_dir``: every frame as received, and the REST books applied on resync."""
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: FrameRecorder | None) -> None:
        self._recorder = recorder
        self._maint.recorder = recorder

    # ------------------------------------------------------------------ counters (tests, bench)

    @property
    def parse_errors(self) -> dict[str, int]:
        return self._counters.kinds("parse_errors")

    @property
    def keepalive_frames(self) -> dict[str, int]:
        return self._counters.kinds("keepalives")

    @property
    def resyncs(self) -> dict[str, int]:
        return self._counters.kinds("resyncs")

    @property
    def rotations(self) -> int:
        return self._counters.total("rotations")

    @property
    def inconsistencies(self) -> int:
        return self._counters.total("inconsistencies")

    @property
    def events_applied(self) -> int:
        shards = self._reg.shard_list()
        return self._counters.total("events") + sum(s.events for s in shards)

    @property
    def legacy_messages(self) -> int:
        shards = self._reg.shard_list()
        return self._counters.total("legacy") + sum(s.legacy for s in shards)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        with self._reg.lock:
            if self._started:
                raise RuntimeError("MarketFeed already started")
            self._started = True
            shards = list(self._reg.shards)
        for shard in shards:
            self._start_shard(shard)
        self._maint_thread = threading.Thread(
            target=self._maint_loop, name="market-feed-maint", daemon=False
        )
        self._maint_thread.start()

    def _maint_loop(self) -> None:
        self._maint.run()
        if self._stop.is_set():
            self.close()

    def close(self) -> None:
        self._closed.set()
        for r in self._reg.runners():
            r.close()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for r in self._reg.runners():
            r.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._maint_thread is not None:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._maint_thread.join(left)

    # ------------------------------------------------------------------ dynamic markets

    def add_markets(self, markets: Iterable[MarketInfo]) -> None:
        """Subscribe more markets at run time (on open connections: ``operation: subscribe``)."""
        new_shards, sends = self._reg.place(list(markets), self.shard_size, self._clock_ns())
        for shard, tokens in sends:
            if shard.runner is not None:  # if not connected, on_open subscribes everything
                shard.runner.send(subscribe_op(tokens))
        if self._started:
            for shard in new_shards:
                self._start_shard(shard)

    def remove_markets(self, markets: Iterable[MarketInfo]) -> None:
        """Unsubscribe markets; their tokens get a final not-live update and their books go."""
        now = self._clock_ns()
        by_shard, updates = self._reg.drop(markets, now)
        emptied = []
        with self._reg.lock:
            for shard, toks in by_shard.items():
                with shard.lock:
                    for tok in toks:
                        shard.tokens.pop(tok, None)
                if not shard.tokens:
                    self._reg.shards.remove(shard)
                    emptied.append(shard)
        for shard, toks in by_shard.items():
            if shard.runner is not None and shard not in emptied:
                shard.runner.send(unsubscribe_op(toks))
        self._maint.flush_counts(emptied)
        for shard in emptied:
            self._counters.add("events", shard.events)
            self._counters.add("legacy", shard.legacy)
        for shard in emptied:
            if shard.runner is not None:
                shard.runner.close()
                with self._reg.lock:
                    self._reg.retired.append(shard.runner)
        for u in updates:
            self.out.put(u)

    def _start_shard(self, shard: Shard) -> None:
        def on_open(runner: WsRunner) -> None:
            self._on_open(shard, runner)

        def on_text(text: str, recv_ns: int) -> None:
            self._on_text(shard, text, recv_ns)

        def on_state(up: bool, reason: str) -> None:
            self._on_state(shard, up, reason)

        runner = WsRunner(
            shard.name,
            self.url,
            on_open=on_open,
            on_text=on_text,
            on_state=on_state,
            stop=self._stop,
            ping_interval=self.ping_interval,
            backoff_initial=self.backoff_initial,
            backoff_max=self.backoff_max,
            rng=random.Random(self._rng.random()),
            metrics=self._metrics,
        )
        if self._metrics is not None:
            shard.messages = self._metrics.feed_messages_total.labels(connection=shard.name)
        shard.runner = runner
        if not self._closed.is_set():
            runner.start()

    # ------------------------------------------------------------------ read API

    def book(self, token_id: str) -> OrderBook | None:
        st = self._reg.tokens.get(token_id)
        return None if st is None else st.book

    def is_live(self, token_id: str) -> bool:
        st = self._reg.tokens.get(token_id)
        return st is not None and st.live

    def token_age_secs(self, token_id: str) -> float | None:
        st = self._reg.tokens.get(token_id)
        if st is None or not st.last_ns:
            return None
        return (self._clock_ns() - st.last_ns) / 1e9

    @property
    def connections(self) -> list[WsRunner]:
        with self._reg.lock:
            return [s.runner for s in self._reg.shards if s.runner is not None]

    def shard_tokens(self) -> dict[str, list[str]]:
        with self._reg.lock:
            return {s.name: list(s.tokens) for s in self._reg.shards}

    # ------------------------------------------------------------------ ws thread callbacks

    def _on_open(self, shard: Shard, runner: WsRunner) -> None:
        with shard.lock:
            tokens = list(shard.tokens)
        if tokens:
            runner.send(subscribe_msg(tokens))

    def _on_state(self, shard: Shard, up: bool, reason: str) -> None:
        now = self._clock_ns()
        updates = []
        with shard.lock:
            shard.up_ns = now if up else 0
            if up:
                shard.spot_mark_ns = now
            for tok in shard.tokens:
                st = self._reg.tokens.get(tok)
                if st is None or st.resolved:
                    continue
                if up and not st.live and st.reason == DISCONNECTED:
                    st.reason = AWAITING
                    st.not_live_ns = now
                elif not up:
                    was_live, st.live = st.live, False
                    st.reason = DISCONNECTED
                    st.not_live_ns = now
                    if was_live:
                        updates.append(make_update(st, self.depth, now))
        if self._metrics is not None:
            self._metrics.set_connection_up(shard.name, up)
        self.out.put(FeedStatus(shard.name, up, reason))
        for u in updates:
            self.out.put(u)

    def _on_text(self, shard: Shard, text: str, recv_ns: int) -> None:
        """Hot path: parse one frame, apply it under the shard lock, emit updates after. The frame
        count goes to the metric from the maintenance thread, not a locked inc per frame."""
        shard.received += 1
        if self._recorder is not None:  # a queue put: the recorder's thread does the writing
            self._recorder.frame(shard.name, text)
        errors: list[ParseError] = []
        try:
            events = parse_frame(text, errors)
        except ParseError as exc:
            label = keepalive_label(text) if exc.kind == "bad_json" else None
            if label is None:
                self._parse_error(exc)
            else:
                self._keepalive(label, text)
            return
        for err in errors:
            self._parse_error(err)
        if events:
            shard.last_data_ns = recv_ns
            self._apply(shard, events, recv_ns)

    def _apply(self, shard: Shard, events: list[MarketEvent], recv_ns: int) -> None:
        batch = Batch(shard, self._reg.tokens, recv_ns, self.depth, self._counters)
        with shard.lock:
            apply_events(batch, events)
            updates = [make_update(st, self.depth, recv_ns) for st in batch.changed.values()]
        shard.events += len(events)
        for tok in batch.resync:
            self._maint.queue.put((tok, INCONSISTENT))
        put, watch = self.out.put, self.watch
        for u in updates:
            if watch is not None and u.live:
                watch(u)
            put(u)

    def _keepalive(self, label: str, text: str) -> None:
        """A plain-text info frame (``NO NEW ASSETS``...): counted apart, never data."""
        self._counters.add_kind("keepalives", label)
        if self._metrics is not None:
            self._metrics.feed_keepalive_frames_total.labels(text=label).inc()
        if label not in self._logged_kinds:
            self._logged_kinds.add(label)
            log.info(
                "market channel sent text %r (not data); later ones are only counted", text[:40]
            )

    def _parse_error(self, exc: ParseError) -> None:
        kind = exc.kind
        self._counters.add_kind("parse_errors", kind)
        if self._metrics is not None:
            self._metrics.feed_parse_errors_total.labels(kind=kind).inc()
        if kind not in self._logged_kinds:
            self._logged_kinds.add(kind)
            log.warning(
                "market frame skipped (%s: %s); sample: %s; later ones of this kind are only "
                "counted",
                kind,
                exc.detail,
                exc.sample,
            )
