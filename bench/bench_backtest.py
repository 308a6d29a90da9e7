"""Backtester speed: replayed book events per second, printed as JSON lines (never asserts).

* ``replay_feed``: a synthetic recording (``--markets`` binary markets, 20 levels a side, a
  ``book`` snapshot per token then ``--events`` consistent ``price_change`` frames with the venue's
  mirrored YES/NO entries) written in the recorder's gzip format, read back and replayed through
  the bot's own MarketFeed (parse + books + consistency check + MarketUpdates): events/s.
* ``backtest_full``: the same recording through the whole backtest (fill model, ``decide()`` on
  every event, inventory, statistics), the ``edge`` strategy: events/s.
* ``resolvedkit``: the resolvedkit sample (20-level snapshots ~1/s, inferred trades) through the
  whole backtest, when pyarrow and resolvedkit are installed.
* ``rss``: peak resident memory (it grows with the books, not with the file length).

Usage: python bench/bench_backtest.py [--markets 20] [--events 200000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from pmbot.backtest.records import MarketMeta, read_recording  # noqa: E402
from pmbot.backtest.replay_feed import ReplayFeed  # noqa: E402
from pmbot.backtest.simulation import Backtest, SimSettings  # noqa: E402
from pmbot.model import MarketInfo  # noqa: E402
from pmbot.strategy.params import StrategyParams  # noqa: E402
from pmbot.venue.recorder import encode_line  # noqa: E402

ONE = Decimal(1)
TICK = Decimal("0.01")


def _book_frame(cid, tok, bids, asks):
    lv = lambda d: [{"price": str(p), "size": str(s)} for p, s in sorted(d.items())]  # noqa: E731
    return json.dumps(
        {
            "event_type": "book",
            "market": cid,
            "asset_id": tok,
            "bids": lv(bids),
            "asks": lv(asks),
            "tick_size": "0.01",
            "timestamp": "0",
        }
    )


def write_recording(path: str, n_markets: int, n_events: int, seed: int = 1) -> list[MarketInfo]:
    rng = random.Random(seed)
    markets, books = [], []
    for i in range(n_markets):
        m = MarketInfo(f"0x{i:064x}", f"{10**20 + 2 * i}", f"{10**20 + 2 * i + 1}", tick=TICK)
        bids = {Decimal("0.49") - TICK * k: Decimal(rng.randint(10, 5000)) for k in range(20)}
        asks = {Decimal("0.51") + TICK * k: Decimal(rng.randint(10, 5000)) for k in range(20)}
        markets.append(m)
        books.append((m, bids, asks))
    t = 1_790_000_000_000
    with gzip.open(path, "wt", encoding="utf-8") as fh:

        def put(text):
            fh.write(encode_line(t, 0, "market-1", "ws", text))

        for m, bids, asks in books:
            put(_book_frame(m.condition_id, m.yes_token, bids, asks))
            put(
                _book_frame(
                    m.condition_id,
                    m.no_token,
                    {ONE - p: s for p, s in asks.items()},
                    {ONE - p: s for p, s in bids.items()},
                )
            )
        for n in range(n_events):
            m, bids, asks = books[n % n_markets]
            side, levels = ("BUY", bids) if rng.random() < 0.5 else ("SELL", asks)
            price = rng.choice(list(levels))
            size = Decimal(rng.randint(1, 5000))
            levels[price] = size
            bb, ba = max(bids), min(asks)
            no_side = "SELL" if side == "BUY" else "BUY"
            put(
                f'{{"market":"{m.condition_id}","price_changes":['
                f'{{"asset_id":"{m.yes_token}","price":"{price}","size":"{size}","side":"{side}",'
                f'"hash":"h","best_bid":"{bb}","best_ask":"{ba}"}},'
                f'{{"asset_id":"{m.no_token}","price":"{ONE - price}","size":"{size}",'
                f'"side":"{no_side}","hash":"h","best_bid":"{ONE - ba}","best_ask":"{ONE - bb}"}}],'
                f'"timestamp":"{t}","event_type":"price_change"}}'
            )
            t += 7  # ~140 events/s of virtual time
    return markets


def bench_replay(path: str, markets: list[MarketInfo]) -> dict:
    feed = ReplayFeed(markets)
    start = time.process_time()
    frames = 0
    for rec in read_recording([path]):
        feed.apply(rec)
        frames += 1
    secs = time.process_time() - start
    return {
        "bench": "replay_feed",
        "frames": frames,
        "book_events": feed.events_applied,
        "cpu_secs": round(secs, 3),
        "events_per_sec": round(feed.events_applied / secs),
        "target_events_per_sec": 50_000,
        "includes": "gzip read + json + parse + books",
    }


def bench_full(path: str, markets: list[MarketInfo]) -> dict:
    bt = Backtest([MarketMeta(m) for m in markets], StrategyParams(), SimSettings())
    start = time.process_time()
    bt.run(read_recording([path]))
    secs = time.process_time() - start
    return {
        "bench": "backtest_full",
        "records": bt.records,
        "book_events": bt.feed.events_applied,
        "decisions": bt.decisions,
        "cpu_secs": round(secs, 3),
        "events_per_sec": round(bt.feed.events_applied / secs),
    }


def bench_resolvedkit() -> dict | None:
    try:
        from pmbot.backtest import adapters

        metas, records = adapters.resolvedkit_records(adapters.resolvedkit_sample_dir())
        recs = list(records)
    except ImportError:
        return None
    bt = Backtest(metas, StrategyParams(), SimSettings())
    start = time.process_time()
    bt.run(recs)
    secs = time.process_time() - start
    return {
        "bench": "resolvedkit",
        "records": bt.records,
        "book_events": bt.feed.events_applied,
        "cpu_secs": round(secs, 3),
        "events_per_sec": round(bt.feed.events_applied / secs),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=20)
    ap.add_argument("--events", type=int, default=200_000)
    a = ap.parse_args()
    print(
        json.dumps({"bench": "env", "loadavg": os.getloadavg()[0], "cpu": "process_time, 1 thread"})
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "market-bench.jsonl.gz")
        markets = write_recording(path, a.markets, a.events)
        print(json.dumps(bench_replay(path, markets)), flush=True)
        print(json.dumps(bench_full(path, markets)), flush=True)
    rk = bench_resolvedkit()
    if rk is not None:
        print(json.dumps(rk), flush=True)
    print(
        json.dumps(
            {
                "bench": "rss",
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
