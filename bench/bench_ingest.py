"""Market-data ingest benchmark against pmbot.sim running in a separate process.

Prints JSON lines (never asserts on timings):

* ``raw_receive``: websocket-client's own receive rate on the sim's price_change flood (a bare
  WebSocketApp that only counts), with skip_utf8_validation on and off;
* ``parse_apply``: frames recorded from that flood replayed through MarketFeed's frame handler in
  one thread (parse + apply to books + consistency check + MarketUpdate out), msgs/s, and its ratio
  to the raw receive rate;
* ``feed_flood``: the real MarketFeed (5 connections of 200 tokens) on the same flood, end to end;
* ``latency``: at 5,000 msgs/s across 1,000 tokens: frame off the socket -> book applied and update
  queued (p50/p99, microseconds), and sim send timestamp -> book applied (ms resolution);
* ``rss``: resident memory with 1,000 subscribed tokens x 50 levels a side;
* ``env``: websocket-client version, which C accelerator it picked up (``wsaccel`` or none) and
  ``skip_utf8_validation`` as the feed uses it, plus the load average when the run started (the
  machine's 2 cores are shared, so note it next to any figure).

The feed runs as in the bot: real ``Metrics`` on a fresh registry, a plain ``queue.Queue`` out.

Usage: python bench/bench_ingest.py [--tokens 1000] [--levels 50] [--flood 120000] [--rate 60000]
       [--shard-size 200]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time

import requests
import websocket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from pmbot.metrics import Metrics  # noqa: E402
from pmbot.model import MarketInfo, MarketUpdate  # noqa: E402
from pmbot.venue.market_ws import MarketFeed  # noqa: E402


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def accelerator() -> str:
    """Which compiled helper websocket-client picked up at import ("wsaccel" or "none"). With
    skip_utf8_validation and unmasked server frames it has nothing to do on the receive path."""
    from websocket import _abnf, _utils

    mask = getattr(_abnf, "XorMaskerSimple", None)
    utf8 = getattr(_utils, "Utf8Validator", None)
    found = {getattr(x, "__module__", "").split(".")[0] for x in (mask, utf8) if x is not None}
    return ",".join(sorted(found)) or "none"


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


class Sim:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pmbot.sim", "--log-level", "ERROR"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        self.urls = dict(kv.split("=", 1) for kv in line.split())
        self.http = requests.Session()

    def post(self, path: str, body) -> dict:
        r = self.http.post(self.urls["clob_url"] + path, json=body, timeout=120)
        r.raise_for_status()
        return r.json()

    def get_book(self, token: str) -> dict:
        r = self.http.get(self.urls["clob_url"] + "/book", params={"token_id": token}, timeout=10)
        r.raise_for_status()
        return r.json()

    def books(self, tokens: list[str]) -> list[dict]:
        out = []
        for i in range(0, len(tokens), 500):
            out.extend(self.post("/books", [{"token_id": t} for t in tokens[i : i + 500]]))
        return out

    def flood(self, rate: float, count: int) -> None:
        self.post("/_sim/flood", {"rate": rate, "count": count})

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class RawClient:
    """A bare WebSocketApp: counts price_change frames and keeps their text for the replay."""

    def __init__(self, url: str, tokens: list[str], skip_utf8: bool, keep: bool) -> None:
        self.tokens = tokens
        self.keep = keep
        self.frames: list[str] = []
        self.count = 0
        self.first = self.last = 0.0
        self.subscribed = threading.Event()
        self.app = websocket.WebSocketApp(url, on_open=self._open, on_message=self._msg)
        self.thread = threading.Thread(
            target=self.app.run_forever,
            kwargs={"skip_utf8_validation": skip_utf8},
            name="bench-raw-ws",
            daemon=False,
        )

    def _open(self, app) -> None:
        app.send(
            json.dumps(
                {"assets_ids": self.tokens, "type": "market", "custom_feature_enabled": True}
            )
        )

    def _msg(self, app, data) -> None:
        if not self.subscribed.is_set():  # the snapshot array
            self.subscribed.set()
            return
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        if self.keep:
            self.frames.append(data.decode() if isinstance(data, bytes) else data)

    def run(self, sim: Sim, rate: float, n: int, timeout: float) -> float:
        self.thread.start()
        self.subscribed.wait(30)
        sim.flood(rate, n)
        deadline = time.monotonic() + timeout
        ev = threading.Event()
        while self.count < n and time.monotonic() < deadline:
            ev.wait(0.05)
        self.app.close()
        self.thread.join(10)
        return self.count / (self.last - self.first) if self.count > 1 else 0.0


class Drain:
    """Stands in for the strategy thread: keeps the latest update per token, records latencies."""

    def __init__(self, out: queue.Queue) -> None:
        self.out = out
        self.latest: dict[str, MarketUpdate] = {}
        self.n = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-drain", daemon=False)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                u = self.out.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(u, MarketUpdate):
                self.latest[u.token_id] = u
                self.n += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


class TimedFeed(MarketFeed):
    """MarketFeed whose frame handler also records how long each frame took from the socket to the
    book (recv_ns -> applied and queued) and the sim-timestamp-to-book delay. Measurement only."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.lat_us: list[float] = []
        self.wall_ms: list[float] = []
        self.record = False

    def _on_text(self, shard, text, recv_ns):
        super()._on_text(shard, text, recv_ns)
        if self.record:
            done = time.monotonic_ns()
            self.lat_us.append((done - recv_ns) / 1000.0)
            i = text.rfind('"timestamp":"')
            if i >= 0:
                ts = int(text[i + 13 : text.index('"', i + 13)])
                self.wall_ms.append(time.time() * 1000.0 - ts)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--levels", type=int, default=50)
    ap.add_argument("--flood", type=int, default=120000, help="messages per flood")
    ap.add_argument(
        "--rate", type=float, default=60000, help="flood rate asked of the sim (msgs/s)"
    )
    ap.add_argument("--latency-rate", type=float, default=5000)
    ap.add_argument("--latency-secs", type=float, default=6)
    ap.add_argument(
        "--shard-size", type=int, default=200, help="tokens per connection (the bot's default)"
    )
    args = ap.parse_args()

    rss_start = rss_mb()
    emit(
        bench="env",
        websocket_client=websocket.__version__,
        accelerator=accelerator(),
        skip_utf8_validation=True,
        loadavg_1m=os.getloadavg()[0],
        cpus=os.cpu_count(),
    )
    sim = Sim()
    try:
        made = sim.post("/_sim/bench_markets", {"count": args.tokens // 2, "levels": args.levels})[
            "markets"
        ]
        markets = [MarketInfo(m["condition_id"], m["yes_token"], m["no_token"]) for m in made]
        tokens = [t for m in markets for t in (m.yes_token, m.no_token)]
        url = sim.urls["market_ws_url"]

        # 1) the real feed end to end, plus memory and latency
        out = queue.Queue()
        drain = Drain(out)
        stop = threading.Event()
        rss_before_feed = rss_mb()
        feed = TimedFeed(
            url,
            markets,
            out,
            stop=stop,
            get_book=sim.get_book,
            spot_check_secs=0,
            rng=random.Random(1),
            metrics=Metrics(process_collector=False),
            shard_size=args.shard_size,
        )
        feed.start()
        t0 = time.monotonic()
        while not all(feed.is_live(t) for t in tokens) and time.monotonic() - t0 < 60:
            stop.wait(0.1)
        live_secs = time.monotonic() - t0
        levels = sum(len(feed.book(t)) for t in tokens)
        emit(
            bench="rss",
            tokens=len(tokens),
            levels_total=levels,
            levels_per_side=args.levels,
            rss_mb_process_start=round(rss_start, 1),
            rss_mb_before_feed=round(rss_before_feed, 1),
            rss_mb_with_books=round(rss_mb(), 1),
            feed_delta_mb=round(rss_mb() - rss_before_feed, 1),
            connections=len(feed.connections),
            all_live_after_secs=round(live_secs, 2),
        )

        applied0 = feed.events_applied
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        sim.flood(args.rate, args.flood)
        want = applied0 + args.flood
        deadline = time.monotonic() + 120
        last_n, last_change = feed.events_applied, time.monotonic()
        while feed.events_applied < want and time.monotonic() < deadline:
            stop.wait(0.05)
            if feed.events_applied != last_n:
                last_n, last_change = feed.events_applied, time.monotonic()
            elif time.monotonic() - last_change > 3:
                break
        secs = time.perf_counter() - t0
        cpu = time.process_time() - cpu0  # this process only (all its threads), not the sim's
        got = feed.events_applied - applied0
        feed_rate = got / secs
        emit(
            bench="feed_flood",
            msgs=got,
            asked=args.flood,
            secs=round(secs, 3),
            msgs_per_sec=round(got / secs),
            cpu_secs=round(cpu, 3),
            cpu_us_per_msg=round(cpu / got * 1e6, 2) if got else None,
            asked_rate=args.rate,
            connections=len(feed.connections),
            reconnects=sum(r.reconnects for r in feed.connections),
            inconsistencies=feed.inconsistencies,
            parse_errors=feed.parse_errors,
            updates_drained=drain.n,
        )

        stop.wait(1.0)
        feed.record = True
        n = int(args.latency_rate * args.latency_secs)
        applied0 = feed.events_applied
        sim.flood(args.latency_rate, n)
        deadline = time.monotonic() + args.latency_secs + 30
        while feed.events_applied < applied0 + n and time.monotonic() < deadline:
            stop.wait(0.05)
        feed.record = False
        lat, wall = feed.lat_us, feed.wall_ms
        emit(
            bench="latency",
            rate=args.latency_rate,
            tokens=len(tokens),
            msgs=len(lat),
            wire_to_book_us_p50=round(pct(lat, 50), 1),
            wire_to_book_us_p99=round(pct(lat, 99), 1),
            wire_to_book_us_max=round(max(lat), 1),
            sim_send_to_book_ms_p50=round(pct(wall, 50), 2),
            sim_send_to_book_ms_p99=round(pct(wall, 99), 2),
            note="wire_to_book: frame handed over by websocket-client -> parsed, applied, "
            "update queued; sim_send_to_book: sim's ms timestamp -> applied (includes the sim's "
            "send path, ms resolution)",
        )
        stop.set()
        feed.close()
        feed.join(10)
        drain.close()
        # 2) raw websocket-client receive rate (and keep the frames for the replay)
        snapshot_before = sim.books(tokens)
        raw = RawClient(url, tokens, skip_utf8=True, keep=True)
        raw_rate = raw.run(sim, args.rate, args.flood, timeout=120)
        emit(
            bench="raw_receive",
            skip_utf8_validation=True,
            msgs=raw.count,
            msgs_per_sec=round(raw_rate),
            asked_rate=args.rate,
            note="one plain WebSocketApp that only counts; at or near asked_rate it is "
            "bounded by the sim's pacing, not by websocket-client (try --rate 100000)",
        )
        raw2 = RawClient(url, tokens, skip_utf8=False, keep=False)
        raw2_rate = raw2.run(sim, args.rate, args.flood // 4, timeout=120)
        emit(
            bench="raw_receive",
            skip_utf8_validation=False,
            msgs=raw2.count,
            msgs_per_sec=round(raw2_rate),
            asked_rate=args.rate,
        )

        # 3) parse + apply capacity: the recorded flood replayed through the feed's handler
        out: queue.Queue = queue.Queue()
        drain = Drain(out)
        offline = MarketFeed(
            url, markets, out, stop=threading.Event(), get_book=sim.get_book, spot_check_secs=0
        )
        shards = {t: offline._tokens[t].shard for t in tokens}
        for b in snapshot_before:
            b["event_type"] = "book"
            offline._on_text(shards[b["asset_id"]], json.dumps(b), time.monotonic_ns())
        frames = raw.frames
        route = []
        for text in frames:  # which shard a frame belongs to (both tokens of a market share one)
            i = text.index('"asset_id":"') + 12
            route.append(shards[text[i : text.index('"', i)]])
        t0 = time.perf_counter()
        for shard, text in zip(route, frames, strict=True):
            offline._on_text(shard, text, time.monotonic_ns())
        secs = time.perf_counter() - t0
        applied_rate = len(frames) / secs if secs else 0.0
        emit(
            bench="parse_apply",
            msgs=len(frames),
            secs=round(secs, 3),
            msgs_per_sec=round(applied_rate),
            ratio_to_raw_receive=round(applied_rate / raw_rate, 3) if raw_rate else None,
            inconsistencies=offline.inconsistencies,
            parse_errors=offline.parse_errors,
            target_msgs_per_sec=30000,
            skip_utf8_validation=True,
            accelerator=accelerator(),
            note="single thread: json parse, Decimal fields, book update, top check, "
            "MarketUpdate queued",
        )
        drain.close()
        emit(
            bench="summary",
            raw_receive_msgs_per_sec=round(raw_rate),
            parse_apply_msgs_per_sec=round(applied_rate),
            feed_end_to_end_msgs_per_sec=round(feed_rate),
            feed_cpu_us_per_msg=round(cpu / got * 1e6, 2) if got else None,
            end_to_end_ratio_to_raw_receive=round(feed_rate / raw_rate, 3) if raw_rate else None,
            skip_utf8_validation=True,
            accelerator=accelerator(),
            loadavg_1m_end=os.getloadavg()[0],
        )

    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
