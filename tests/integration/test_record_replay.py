"""Record the simulator's market channel through the real MarketFeed (with the recorder hooked in as
the runner hooks it), then replay the recording through the backtester's feed: the books at every
event must be the ones the live run had."""

from __future__ import annotations

import os
import queue
import random
import threading
import time

import requests

from pmbot.backtest.records import ReadStats, read_recording
from pmbot.backtest.replay_feed import ReplayFeed
from pmbot.model import MarketInfo, MarketUpdate
from pmbot.sim import SimServer
from pmbot.venue.market_ws import MarketFeed
from pmbot.venue.recorder import FeedRecorder

DEPTH = 50  # compare (nearly) whole books, not just the strategy's top levels


def _wait(predicate, timeout: float) -> bool:
    ev = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        ev.wait(0.05)
    return predicate()


def _key(u: MarketUpdate) -> tuple:
    return (u.token_id, u.bids, u.asks, u.tick, u.live, u.reason, u.last_trade_price)


def test_replayed_books_equal_the_live_books_at_every_event(tmp_path):
    sim = SimServer()
    sim.start()
    session = requests.Session()
    stop = threading.Event()
    try:
        markets = [
            MarketInfo(m.condition_id, m.yes_token, m.no_token, tick=m.tick)
            for m in sim.exchange.markets.values()
        ]

        def get_book(token: str) -> dict:
            resp = session.get(
                sim.urls["clob_url"] + "/book", params={"token_id": token}, timeout=5
            )
            resp.raise_for_status()
            return resp.json()

        out: queue.Queue = queue.Queue()
        feed = MarketFeed(
            sim.urls["market_ws_url"],
            markets,
            out,
            stop=stop,
            get_book=get_book,
            spot_check_secs=0,
            depth=DEPTH,
            rng=random.Random(3),
        )
        recorder = FeedRecorder(str(tmp_path))
        recorder.start()
        feed.recorder = recorder  # exactly what runner.py does when feed.record_dir is set
        feed.start()
        assert _wait(lambda: feed.events_applied >= 3000, timeout=90), feed.events_applied
        feed.close()
        stop.set()
        feed.join(10)
        recorder.close()
    finally:
        stop.set()
        session.close()
        sim.stop()

    live = []
    while not out.empty():
        item = out.get_nowait()
        if isinstance(item, MarketUpdate) and item.reason != "disconnected":
            live.append(_key(item))

    stats = ReadStats()
    replay = ReplayFeed(markets, depth=DEPTH)
    replayed = [
        _key(u) for rec in read_recording([str(tmp_path)], stats) for u in replay.apply(rec)
    ]

    assert stats.bad_lines == 0 and stats.truncated_files == 0
    assert recorder.errors == {k: 0 for k in recorder.errors}
    assert len(live) > 1000
    assert replayed == live
    assert replay.events_applied == feed.events_applied


def test_the_bot_records_with_feed_record_dir_and_the_recording_replays(tmp_path):
    """The whole bot (runner hook, writer thread, metrics) against the simulator, as processes."""
    from pmbot.backtest.records import infer_markets
    from pmbot.backtest.run import run_backtest
    from pmbot.backtest.simulation import SimSettings
    from pmbot.strategy.params import StrategyParams
    from tests.integration.botproc import BotProcess, SimProcess, wait_for

    rec_dir = tmp_path / "recording"
    sim = SimProcess()
    try:
        bot = BotProcess(sim, tmp_path, extra={"feed": {"record_dir": str(rec_dir)}})
        try:
            wait_for(
                lambda: (bot.metric("pmbot_feed_record_lines_total") or 0) >= 300,
                timeout=90,
                what="300 recorded lines",
            )
            assert bot.metric("pmbot_feed_record_errors_total") == 0
        finally:
            assert bot.terminate() == 0
    finally:
        sim.stop()

    stats = ReadStats()
    records = list(read_recording([str(rec_dir)], stats))
    assert len(records) >= 300 and stats.bad_lines == 0 and stats.truncated_files == 0
    assert all(os.path.basename(f).startswith("market-") for f in stats.files)
    metas = infer_markets(records)
    assert metas
    bt, report = run_backtest(
        metas, iter(records), StrategyParams(), SimSettings(), inputs={}, trades_inferred=False
    )
    assert report["replay"]["book_events"] > 100 and bt.decisions > 0
    live = [u for u in bt.updates.values() if u.live]
    assert live, "the replayed books went live"
