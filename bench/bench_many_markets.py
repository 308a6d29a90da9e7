#!/usr/bin/env python3
"""Many markets per process (issue 17 item 3): one bot quotes 100 markets (200 tokens) with every
guard on, against a simulator with background traders moving every book.

The benchmark writes a sim YAML into a temporary directory (``--markets`` binary reward markets,
fair values spread over 0.15..0.85, a reward band and min size each, background makers and takers,
fair-value walks and jumps), starts ``python -m pmbot.sim --config`` on it, and runs ``bot.py`` as a
separate process in live mode pointed at it: the shipped defaults (every risk guard on, arbitrage
on binary markets) plus ``strategy.rewards: stay_in_band``. After ``--warmup`` seconds (every
market quoted, then a settling period) it measures over ``--seconds``:

- CPU share of one core of the bot process (utime + stime from /proc over wall time);
- RSS of the bot process at the end of the window (and the highest seen during it);
- tick-to-order p50 / p99 from the bot's own ``pmbot_tick_to_order_seconds`` histogram (the
  window's bucket increments, interpolated as Prometheus' ``histogram_quantile`` does; the figure
  is an upper bound within a bucket), with the number of orders it covers;
- markets quoting, orders placed and rejected, in the window.

Prints JSON lines; asserts nothing. Targets (issue 17): under 15% of a core and under 200 MB.

    /work/main/.venv/bin/python bench/bench_many_markets.py [--markets 100] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.botproc import BotProcess, SimProcess, parse_samples  # noqa: E402
from tests.waiting import wait_for  # noqa: E402

TICKS_PER_SEC = os.sysconf("SC_CLK_TCK")


ACTIVITY = {
    # the bundled sim's pace: every book re-centred ~3 times a second, the fair value walking
    # about half a cent a second, a jump per market every ~50 s (a demo, far busier than the venue)
    "busy": {
        "vol": [0.001, 0.002, 0.003],
        "maker_refresh_prob": 0.3,
        "taker_prob": 0.03,
        "jump_prob": 0.002,
    },
    # a livelier-than-typical real market: the mid walks ~0.1 c/s, books refresh every ~2 s, a
    # jump per market every ~80 minutes
    "calm": {
        "vol": [0.0001, 0.0002, 0.0004],
        "maker_refresh_prob": 0.05,
        "taker_prob": 0.01,
        "jump_prob": 0.00002,
    },
}


def sim_yaml(n: int, seed: int, activity: str) -> dict:
    pace = ACTIVITY[activity]
    rng = random.Random(seed)
    markets = []
    for i in range(n):
        markets.append(
            {
                "slug": f"bench-market-{i:03d}",
                "question": f"Bench market {i}?",
                "fair_value": round(rng.uniform(0.15, 0.85), 2),
                "tick": 0.01,
                "min_size": 5,
                "volatility": rng.choice(pace["vol"]),
                "rewards_daily_rate": rng.choice([20, 50, 100, 200]),
                "rewards_max_spread": rng.choice([2, 3, 3.5, 4.5]),
                "rewards_min_size": rng.choice([20, 50, 100]),
            }
        )
    # a balance that covers 100 markets' quotes at the reward min sizes, so the figures measure
    # quoting rather than "not enough balance" rejections
    return {
        "seed": seed,
        "background": True,
        "initial_balance": 1_000_000,
        "maker_refresh_prob": pace["maker_refresh_prob"],
        "taker_prob": pace["taker_prob"],
        "jump_prob": pace["jump_prob"],
        "markets": markets,
        "events": [],
    }


def cpu_secs(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SEC  # utime, stime


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def buckets(text: str) -> dict[float, float]:
    return {
        float(labels["le"]): value
        for labels, value in parse_samples(text, "pmbot_tick_to_order_seconds_bucket")
    }


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float | None:
    """``histogram_quantile`` over the window's bucket increments (linear within a bucket)."""
    edges = sorted(after)
    counts = [after[e] - before.get(e, 0.0) for e in edges]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    rank, lower, prev = q * total, 0.0, 0.0
    for edge, cum in zip(edges, counts, strict=True):
        if cum >= rank:
            if edge == float("inf"):
                return float("inf")  # beyond the largest finite bucket
            return lower + (edge - lower) * ((rank - prev) / (cum - prev) if cum > prev else 1.0)
        lower, prev = edge, cum
    return lower


