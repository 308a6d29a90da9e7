"""The market feed: sharded market-channel connections, local books, resync and silent-feed detection.

Output (on ``out``): a ``MarketUpdate`` for every token whose top, first levels, tick, liveness or last
trade changed, and a ``FeedStatus`` when a connection goes up or down. Each update is self-contained
(full top plus ``depth`` levels a side) so the strategy may keep only the latest per token.

A token is *live* only while its book is trustworthy. It is not live:

* before its first snapshot (``awaiting_snapshot``),
* after its connection dropped, until a fresh snapshot arrives on the new connection (``disconnected``),
* after an ``inconsistent`` check: the local top after a ``price_change`` differs from the message's
  own ``best_bid``/``best_ask`` (protocol 2.9), until a REST ``GET /book`` resync (``get_book``),
* after ``market_resolved`` (``resolved``, for good).

Tokens still waiting for a snapshot ``snapshot_timeout_secs`` after their connection came up are
resynced over REST too (a subscribe whose dump never came).

Silent feed (issue 4 item 4): a connection can keep answering PONG while delivering no data. Every
``spot_check_secs`` a maintenance thread fetches a few tokens' books per connection over REST; if one
differs from the local book and the connection delivered no data frame since the previous check, the
connection is rotated (forced reconnect, fresh snapshots). If data was flowing, the fetched book is
applied as a resync instead. Per-token and per-connection event ages are metrics.

Threads: one ``ws-market-N`` (+ its ping thread) per shard of at most ``shard_size`` tokens (both
tokens of a market stay in one shard), and ``market-feed-maint`` for all REST work, so a slow REST call
never stalls ingest. Each shard's lock guards its tokens' books and states; a token belongs to one shard.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal

from pmbot.model import FeedStatus, MarketInfo, MarketUpdate, Side
from pmbot.venue.book import OrderBook
from pmbot.venue.wire_market import (
    BestBidAskEvent,
    BookEvent,
    LastTradeEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    ParseError,
    PriceChangeEvent,
    TickSizeChangeEvent,
    parse_frame,
    parse_rest_book,
)
from pmbot.venue.ws import WsRunner

log = logging.getLogger(__name__)

AWAITING = "awaiting_snapshot"
DISCONNECTED = "disconnected"
INCONSISTENT = "inconsistent"
RESOLVED = "resolved"
UNSUBSCRIBED = "unsubscribed"

_MAINT_TICK_SECS = 0.25
_ZERO = Decimal(0)


class _Token:
    __slots__ = (
        "token_id",
        "market",
        "book",
        "live",
        "reason",
        "last_ns",
        "not_live_ns",
        "resync_pending",
        "resolved",
        "shard",
    )

    def __init__(
        self, token_id: str, market: str, tick: Decimal, shard: _Shard, now_ns: int
    ) -> None:
        self.token_id = token_id
        self.market = market
        self.book = OrderBook(token_id, tick)
        self.live = False
        self.reason = AWAITING
        self.last_ns = 0  # last event for this token (0 = never)
        self.not_live_ns = now_ns  # when it last stopped being live
        self.resync_pending = False
        self.resolved = False
        self.shard = shard


class _Shard:
    __slots__ = (
        "name",
        "tokens",
        "lock",
        "runner",
        "up_ns",
        "spot_mark_ns",
        "spot_cursor",
        "messages",
        "received",
        "reported",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.tokens: dict[str, None] = {}  # ordered set
        self.lock = threading.Lock()
        self.runner: WsRunner | None = None
        self.up_ns = 0  # when the connection last came up (0 = down)
        self.spot_mark_ns = 0  # when the previous spot check ran
        self.spot_cursor = 0
        self.messages = None  # cached metrics child
        self.received = 0  # frames seen (written by the shard's ws thread only)
        self.reported = 0  # of those, already added to ``messages`` (maintenance thread only)


class MarketFeed:
    """Market-channel books for a set of markets; see the module docstring."""

    def __init__(
        self,
        url: str,
        markets: Iterable[MarketInfo],
        out: queue.Queue,
        *,
        stop: threading.Event,
        get_book: Callable[[str], dict],
        shard_size: int = 200,
        metrics=None,
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
        self._get_book = get_book
        self.shard_size = shard_size
        self._metrics = metrics
        self.spot_check_secs = spot_check_secs
        self.spot_check_tokens = spot_check_tokens
        self._clock_ns = clock_ns
        self.ping_interval = ping_interval
        self._rng = rng or random.Random()
        self.depth = depth
        self.snapshot_timeout_secs = snapshot_timeout_secs
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max

        self._lock = threading.Lock()  # guards the shard list and token map structure
        self._tokens: dict[str, _Token] = {}
        self._markets: dict[str, MarketInfo] = {}
        self._shards: list[_Shard] = []
        self._retired: list[WsRunner] = []
        self._shard_seq = 0
        self._started = False
        self._closed = threading.Event()
        self._resync_q: queue.Queue[tuple[str, str]] = queue.Queue()
        self._maint: threading.Thread | None = None
        self._logged_kinds: set[str] = set()
        self._count_lock = (
            threading.Lock()
        )  # guards the shards' ``reported`` (flushes from two threads)
        # counters for tests and the bench (metrics carry the same numbers when given)
        self.parse_errors: dict[str, int] = {}
        self.resyncs: dict[str, int] = {}
        self.rotations = 0
        self.inconsistencies = 0
        self.events_applied = 0
        self.legacy_messages = 0
        self.recorder = None  # pmbot.venue.recorder.FeedRecorder when feed.record_dir is set
        self._add(list(markets))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("MarketFeed already started")
            self._started = True
            shards = list(self._shards)
        for shard in shards:
            self._start_shard(shard)
        self._maint = threading.Thread(
            target=self._maint_loop, name="market-feed-maint", daemon=False
        )
        self._maint.start()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            runners = [s.runner for s in self._shards if s.runner is not None] + list(self._retired)
        for r in runners:
            r.close()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            runners = [s.runner for s in self._shards if s.runner is not None] + list(self._retired)
        for r in runners:
            r.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._maint is not None:
            self._maint.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ dynamic markets

    def add_markets(self, markets: Iterable[MarketInfo]) -> None:
        """Subscribe more markets at run time (on open connections: ``operation: subscribe``)."""
        new_shards, sends = self._add(list(markets))
        for shard, tokens in sends:
            runner = shard.runner
            if runner is not None:
                runner.send(
                    _subscribe_op(tokens)
                )  # if not connected, on_open subscribes everything
        if self._started:
            for shard in new_shards:
                self._start_shard(shard)

    def remove_markets(self, markets: Iterable[MarketInfo]) -> None:
        """Unsubscribe markets; their tokens get a final not-live update and their books are dropped."""
        updates = []
        emptied = []
        by_shard: dict[_Shard, list[str]] = {}
        now = self._clock_ns()
        with self._lock:
            for m in markets:
                if self._markets.pop(m.condition_id, None) is None:
                    continue
                for tok in (m.yes_token, m.no_token):
                    st = self._tokens.pop(tok, None)
                    if st is None:
                        continue
                    by_shard.setdefault(st.shard, []).append(tok)
                    updates.append(
                        MarketUpdate(
                            tok,
                            st.market,
                            None,
                            None,
                            _ZERO,
                            _ZERO,
                            st.book.tick or _ZERO,
                            False,
                            now,
                            reason=UNSUBSCRIBED,
                        )
                    )
            for shard, toks in by_shard.items():
                with shard.lock:
                    for tok in toks:
                        shard.tokens.pop(tok, None)
                if not shard.tokens:
                    self._shards.remove(shard)
                    emptied.append(shard)
        for shard, toks in by_shard.items():
            if shard.runner is not None and shard not in emptied:
                shard.runner.send(_unsubscribe_op(toks))
        self._flush_counts(emptied)
        for shard in emptied:
            if shard.runner is not None:
                shard.runner.close()
                with self._lock:
                    self._retired.append(shard.runner)
        for u in updates:
            self.out.put(u)

    def _add(self, markets: list[MarketInfo]):
        """Place new markets' tokens into shards with room (new shards when full)."""
        new_shards: list[_Shard] = []
        sends: dict[_Shard, list[str]] = {}
        now = self._clock_ns()
        with self._lock:
            for m in markets:
                if m.condition_id in self._markets:
                    continue
                toks = [t for t in (m.yes_token, m.no_token) if t and t not in self._tokens]
                shard = next(
                    (s for s in self._shards if len(s.tokens) + len(toks) <= self.shard_size), None
                )
                if shard is None:
                    self._shard_seq += 1
                    shard = _Shard(f"market-{self._shard_seq}")
                    self._shards.append(shard)
                    new_shards.append(shard)
                self._markets[m.condition_id] = m
                with shard.lock:
                    for tok in toks:
                        self._tokens[tok] = _Token(tok, m.condition_id, m.tick, shard, now)
                        shard.tokens[tok] = None
                if shard not in new_shards:
                    sends.setdefault(shard, []).extend(toks)
        return new_shards, list(sends.items())

    def _start_shard(self, shard: _Shard) -> None:
        runner = WsRunner(
            shard.name,
            self.url,
            on_open=lambda r, s=shard: self._on_open(s, r),
            on_text=lambda text, recv_ns, s=shard: self._on_text(s, text, recv_ns),
            on_state=lambda up, reason, s=shard: self._on_state(s, up, reason),
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
        if self._closed.is_set():
            return
        runner.start()

    # ------------------------------------------------------------------ read API

    def book(self, token_id: str) -> OrderBook | None:
        st = self._tokens.get(token_id)
        return None if st is None else st.book

    def is_live(self, token_id: str) -> bool:
        st = self._tokens.get(token_id)
        return st is not None and st.live

    def token_age_secs(self, token_id: str) -> float | None:
        st = self._tokens.get(token_id)
        if st is None or not st.last_ns:
            return None
        return (self._clock_ns() - st.last_ns) / 1e9

    @property
    def connections(self) -> list[WsRunner]:
        with self._lock:
            return [s.runner for s in self._shards if s.runner is not None]

    def shard_tokens(self) -> dict[str, list[str]]:
        with self._lock:
            return {s.name: list(s.tokens) for s in self._shards}

    # ------------------------------------------------------------------ connection callbacks (ws threads)

    def _on_open(self, shard: _Shard, runner: WsRunner) -> None:
        with shard.lock:
            tokens = list(shard.tokens)
        if tokens:
            runner.send(_subscribe_msg(tokens))

    def _on_state(self, shard: _Shard, up: bool, reason: str) -> None:
        now = self._clock_ns()
        updates = []
        with shard.lock:
            if up:
                shard.up_ns = now
                shard.spot_mark_ns = now
                for tok in shard.tokens:
                    st = self._tokens.get(tok)
                    if st is not None and not st.live and st.reason == DISCONNECTED:
                        st.reason = AWAITING
                        st.not_live_ns = now
            else:
                shard.up_ns = 0
                for tok in shard.tokens:
                    st = self._tokens.get(tok)
                    if st is None or st.resolved:
                        continue
                    was_live = st.live
                    st.live = False
                    st.reason = DISCONNECTED
                    st.not_live_ns = now
                    if was_live:
                        updates.append(self._update(st, now))
        if self._metrics is not None:
            self._metrics.set_connection_up(shard.name, up)
        self.out.put(FeedStatus(shard.name, up, reason))
        for u in updates:
            self.out.put(u)

    def _on_text(self, shard: _Shard, text: str, recv_ns: int) -> None:
        """Hot path: parse one frame, apply it under the shard lock, emit updates after. The frame count
        goes to the metric from the maintenance thread (``_flush_counts``), not a locked inc per frame."""
        shard.received += 1
        if self.recorder is not None:
            self.recorder.frame(shard.name, text)
        errors: list = []
        try:
            events = parse_frame(text, errors)
        except ParseError as exc:
            self._parse_error(exc)
            return
        for exc in errors:
            self._parse_error(exc)
        if not events:
            return
        changed: dict[str, _Token] = {}
        resync: list[str] = []
        tokens = self._tokens
        with shard.lock:
            for ev in events:
                if type(ev) is PriceChangeEvent:
                    self._apply_price_change(shard, ev, recv_ns, changed, resync)
                elif type(ev) is BookEvent:
                    st = tokens.get(ev.asset_id)
                    if st is None or st.shard is not shard:
                        continue
                    st.book.apply_snapshot(ev.bids, ev.asks, ev.tick)
                    if ev.last_trade_price is not None:
                        st.book.last_trade_price = ev.last_trade_price
                    st.last_ns = recv_ns
                    if not st.resolved:
                        st.live = True
                        st.reason = ""
                    changed[st.token_id] = st
                elif type(ev) is TickSizeChangeEvent:
                    st = tokens.get(ev.asset_id)
                    if st is None or st.shard is not shard:
                        continue
                    log.info(
                        "tick size of %s… %s -> %s", ev.asset_id[:12], st.book.tick, ev.new_tick
                    )
                    st.book.tick = ev.new_tick
                    st.last_ns = recv_ns
                    changed[st.token_id] = st
                elif type(ev) is LastTradeEvent:
                    st = tokens.get(ev.asset_id)
                    if st is None or st.shard is not shard:
                        continue
                    st.book.last_trade_price = ev.price
                    st.last_ns = recv_ns
                    changed[st.token_id] = st
                elif type(ev) is MarketResolvedEvent:
                    for tok in ev.asset_ids:
                        st = tokens.get(tok)
                        if st is None or st.shard is not shard:
                            continue
                        st.resolved = True
                        st.live = False
                        st.reason = RESOLVED
                        changed[tok] = st
                    log.info("market %s resolved (winner %s…)", ev.market, ev.winning_asset_id[:12])
                elif type(ev) is BestBidAskEvent:
                    st = tokens.get(ev.asset_id)
                    if st is not None and st.shard is shard:
                        st.last_ns = recv_ns
                elif type(ev) is NewMarketEvent:
                    log.debug("new market announced: %s %s", ev.market, ev.slug)
            updates = [self._update(st, recv_ns) for st in changed.values()]
        self.events_applied += len(events)
        for tok in resync:
            self._resync_q.put((tok, INCONSISTENT))
        put = self.out.put
        for u in updates:
            put(u)

    def _apply_price_change(
        self, shard: _Shard, ev: PriceChangeEvent, recv_ns: int, changed: dict, resync: list
    ) -> None:
        tokens = self._tokens
        depth = self.depth
        last = {}
        if ev.legacy:
            self.legacy_messages += 1
        for e in ev.entries:
            st = tokens.get(e.asset_id)
            if st is None or st.shard is not shard:
                continue
            book = st.book
            book.set_level(e.side, e.price, e.size)
            st.last_ns = recv_ns
            last[e.asset_id] = (st, e)
            if book.within_top(e.side, e.price, depth):
                changed[e.asset_id] = st
        for st, e in last.values():
            if not e.top_known or not st.live:
                continue
            book = st.book
            if book.top_matches(e.best_bid, e.best_ask):
                continue
            # local top disagrees with the exchange's own report: stop trusting this book
            self.inconsistencies += 1
            log.warning(
                "book %s… inconsistent: local %s/%s, venue %s/%s; resyncing",
                st.token_id[:12],
                book.best_bid,
                book.best_ask,
                e.best_bid,
                e.best_ask,
            )
            st.live = False
            st.reason = INCONSISTENT
            st.not_live_ns = recv_ns
            changed[st.token_id] = st
            if not st.resync_pending:
                st.resync_pending = True
                resync.append(st.token_id)

    def _update(self, st: _Token, recv_ns: int) -> MarketUpdate:
        book = st.book
        bids = book.levels(Side.BUY, self.depth)
        asks = book.levels(Side.SELL, self.depth)
        return MarketUpdate(
            st.token_id,
            st.market,
            bids[0][0] if bids else None,
            asks[0][0] if asks else None,
            bids[0][1] if bids else _ZERO,
            asks[0][1] if asks else _ZERO,
            book.tick,
            st.live,
            recv_ns,
            tuple(bids),
            tuple(asks),
            st.reason,
            book.last_trade_price,
        )

    def _parse_error(self, exc: ParseError) -> None:
        kind = exc.kind
        self.parse_errors[kind] = self.parse_errors.get(kind, 0) + 1
        if self._metrics is not None:
            self._metrics.feed_parse_errors_total.labels(kind=kind).inc()
        if kind not in self._logged_kinds:
            self._logged_kinds.add(kind)
            log.warning(
                "market frame skipped (%s: %s); sample: %s; later ones of this kind are only counted",
                kind,
                exc.detail,
                exc.sample,
            )

    # ------------------------------------------------------------------ maintenance thread (REST)

    def _maint_loop(self) -> None:
        next_spot = time.monotonic() + self.spot_check_secs if self.spot_check_secs > 0 else None
        next_scan = time.monotonic() + _MAINT_TICK_SECS
        scans = 0
        while not (self._closed.is_set() or self._stop.is_set()):
            now = time.monotonic()
            due = min(t for t in (next_spot, next_scan) if t is not None)
            try:
                token, reason = self._resync_q.get(
                    timeout=max(0.0, min(due - now, _MAINT_TICK_SECS))
                )
            except queue.Empty:
                token = None
            try:
                if token is not None:
                    self._resync(token, reason)
                now = time.monotonic()
                if now >= next_scan:
                    next_scan = now + _MAINT_TICK_SECS
                    self._flush_counts()
                    self._scan_stale()
                    scans += 1
                    if scans % 4 == 0:  # ages for the metrics: once a second is plenty
                        self._mark_ages()
                if next_spot is not None and now >= next_spot:
                    next_spot = now + self.spot_check_secs
                    self._spot_check()
            except Exception:  # noqa: BLE001 - the maintenance thread must survive anything
                log.exception("market feed maintenance step failed")
        self._flush_counts()
        if self._stop.is_set():
            self.close()

    def _flush_counts(self, shards: list | None = None) -> None:
        """Add the frames counted since the last flush to ``feed_messages_total`` (a few times a second)."""
        if shards is None:
            with self._lock:
                shards = list(self._shards)
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
            self._parse_error(exc)
        except Exception as exc:  # noqa: BLE001 - REST failure: retried by the stale scan
            log.warning("GET /book %s… failed: %r", token[:12], exc)
        return None

    def _resync(self, token: str, reason: str, snap: BookEvent | None = None) -> None:
        st = self._tokens.get(token)
        if st is None:
            return
        if snap is None:
            snap = self._fetch(token)
        shard = st.shard
        update = None
        with shard.lock:
            st.resync_pending = False
            if snap is None or st.resolved or not shard.up_ns or self._tokens.get(token) is not st:
                return  # failed, or disconnected: the reconnect's snapshot (or a later scan) fixes it
            st.book.apply_snapshot(snap.bids, snap.asks, snap.tick)
            if snap.last_trade_price is not None:
                st.book.last_trade_price = snap.last_trade_price
            st.live = True
            st.reason = ""
            update = self._update(st, self._clock_ns())
            if self.recorder is not None:
                self.recorder.rest_book(snap)
        self.resyncs[reason] = self.resyncs.get(reason, 0) + 1
        if self._metrics is not None:
            self._metrics.feed_resyncs_total.labels(reason=reason).inc()
        log.info("book %s… resynced over REST (%s)", token[:12], reason)
        self.out.put(update)

    def _scan_stale(self) -> None:
        """Tokens on an up connection still without a trustworthy book after the timeout: REST resync."""
        now = self._clock_ns()
        limit = int(self.snapshot_timeout_secs * 1e9)
        with self._lock:
            shards = list(self._shards)
        for shard in shards:
            with shard.lock:
                if not shard.up_ns or now - shard.up_ns < limit:
                    continue
                stale = []
                for tok in shard.tokens:
                    st = self._tokens.get(tok)
                    if st is None or st.live or st.resolved or st.resync_pending:
                        continue
                    if now - st.not_live_ns >= limit:
                        st.resync_pending = True
                        st.not_live_ns = now  # retry no sooner than another timeout
                        stale.append(tok)
            for tok in stale:
                self._resync_q.put((tok, "snapshot_timeout"))

    def _spot_check(self) -> None:
        now = self._clock_ns()
        with self._lock:
            shards = list(self._shards)
        for shard in shards:
            runner = shard.runner
            if runner is None or not shard.up_ns:
                continue
            with shard.lock:
                live = [
                    t
                    for t in shard.tokens
                    if self._tokens.get(t) is not None and self._tokens[t].live
                ]
                prev_mark = shard.spot_mark_ns
                shard.spot_mark_ns = now
            if not live:
                continue
            n = min(self.spot_check_tokens, len(live))
            start = shard.spot_cursor % len(live)
            shard.spot_cursor = start + n
            sample = [live[(start + i) % len(live)] for i in range(n)]
            for tok in sample:
                snap = self._fetch(tok)
                if snap is None:
                    continue
                st = self._tokens.get(tok)
                if st is None:
                    continue
                fresh = OrderBook()
                fresh.apply_snapshot(snap.bids, snap.asks)
                with shard.lock:
                    same = fresh.snapshot() == st.book.snapshot()
                if same:
                    continue
                quiet = runner.last_message_ns < prev_mark and shard.up_ns <= prev_mark
                if quiet:
                    self.rotations += 1
                    if self._metrics is not None:
                        self._metrics.feed_rotations_total.labels(reason="silent_feed").inc()
                    log.warning(
                        "connection %s is silent (PONG only) while the book of %s… changed: rotating",
                        shard.name,
                        tok[:12],
                    )
                    runner.rotate("silent feed")
                    break
                self._resync(tok, "spot_check", snap)

    def _mark_ages(self) -> None:
        m = self._metrics
        if m is None:
            return
        with self._lock:
            shards = list(self._shards)
        for shard in shards:
            runner = shard.runner
            if runner is not None and runner.last_message_ns:
                m.mark_feed_event(shard.name, at=runner.last_message_ns / 1e9)
        for tok, st in list(self._tokens.items()):
            if st.last_ns:
                m.mark_token_event(st.market, tok, at=st.last_ns / 1e9)


def _subscribe_msg(tokens: list[str]) -> str:
    return json.dumps({"assets_ids": tokens, "type": "market", "custom_feature_enabled": True})


def _subscribe_op(tokens: list[str]) -> str:
    return json.dumps(
        {"operation": "subscribe", "assets_ids": tokens, "custom_feature_enabled": True}
    )


def _unsubscribe_op(tokens: list[str]) -> str:
    return json.dumps({"operation": "unsubscribe", "assets_ids": tokens})
