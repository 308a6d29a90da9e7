"""MarketFeed against the real pmbot.sim over loopback: live books, drop + resync, silent feed
rotation (also under keep-alive text), tick size change, inconsistency resync, dynamic
subscribe/unsubscribe, 600 tokens across 3 shards."""

from __future__ import annotations

import queue
import random
import threading
import time
from decimal import Decimal as D

import pytest
import requests
from prometheus_client import CollectorRegistry

from pmbot.metrics import Metrics
from pmbot.model import FeedStatus, MarketInfo, MarketUpdate, Side
from pmbot.sim import SimServer
from pmbot.venue.book import OrderBook
from pmbot.venue.market_ws import MarketFeed
from pmbot.venue.wire_market import parse_rest_book


def wait_for(predicate, timeout: float = 10.0, step: float = 0.02) -> bool:
    ev = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        ev.wait(step)
    return predicate()


class Collector:
    """Drains the feed's out queue in the test thread."""

    def __init__(self, out: queue.Queue) -> None:
        self.out = out
        self.items: list = []

    def drain(self) -> list:
        while True:
            try:
                self.items.append(self.out.get_nowait())
            except queue.Empty:
                return self.items

    def updates(self, token=None) -> list[MarketUpdate]:
        self.drain()
        return [
            u
            for u in self.items
            if isinstance(u, MarketUpdate) and (token is None or u.token_id == token)
        ]

    def statuses(self) -> list[FeedStatus]:
        self.drain()
        return [s for s in self.items if isinstance(s, FeedStatus)]


@pytest.fixture
def sim():
    server = SimServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rest(sim):
    session = requests.Session()
    base = sim.urls["clob_url"]

    def get_book(token: str) -> dict:
        resp = session.get(base + "/book", params={"token_id": token}, timeout=5)
        resp.raise_for_status()
        return resp.json()

    yield get_book
    session.close()


@pytest.fixture
def make_feed(sim, rest):
    feeds: list[MarketFeed] = []
    stop = threading.Event()

    def make(markets, **kw):
        out: queue.Queue = queue.Queue()
        kw.setdefault("spot_check_secs", 0.5)
        kw.setdefault("snapshot_timeout_secs", 1.0)
        kw.setdefault("backoff_initial", 0.05)
        kw.setdefault("backoff_max", 0.3)
        feed = MarketFeed(
            sim.urls["market_ws_url"],
            markets,
            out,
            stop=stop,
            get_book=rest,
            rng=random.Random(5),
            **kw,
        )
        feeds.append(feed)
        feed.start()
        return feed, Collector(out)

    yield make
    stop.set()
    for f in feeds:
        f.close()
    for f in feeds:
        f.join(10)
    leftover = [
        t.name for t in threading.enumerate() if t.name.startswith(("ws-market", "market-feed"))
    ]
    assert leftover == []


def sim_markets(sim) -> list[MarketInfo]:
    return [
        MarketInfo(m.condition_id, m.yes_token, m.no_token, tick=m.tick)
        for m in sim.exchange.markets.values()
    ]


def tokens_of(markets):
    return [t for m in markets for t in (m.yes_token, m.no_token)]


def rest_book(get_book, token) -> OrderBook:
    ev = parse_rest_book(get_book(token))
    b = OrderBook()
    b.apply_snapshot(ev.bids, ev.asks)
    return b


def all_live(feed, tokens) -> bool:
    return all(feed.is_live(t) for t in tokens)


def test_books_go_live_and_track_the_exchange(sim, rest, make_feed):
    markets = sim_markets(sim)
    feed, col = make_feed(markets, spot_check_secs=0)
    toks = tokens_of(markets)
    assert wait_for(lambda: all_live(feed, toks))
    # the background traders move books for a while: every price_change agrees with the local top
    wait_for(lambda: feed.events_applied > 300, timeout=5)
    assert feed.events_applied > 50
    assert feed.inconsistencies == 0 and feed.parse_errors == {}
    # freeze one market on a known book: the local full book equals the exchange's REST book
    tok = markets[0].yes_token
    sim.faults.set_book(tok, [("0.40", "100"), ("0.41", "50")], [("0.45", "70"), ("0.47", "30")])
    assert wait_for(lambda: feed.book(tok).snapshot() == rest_book(rest, tok).snapshot())
    assert feed.book(tok).best_bid == D("0.41") and feed.book(tok).best_ask == D("0.45")
    last = col.updates(tok)[-1]
    assert last.live and last.best_bid == D("0.41") and last.ask_size == D("70")
    assert last.bids[:2] == ((D("0.41"), D("50")), (D("0.40"), D("100"))) and last.tick == D("0.01")
    assert 0 < last.recv_ns <= time.monotonic_ns()
    statuses = col.statuses()
    assert statuses and statuses[0].up
    age = feed.token_age_secs(tok)
    assert age is not None and age >= 0


