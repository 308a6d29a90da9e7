"""MarketFeed with scripted frames from a tiny loopback WS server: bad input is counted and skipped
without killing the thread, updates are emitted only when something visible changed, the REST resync
path is exact, and market_resolved stops a token for good. Deterministic (no background traders)."""

from __future__ import annotations

import json
import queue
import random
import threading
from decimal import Decimal as D

import pytest

from pmbot.metrics import Metrics
from pmbot.model import FeedStatus, MarketInfo, MarketUpdate
from pmbot.venue.market_ws import MarketFeed
from tests.unit.test_ws_runner import TinyWsServer, wait_for

YES, NO, CID = "111", "222", "0xc0"
MARKET = MarketInfo(CID, YES, NO, tick=D("0.01"))


def book(asset, bids, asks, **extra):
    return {
        "event_type": "book",
        "asset_id": asset,
        "market": CID,
        "timestamp": "1",
        "hash": "h",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
        **extra,
    }


def change(asset, price, size, side, best_bid, best_ask):
    return {
        "event_type": "price_change",
        "market": CID,
        "timestamp": "2",
        "price_changes": [
            {
                "asset_id": asset,
                "price": price,
                "size": size,
                "side": side,
                "hash": "x",
                "best_bid": best_bid,
                "best_ask": best_ask,
            }
        ],
    }


class Rest:
    def __init__(self) -> None:
        self.books: dict[str, dict] = {}
        self.calls: list[str] = []

    def __call__(self, token: str) -> dict:
        self.calls.append(token)
        return self.books[token]


@pytest.fixture
def env():
    server = TinyWsServer()
    rest = Rest()
    out: queue.Queue = queue.Queue()
    stop = threading.Event()
    metrics = Metrics(process_collector=False)
    feed = MarketFeed(
        server.url,
        [MARKET],
        out,
        stop=stop,
        get_book=rest,
        metrics=metrics,
        spot_check_secs=0,
        snapshot_timeout_secs=30,
        rng=random.Random(1),
        depth=3,
    )
    feed.start()
    items: list = []

    def drain():
        while True:
            try:
                items.append(out.get_nowait())
            except queue.Empty:
                return [i for i in items if isinstance(i, MarketUpdate)]

    assert wait_for(lambda: server.accepted == 1 and not server.received.empty())
    n, sub = server.received.get()
    assert json.loads(sub) == {
        "assets_ids": [YES, NO],
        "type": "market",
        "custom_feature_enabled": True,
    }

    def send(obj):
        server.send_text(server.latest(), obj if isinstance(obj, str) else json.dumps(obj))

    send(
        [
            book(YES, [("0.40", "10"), ("0.41", "5")], [("0.45", "7")]),
            book(NO, [("0.55", "7")], [("0.60", "10"), ("0.59", "5")]),
        ]
    )
    assert wait_for(lambda: feed.is_live(YES) and feed.is_live(NO))
    yield feed, send, drain, rest, metrics, items
    stop.set()
    feed.close()
    feed.join(5)
    server.close()


def test_keepalive_text_is_counted_apart_and_is_not_data(env):
    """Issue 13 item 5: plain-text frames (NO NEW ASSETS) are neither parse errors nor data."""
    feed, send, drain, rest, metrics, _ = env
    send(book(YES, [("0.38", "10")], [("0.45", "10")]))
    assert wait_for(lambda: feed.book(YES).best_bid == D("0.38"))
    shard = feed._tokens[YES].shard
    data_ns = shard.last_data_ns
    assert data_ns > 0
    for _ in range(3):
        send("NO NEW ASSETS")
    send("SOMETHING NEW")
    assert wait_for(lambda: sum(feed.keepalive_frames.values()) == 4)
    assert feed.keepalive_frames == {"no_new_assets": 3, "other": 1}
    assert metrics.value("pmbot_feed_keepalive_frames_total", {"text": "no_new_assets"}) == 3
    assert feed.parse_errors == {}
    assert shard.last_data_ns == data_ns  # text frames never make the connection look alive
    send("{truncated")  # a broken data frame is still a parse error
    assert wait_for(lambda: feed.parse_errors == {"bad_json": 1})


def test_malformed_frames_are_counted_skipped_and_the_feed_lives_on(env):
    feed, send, drain, rest, metrics, _ = env
    send("{not json")
    send({"event_type": "mystery"})
    send(change(YES, "1.7", "5", "BUY", "0.41", "0.45"))  # price outside [0, 1]
    send(change(YES, "0.42", "oops", "BUY", "0.42", "0.45"))
    send(
        [{"event_type": "nope"}, change(YES, "0.42", "3", "BUY", "0.42", "0.45")]
    )  # good one in a bad array
    assert wait_for(lambda: feed.book(YES).best_bid == D("0.42"))
    assert feed.parse_errors == {
        "bad_json": 1,
        "unknown_event": 2,
        "price_out_of_range": 1,
        "bad_number": 1,
    }
    assert metrics.value("pmbot_feed_parse_errors_total", {"kind": "unknown_event"}) == 2
    assert feed.is_live(YES) and feed.connections[0].connected
    assert feed.connections[0].handler_errors == {}  # nothing escaped into websocket-client


