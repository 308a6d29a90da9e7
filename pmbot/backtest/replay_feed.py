"""The bot's own market feed, driven by recorded frames instead of sockets.

``ReplayFeed`` builds a real ``pmbot.venue.market_ws.MarketFeed`` (never started: no threads, no
sockets) and hands it each recorded frame through the same entry point its WebSocket thread uses,
so parsing, book updates, the top-of-book consistency check, liveness and the ``MarketUpdate``s are
exactly the live ones. Recorded REST books go through the feed's resync path.

The private entry points used here (``_reg``, ``_on_state``, ``_on_text``, ``_maint.resync``)
are the only coupling to market_ws.py; if that module is split, only this file changes.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable
from typing import Any

from pmbot.model import MarketInfo, MarketUpdate
from pmbot.venue.book import OrderBook
from pmbot.venue.market_ws import MarketFeed
from pmbot.venue.wire_market import ParseError, parse_rest_book

from .records import Record


class _Sink(queue.Queue):
    """The feed's ``out``: a list, no locking (one thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Any] = []

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.items.append(item)


def _no_rest(token: str) -> dict:
    raise RuntimeError("no REST during replay")  # the feed logs it and waits for a recorded book


class ReplayFeed:
    def __init__(self, markets: Iterable[MarketInfo], depth: int = 5) -> None:
        markets = list(markets)
        self.now_ns = 0
        self._sink = _Sink()
        self.feed = MarketFeed(
            "ws://replay.invalid",
            markets,
            self._sink,
            stop=threading.Event(),
            get_book=_no_rest,
            shard_size=max(2, 2 * len(markets)),
            spot_check_secs=0,
            clock_ns=lambda: self.now_ns,
            depth=depth,
        )
        shards = self.feed._reg.shard_list()
        self._shard = shards[0] if shards else None
        if self._shard is not None:
            self.feed._on_state(self._shard, True, "replay")  # up: resyncs may apply
        self._sink.items.clear()
        self.rest_errors = 0

    @property
    def events_applied(self) -> int:
        return self.feed.events_applied

    def book(self, token_id: str) -> OrderBook | None:
        return self.feed.book(token_id)

    def apply(self, rec: Record) -> list[MarketUpdate]:
        """Apply one record; the MarketUpdates the live feed would have emitted for it."""
        if self._shard is None:
            return []
        self.now_ns = rec.t_ms * 1_000_000
        items = self._sink.items
        items.clear()
        if rec.kind == "ws":
            self.feed._on_text(self._shard, rec.text, self.now_ns)
        elif rec.kind == "rest":
            try:
                snap = parse_rest_book(json.loads(rec.text))
            except (ValueError, ParseError):
                self.rest_errors += 1
                return []
            self.feed._maint.resync(snap.asset_id, "recorded", snap)
        return [u for u in items if type(u) is MarketUpdate]