def test_drop_mid_stream_marks_not_live_then_resyncs(sim, rest, make_feed):
    markets = sim_markets(sim)
    toks = tokens_of(markets)
    feed, col = make_feed(markets, spot_check_secs=0)
    assert wait_for(lambda: all_live(feed, toks))
    runner = feed.connections[0]
    assert sim.faults.ws_drop("market") >= 1
    assert wait_for(lambda: any(not s.up for s in col.statuses()))
    down = [u for u in col.updates() if not u.live and u.reason == "disconnected"]
    assert {u.token_id for u in down} == set(toks)  # every token stopped being quotable
    assert wait_for(lambda: runner.reconnects >= 1 and all_live(feed, toks))
    assert col.statuses()[-1].up
    # quoting resumes: the last update per token is live again, with a fresh snapshot
    latest = {}
    for u in col.updates():
        latest[u.token_id] = u
    assert all(latest[t].live for t in toks)
    tok = markets[1].no_token
    sim.faults.set_book(tok, [("0.20", "10")], [("0.25", "20")])
    assert wait_for(lambda: feed.book(tok).snapshot() == rest_book(rest, tok).snapshot())
    assert feed.inconsistencies == 0


def test_silent_feed_is_detected_and_rotated(sim, rest, make_feed):
    markets = sim_markets(sim)
    toks = tokens_of(markets)
    feed, col = make_feed(markets, spot_check_secs=0.4, spot_check_tokens=4)
    assert wait_for(lambda: all_live(feed, toks))
    runner = feed.connections[0]
    sim.faults.silent_feed(True)
    # PONGs keep coming, data does not, the exchange's books keep moving: rotated
    assert wait_for(lambda: feed.rotations >= 1, timeout=15)
    assert runner.rotations >= 1
    # the runner thread reports the disconnect after the rotation: wait for it
    assert wait_for(lambda: any(not s.up and "silent" in s.reason for s in col.statuses()))
    sim.faults.silent_feed(False)
    rotations = feed.rotations
    # after the fault lifts, a fresh connection brings every book back and rotations stop
    assert wait_for(lambda: runner.connected and all_live(feed, toks), timeout=15)
    shard = feed._reg.shard_list()[0]
    marks: list[int] = []

    def three_more_spot_checks() -> bool:
        mark = shard.spot_mark_ns
        if not marks or marks[-1] != mark:
            marks.append(mark)
        return len(marks) >= 4

    assert wait_for(three_more_spot_checks, timeout=15)
    assert feed.rotations <= rotations + 1
    assert all_live(feed, toks)


def test_keepalive_text_and_pong_do_not_hide_a_silent_feed(sim, rest, make_feed):
    """Issue 13 item 5: a connection that gets only ``NO NEW ASSETS`` text and PONG for the
    spot-check window is detected as silent and rotated; the text frames are counted apart, never
    as parse errors."""
    metrics = Metrics(CollectorRegistry())
    markets = sim_markets(sim)
    toks = tokens_of(markets)
    feed, col = make_feed(
        markets, spot_check_secs=0.4, spot_check_tokens=4, ping_interval=0.1, metrics=metrics
    )
    assert wait_for(lambda: all_live(feed, toks))
    runner = feed.connections[0]
    sim.market_hub.silent_text = "NO NEW ASSETS"
    sim.faults.silent_feed(True)
    pong_before = runner.last_pong_ns
    assert wait_for(lambda: feed.keepalive_frames.get("no_new_assets", 0) >= 3)
    assert wait_for(lambda: runner.last_pong_ns > pong_before)
    assert wait_for(lambda: feed.rotations >= 1, timeout=15)
    assert wait_for(lambda: any(not s.up and "silent" in s.reason for s in col.statuses()))
    assert feed.parse_errors == {}
    assert metrics.value("pmbot_feed_keepalive_frames_total", {"text": "no_new_assets"}) >= 3
    for kind in ("bad_json", "json"):
        assert metrics.value("pmbot_feed_parse_errors_total", {"kind": kind}) in (None, 0.0)
    sim.faults.silent_feed(False)
    assert wait_for(lambda: runner.connected and all_live(feed, toks), timeout=15)


