"""Benchmark ``python bot.py scan``: a scan of N reward markets (1,000 by default) served by
pmbot.sim over loopback HTTP, each with a random reward pool, band, min size and a two-sided book.

Figures (one JSON line each): the scan's wall time, requests made per endpoint family and in total,
the most the client-side buckets let through in 10 s (at ``--rate-fraction`` of the venue's
published limits) and the busiest observed 10 s window per family, to read against the limits.
Never asserts on timings.

    /work/main/.venv/bin/python bench/bench_scan.py [--count 1000] [--history-top 50]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pmbot.scan.estimate import ScanOptions  # noqa: E402
from pmbot.scan.fetch import SCAN_LIMITS, ScanHttp  # noqa: E402
from pmbot.scan.scanner import run_scan  # noqa: E402
from pmbot.sim import SimServer  # noqa: E402
from pmbot.sim.markets import load_sim_config  # noqa: E402


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def build_sim(count: int, seed: int) -> SimServer:
    rng = random.Random(seed)
    markets = [
        {
            "slug": f"bench-reward-{i}",
            "fair_value": round(rng.uniform(0.15, 0.85), 2),
            "rewards_daily_rate": rng.choice([5, 10, 25, 50, 100, 250, 500]),
            "rewards_max_spread": rng.choice([1.5, 2, 3, 3.5, 4.5]),
            "rewards_min_size": rng.choice([10, 20, 50, 100]),
            "volume": rng.randint(1_000, 2_000_000),
        }
        for i in range(count)
    ]
    sim = SimServer(load_sim_config({"seed": seed, "background": False, "markets": markets}))
    x = sim.exchange
    with x.lock:
        for m in list(x.markets.values()):
            fair, tick = m.fair_value, m.tick
            bids = [(fair - tick * k, Decimal(rng.randint(5, 800))) for k in range(1, 6)]
            asks = [(fair + tick * k, Decimal(rng.randint(5, 800))) for k in range(1, 6)]
            x.traders.set_ladder(m, bids, asks, 0.0)
    return sim


class TimedHttp(ScanHttp):
    """ScanHttp that also records when each request left, per family."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.sent: dict[str, list[float]] = {}

    def _call(self, method, url, *, params, body, family):
        before = self.requests[family]
        try:
            return super()._call(method, url, params=params, body=body, family=family)
        finally:
            if self.requests[family] > before:
                self.sent.setdefault(family, []).append(time.monotonic())


def busiest_10s(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max((bisect.bisect_right(stamps, t + 10.0) - i for i, t in enumerate(stamps)), default=0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--history-top", type=int, default=50)
    ap.add_argument("--rate-fraction", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    t0 = time.perf_counter()
    sim = build_sim(args.count, args.seed)
    sim.start()
    emit(bench="scan_setup", markets=args.count, secs=round(time.perf_counter() - t0, 2))
    http = TimedHttp(fraction=args.rate_fraction)
    try:
        result = run_scan(
            http,
            sim.urls["clob_url"],
            sim.urls["gamma_url"],
            ScanOptions(),
            history_top=args.history_top,
        )
    finally:
        http.close()
        sim.stop()
    emit(
        bench="scan",
        markets=args.count,
        reward_markets=result.reward_markets,
        ranked=len(result.rows),
        wall_secs=round(result.wall_secs, 3),
        requests_total=sum(result.requests.values()),
        requests=result.requests,
        history_top=args.history_top,
        not_estimated=result.not_estimated,
    )
    for family, limit in SCAN_LIMITS.items():
        emit(
            bench="scan_rate",
            family=family,
            # a token bucket lets at most its burst plus ten seconds of refill through in 10 s
            client_max_per_10s=round((limit.burst + limit.rate_per_sec * 10) * args.rate_fraction),
            venue_limit_per_10s=round(limit.rate_per_sec * 10),
            busiest_10s_window=busiest_10s(http.sent.get(family, [])),
        )
    top = result.rows[0] if result.rows else None
    if top is not None:
        emit(
            bench="scan_top",
            slug=top.market.slug,
            reward_per_100_per_day=str(round(top.reward_per_100, 2)),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