def ms(value: float | None, edges: dict[float, float]) -> float | str | None:
    """Milliseconds, or "> N" when the quantile lies beyond the largest finite bucket."""
    if value is None:
        return None
    if value == float("inf"):
        return f"> {max(e for e in edges if e != float('inf')) * 1e3:g}"
    return round(value * 1e3, 2)


def total(text: str, name: str) -> float:
    return sum(v for _, v in parse_samples(text, name))


def by_label(text: str, name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, v in parse_samples(text, name):
        out[labels.get(label, "")] = out.get(labels.get(label, ""), 0.0) + v
    return out


def quoting_markets(text: str) -> int:
    per: dict[str, float] = {}
    for labels, v in parse_samples(text, "pmbot_quotes"):
        per[labels["market"]] = per.get(labels["market"], 0.0) + v
    return sum(1 for v in per.values() if v > 0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--activity", choices=sorted(ACTIVITY), default="calm")
    ap.add_argument("--rewards", choices=["off", "stay_in_band"], default="stay_in_band")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="pmbot-bench-many-")
    path = os.path.join(tmp.name, "sim.yaml")
    with open(path, "w") as fh:
        yaml.safe_dump(sim_yaml(args.markets, args.seed, args.activity), fh)
    sim = SimProcess("--config", path)
    bot = None
    try:
        extra = {
            "strategy": {"rewards": args.rewards},
            "arbitrage": {"enabled": True, "binary_markets": True},
            "execution": {"reconcile_secs": 10},
            "log_level": "WARNING",
        }
        from pathlib import Path

        bot = BotProcess(sim, Path(tmp.name), extra=extra)
        pid = bot.proc.pid
        started = time.monotonic()
        wait_for(
            lambda: quoting_markets(bot.metrics_text()) >= args.markets * 0.9,
            180,
            "90% of the markets quoting",
        )
        quoted_after = time.monotonic() - started
        time.sleep(args.warmup)  # settling period by design, then the measured window
        text0, cpu0, t0 = bot.metrics_text(), cpu_secs(pid), time.monotonic()
        peak = rss_mb(pid)
        end = t0 + args.seconds
        while time.monotonic() < end:
            time.sleep(1.0)  # pacing of the RSS samples
            peak = max(peak, rss_mb(pid))
        text1, cpu1, t1 = bot.metrics_text(), cpu_secs(pid), time.monotonic()
        b0, b1 = buckets(text0), buckets(text1)
        orders = max(b1.values(), default=0.0) - max(b0.values(), default=0.0)
        p50, p99 = quantile(0.5, b0, b1), quantile(0.99, b0, b1)
        print(
            json.dumps(
                {
                    "bench": "many_markets",
                    "markets": args.markets,
                    "activity": args.activity,
                    "rewards": args.rewards,
                    "tokens": 2 * args.markets,
                    "markets_quoting": quoting_markets(text1),
                    "secs_to_quote_90pct": round(quoted_after, 1),
                    "window_secs": round(t1 - t0, 1),
                    "cpu_share_of_a_core": round((cpu1 - cpu0) / (t1 - t0), 4),
                    "rss_mb_end": round(rss_mb(pid), 1),
                    "rss_mb_peak": round(peak, 1),
                    "tick_to_order_orders": int(orders),
                    "tick_to_order_p50_ms": ms(p50, b1),
                    "tick_to_order_p99_ms": ms(p99, b1),
                    "orders_created": total(text1, "pmbot_orders_created_total")
                    - total(text0, "pmbot_orders_created_total"),
                    "orders_rejected": total(text1, "pmbot_orders_rejected_total")
                    - total(text0, "pmbot_orders_rejected_total"),
                    "fills": total(text1, "pmbot_fills_total") - total(text0, "pmbot_fills_total"),
                    "rejected_by_reason_total": {
                        k: v
                        for k, v in by_label(text1, "pmbot_orders_rejected_total", "reason").items()
                        if v
                    },
                    "risk_paused_markets": sum(
                        1 for _, v in parse_samples(text1, "pmbot_risk_paused") if v
                    ),
                    "target": "cpu < 0.15 of a core, rss < 200 MB",
                }
            ),
            flush=True,
        )
    finally:
        if bot is not None:
            code = bot.terminate()
            warnings = [ln for ln in bot.log().splitlines() if " WARNING " in ln or " ERROR " in ln]
            kinds = sorted({ln.split(": ", 1)[-1][:100] for ln in warnings})
            print(json.dumps({"bench": "many_markets", "bot_exit": code, "log_kinds": kinds[:12]}))
        sim.stop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