def test_tick_size_change_reaches_the_out_queue(sim, make_feed):
    markets = sim_markets(sim)
    feed, col = make_feed(markets, spot_check_secs=0)
    m = markets[0]
    assert wait_for(lambda: all_live(feed, tokens_of(markets)))
    sim.faults.tick_size(m.yes_token, "0.001")
    for tok in (m.yes_token, m.no_token):
        assert wait_for(lambda t=tok: any(u.tick == D("0.001") for u in col.updates(t)))
        assert feed.book(tok).tick == D("0.001")


def test_inconsistent_book_is_marked_and_resynced_over_rest(sim, rest, make_feed):
    markets = sim_markets(sim)
    toks = tokens_of(markets)
    feed, col = make_feed(markets, spot_check_secs=0)
    assert wait_for(lambda: all_live(feed, toks))
    tok = markets[0].yes_token
    # corrupt the local book (as a lost message would): a phantom best bid
    st = feed._tokens[tok]
    with st.shard.lock:
        st.book.set_level(Side.BUY, D("0.02"), D("1"))
        st.book.set_level(Side.BUY, (st.book.best_ask or D("0.99")) - D("0.01"), D("123456"))
    sim.faults.set_book(tok, [("0.30", "10")], [("0.35", "10")])  # the next price_change exposes it
    assert wait_for(lambda: feed.inconsistencies >= 1)
    assert any(not u.live and u.reason == "inconsistent" for u in col.updates(tok))
    assert wait_for(lambda: feed.resyncs.get("inconsistent", 0) >= 1 and feed.is_live(tok))
    assert wait_for(lambda: feed.book(tok).snapshot() == rest_book(rest, tok).snapshot())


def test_add_and_remove_markets_at_run_time(sim, make_feed):
    markets = sim_markets(sim)
    first, later = markets[:2], markets[2:5]
    feed, col = make_feed(first, spot_check_secs=0)
    assert wait_for(lambda: all_live(feed, tokens_of(first)))
    feed.add_markets(later)
    assert wait_for(lambda: all_live(feed, tokens_of(later)))
    assert len(feed.connections) == 1  # same connection, dynamic subscribe
    gone = later[0]
    feed.remove_markets([gone])
    ups = col.updates(gone.yes_token)
    assert ups[-1].reason == "unsubscribed" and not ups[-1].live
    assert feed.book(gone.yes_token) is None
    n_before = len(col.updates(gone.no_token))
    sim.faults.set_book(gone.no_token, [("0.10", "5")], [("0.90", "5")])
    wait_for(lambda: False, timeout=0.5)
    assert len(col.updates(gone.no_token)) == n_before


def test_600_tokens_spread_over_3_shards(sim, rest, make_feed):
    resp = requests.post(
        sim.urls["clob_url"] + "/_sim/bench_markets", json={"count": 300, "levels": 5}, timeout=30
    )
    resp.raise_for_status()
    markets = [
        MarketInfo(m["condition_id"], m["yes_token"], m["no_token"]) for m in resp.json()["markets"]
    ]
    feed, col = make_feed(markets, shard_size=200, spot_check_secs=0)
    shards = feed.shard_tokens()
    assert len(shards) == 3 and all(len(t) == 200 for t in shards.values())
    toks = tokens_of(markets)
    assert wait_for(lambda: all_live(feed, toks), timeout=20)
    assert len({r.name for r in feed.connections}) == 3 and all(
        r.connected for r in feed.connections
    )
    # both tokens of a market share a shard
    where = {t: name for name, ts in shards.items() for t in ts}
    assert all(where[m.yes_token] == where[m.no_token] for m in markets)
    for tok in (toks[0], toks[333], toks[-1]):
        assert feed.book(tok).snapshot() == rest_book(rest, tok).snapshot()
