"""UserFeed pieces: the REST catch-up window, malformed frames counted and skipped, adding markets
live."""

import json
import os
import queue
import threading
import time
from decimal import Decimal as D

from prometheus_client import CollectorRegistry

from pmbot.metrics import Metrics
from pmbot.model import MarketInfo, OpenOrdersSnapshot, OrderEvent, OrderType, Side, TradeEvent
from pmbot.venue.auth import ApiCreds
from pmbot.venue.user_ws import RestCatchUp, UserFeed
from tests.integration.test_user_feed_sim import MiniEngine, Wallet, feeds, make_feed, parties, sim  # noqa: F401

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "user")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def test_catch_up_starts_before_the_newest_trade_seen_and_parses_rows():
    calls = []
    rest_page = fixture("rest_trades_page.json")["data"]
    orders_page = fixture("rest_orders_page.json")["data"]

    def trades(after):
        calls.append(after)
        return rest_page + [{"id": "broken"}]

    cu = RestCatchUp(
        lambda: orders_page, trades, since=1_000_000.0, overlap_secs=60, clock=lambda: 7
    )
    first = cu()
    assert calls == [1_000_000 - 60]
    snap, trade = first
    assert isinstance(snap, OpenOrdersSnapshot) and snap.taken_ns == 7 and len(snap.orders) == 1
    assert isinstance(trade, TradeEvent) and trade.ts == 1767000500.0
    assert len(cu.errors) == 1  # the broken row is reported, not delivered
    cu.observe(
        TradeEvent(
            "t", "m", "a", Side.BUY, D("0.5"), D(1), trade.status, "", "", (), ts=1767000900.0
        )
    )
    cu()
    assert calls[-1] == 1767000900 - 60


def test_malformed_frames_are_counted_and_good_ones_delivered():
    out = queue.Queue()
    metrics = Metrics(CollectorRegistry())
    creds = ApiCreds("key", "c2VjcmV0", "pass")
    feed = UserFeed(
        "ws://127.0.0.1:9/ws/user", creds, ["0xcid"], out, stop=threading.Event(), metrics=metrics
    )
    feed._on_text(json.dumps(fixture("malformed.json") + [fixture("order_placement.json")]), 0)
    feed._on_text("not json", 0)
    assert isinstance(out.get_nowait(), OrderEvent) and out.empty()
    assert sum(feed.parse_errors.values()) == len(fixture("malformed.json")) + 1
    assert metrics.feed_parse_errors_total.labels(kind="user_not_json")._value.get() == 1
    assert "c2VjcmV0" not in repr(feed) and "pass" not in repr(feed)


def test_markets_added_while_connected_start_delivering(sim, parties, feeds):  # noqa: F811
    bot, cp, m, info = parties
    other = next(
        x
        for x in sim.exchange.markets.values()
        if not x.neg_risk and x.condition_id != m.condition_id and str(x.tick) == "0.01"
    )
    other_info = MarketInfo(other.condition_id, other.yes_token, other.no_token, tick=other.tick)
    sim.exchange.set_position(cp.address, other.yes_token, D(100))
    out, stop = queue.Queue(), threading.Event()
    feed, _ = make_feed(sim, bot, info, out, stop, since=time.time())
    feeds.append((feed, stop))
    engine = MiniEngine(
        bot.creds.api_key, {info.condition_id: info, other.condition_id: other_info}
    )
    feed.start()
    assert engine.drain_until(out, lambda: feed.connected and engine.snapshots >= 1)

    bot.order(other_info, other.yes_token, Side.BUY, "0.20", "5", post_only=True)
    cp.order(other_info, other.yes_token, Side.SELL, "0.20", "5", order_type=OrderType.FAK)
    assert not engine.drain_until(
        out, lambda: len(engine.tracker) >= 1, timeout=0.5
    )  # not subscribed

    feed.add_markets([other.condition_id])
    time.sleep(0.2)  # let the subscribe frame reach the sim before trading (no event to wait on)
    bot.order(other_info, other.yes_token, Side.BUY, "0.21", "5", post_only=True)
    cp.order(other_info, other.yes_token, Side.SELL, "0.21", "5", order_type=OrderType.FAK)
    assert engine.drain_until(out, lambda: len(engine.tracker) >= 1, timeout=5)
    assert {f.price for f in engine.tracker.fills()} == {D("0.21")}