def test_updates_only_when_top_levels_change_and_are_self_contained(env):
    feed, send, drain, *_ = env
    drain()
    before = len(drain())
    send(change(YES, "0.30", "9", "BUY", "0.41", "0.45"))  # 3rd+ level (depth=3 -> still visible)
    send(
        change(YES, "0.20", "9", "BUY", "0.41", "0.45")
    )  # 4th level: not visible in a 3-level update
    send(change(YES, "0.43", "2", "BUY", "0.43", "0.45"))  # new best bid
    assert wait_for(lambda: feed.book(YES).best_bid == D("0.43"))
    ups = [u for u in drain()[before:] if u.token_id == YES]
    assert len(ups) == 2
    last = ups[-1]
    assert (last.best_bid, last.bid_size, last.best_ask, last.ask_size) == (
        D("0.43"),
        D("2"),
        D("0.45"),
        D("7"),
    )
    assert last.bids == ((D("0.43"), D("2")), (D("0.41"), D("5")), (D("0.40"), D("10")))
    assert last.live and last.market == CID and last.tick == D("0.01")


def test_top_mismatch_marks_inconsistent_until_rest_resync(env):
    feed, send, drain, rest, metrics, _ = env
    rest.books[YES] = book(YES, [("0.38", "1")], [("0.44", "2"), ("0.46", "3")])
    send(change(YES, "0.39", "4", "BUY", "0.39", "0.45"))  # venue says best bid 0.39; we have 0.41
    assert wait_for(lambda: feed.resyncs.get("inconsistent") == 1)
    ups = [u for u in drain() if u.token_id == YES]
    assert any(not u.live and u.reason == "inconsistent" for u in ups)
    assert ups[-1].live and ups[-1].best_bid == D("0.38") and ups[-1].best_ask == D("0.44")
    assert feed.book(YES).snapshot() == (
        [(D("0.38"), D("1"))],
        [(D("0.44"), D("2")), (D("0.46"), D("3"))],
    )
    assert rest.calls == [YES]
    assert metrics.value("pmbot_feed_resyncs_total", {"reason": "inconsistent"}) == 1
    assert feed.inconsistencies == 1


def test_empty_side_markers_and_last_trade_and_resolution(env):
    feed, send, drain, *_ = env
    send(change(NO, "0.55", "0", "BUY", "0", "0.59"))  # bid side emptied: venue reports "0"
    send(
        {
            "event_type": "last_trade_price",
            "asset_id": NO,
            "market": CID,
            "price": "0.59",
            "size": "1",
            "side": "BUY",
            "fee_rate_bps": "0",
            "timestamp": "3",
        }
    )
    assert wait_for(lambda: feed.book(NO).last_trade_price == D("0.59"))
    assert feed.is_live(NO) and feed.book(NO).best_bid is None and feed.inconsistencies == 0
    assert drain()[-1].last_trade_price == D("0.59")
    send(
        {
            "event_type": "market_resolved",
            "market": CID,
            "assets_ids": [YES, NO],
            "winning_asset_id": YES,
            "winning_outcome": "Yes",
            "timestamp": "4",
        }
    )
    assert wait_for(lambda: not feed.is_live(YES) and not feed.is_live(NO))
    send(book(YES, [("0.98", "1")], []))  # a later snapshot does not revive a resolved market
    send("[]")
    assert wait_for(lambda: feed.book(YES).best_bid == D("0.98"))
    assert not feed.is_live(YES) and drain()[-1].reason == "resolved"


def test_status_messages_on_the_out_queue(env):
    feed, send, drain, rest, metrics, items = env
    drain()
    statuses = [i for i in items if isinstance(i, FeedStatus)]
    assert statuses == [FeedStatus("market-1", True, "")]
    assert metrics.value("pmbot_feed_connection_up", {"connection": "market-1"}) == 1


def test_connection_and_token_ages_are_metrics(env):
    feed, send, drain, rest, metrics, _ = env

    def ages():
        metrics.refresh_ages()
        return (
            metrics.value("pmbot_token_last_event_age_seconds", {"market": CID, "token": YES}),
            metrics.value("pmbot_feed_last_event_age_seconds", {"connection": "market-1"}),
        )

    assert wait_for(lambda: None not in ages())
    token_age, conn_age = ages()
    assert 0 <= token_age < 10 and 0 <= conn_age < 10
    assert feed.token_age_secs(YES) is not None and feed.token_age_secs("unknown") is None


def test_frames_are_counted_in_the_metric_within_a_maintenance_tick(env):
    feed, send, drain, rest, metrics, _ = env
    name = feed.connections[0].name
    for i in range(7):
        send(change(YES, "0.30", str(i + 1), "BUY", "0.41", "0.45"))
    send("{not json")  # counted as received too: the metric is frames off the wire
    # 1 snapshot frame from the fixture + 8 here
    assert wait_for(
        lambda: metrics.value("pmbot_feed_messages_total", {"connection": name}) == 9, timeout=3
    )
