#!/usr/bin/env python3
"""Tick-to-order latency: from a book change arriving on the bot's socket to the order request that
answers it being written, with the simulator in a separate process.

The simulator (``python -m pmbot.sim``) runs as its own process; the bot runs in this process in
live mode with every URL pointed at it (the live code path). Every ``--interval`` seconds the
benchmark moves one frozen market's book to a new mid bucket through the sim's control endpoint,
which makes the ``edge`` strategy re-quote (cancel + create). Each create records ``now -
origin_ns`` where ``origin_ns`` is when the triggering frame came off the socket (the executor's
``pmbot_tick_to_order_seconds`` observation). Prints JSON lines; asserts nothing about time.

    python bench/bench_tick_to_order.py [--seconds 20] [--interval 0.2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pmbot.config import parse_config  # noqa: E402
from pmbot.runner import BotRunner  # noqa: E402
from tests.integration.botproc import TEST_KEY, SimProcess, free_port  # noqa: E402
from tests.waiting import wait_for  # noqa: E402


def pct(values, q):
    values = sorted(values)
    if not values:
        return None
    k = max(0, min(len(values) - 1, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    # 0.2 s: two re-quoted orders per change = ~10 orders/s, inside the client-side rate budget
    # (Standard tier 40/s x rate_budget_fraction 0.5). Faster, and the budget deliberately delays
    # creates, which this figure is not about.
    ap.add_argument("--interval", type=float, default=0.2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    sim = SimProcess()
    try:
        markets = sim.binary_markets()
        cfg = parse_config(
            {
                "mode": "live",
                "markets": markets,
                "venue": {
                    k: sim.urls[k]
                    for k in (
                        "clob_url",
                        "market_ws_url",
                        "user_ws_url",
                        "data_api_url",
                        "gamma_url",
                    )
                },
                "metrics": {"port": free_port()},
                "state_dir": os.path.join("/tmp", f"pmbot-bench-{os.getpid()}"),
                "arbitrage": {"enabled": False},
            }
        )
        runner = BotRunner(cfg, private_key=TEST_KEY)
        runner._start()
        samples: list[float] = []
        hist = runner.metrics.tick_to_order_seconds
        original = hist.observe

        def observe(value, *a, **kw):
            samples.append(value)
            return original(value, *a, **kw)

        hist.observe = observe  # record raw samples as well as the histogram
        target = next(m for m in runner.engine.markets if m.tick == Decimal("0.01"))
        # The start-up quotes are not re-quotes: wait until they are out, then let stragglers land
        # (a grace period by design) before counting.
        wait_for(lambda: samples, 60, "the initial quotes")
        time.sleep(1.0)
        samples.clear()
        # Two books 2 cents apart: a new mid bucket every time, but below the price-jump guard.
        books = [
            ([("0.40", "500"), ("0.39", "500")], [("0.44", "500"), ("0.45", "500")]),
            ([("0.42", "500"), ("0.41", "500")], [("0.46", "500"), ("0.47", "500")]),
        ]
        changes = 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            bids, asks = books[changes % 2]
            sim.control(
                set_book={"token_id": target.yes_token, "bids": bids, "asks": asks, "freeze": True}
            )
            changes += 1
            time.sleep(args.interval)  # the pacing of the book changes, by design
        time.sleep(1.0)  # a grace period by design: the last change's orders are measured too
        runner._teardown(cancel=True)
        us = [s * 1e6 for s in samples]
        print(
            json.dumps(
                {
                    "bench": "tick_to_order",
                    "book_changes": changes,
                    "orders_measured": len(us),
                    "orders_per_sec": round(len(us) / args.seconds, 1),
                    "p50_us": round(pct(us, 50), 1) if us else None,
                    "p90_us": round(pct(us, 90), 1) if us else None,
                    "p99_us": round(pct(us, 99), 1) if us else None,
                    "mean_us": round(statistics.fmean(us), 1) if us else None,
                    "target": "p50 <= 1000 us, p99 <= 5000 us",
                    "includes": "socket frame -> parse + book -> strategy thread -> executor "
                    "-> signing -> POST /orders written; re-quotes are Replace(post_first) so "
                    "the new quotes go out before the cancels of the old ones",
                }
            ),
            flush=True,
        )
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
