"""MarketFeed's counters are exact when several connection threads count at once (issue 12:
counters updated from several threads without a lock), and keep-alive text is never data."""

from __future__ import annotations

import json
import queue
import sys
import threading
from decimal import Decimal as D

from pmbot.model import MarketInfo
from pmbot.venue.market_ws import MarketFeed

MARKETS = [MarketInfo(f"0xc{i}", f"{i}1", f"{i}2", tick=D("0.01")) for i in range(4)]


def make_feed(shard_size: int = 200) -> MarketFeed:
    def no_rest(token: str) -> dict:
        raise AssertionError("no REST in this test")

    return MarketFeed(
        "ws://127.0.0.1:9",
        MARKETS,
        queue.Queue(),
        stop=threading.Event(),
        get_book=no_rest,
        shard_size=shard_size,
    )


def book(i: int) -> str:
    return json.dumps(
        {
            "event_type": "book",
            "asset_id": f"{i}1",
            "market": f"0xc{i}",
            "bids": [{"price": "0.4", "size": "1"}],
            "asks": [{"price": "0.6", "size": "1"}],
        }
    )


def test_counts_from_several_connection_threads_are_exact():
    feed = make_feed(shard_size=2)  # one market per shard: four shards, one thread each
    shards = feed._reg.shard_list()
    assert len(shards) == 4
    rounds = 500
    start = threading.Barrier(len(shards))

    def connection_thread(i: int) -> None:
        frames = ["NO NEW ASSETS", "{bad json", json.dumps({"event_type": "mystery"}), book(i)]
        start.wait()
        for n in range(rounds):
            for text in frames:
                feed._on_text(shards[i], text, n + 1)

    threads = [threading.Thread(target=connection_thread, args=(i,)) for i in range(4)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(switch)
    assert not any(t.is_alive() for t in threads)
    total = 4 * rounds
    assert feed.keepalive_frames == {"no_new_assets": total}
    assert feed.parse_errors == {"bad_json": total, "unknown_event": total}
    assert feed.events_applied == total
    assert [s.received for s in shards] == [4 * rounds] * 4
    assert all(feed.is_live(f"{i}1") for i in range(4))


def test_keepalive_text_alone_never_marks_data():
    feed = make_feed()
    shard = feed._reg.shard_list()[0]
    for text in ("NO NEW ASSETS", "INVALID OPERATION", "", "   ", "[]"):
        feed._on_text(shard, text, 123)
    assert shard.last_data_ns == 0
    assert feed.keepalive_frames == {"no_new_assets": 1, "invalid_operation": 1}
    assert feed.parse_errors == {}
