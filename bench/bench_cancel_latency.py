#!/usr/bin/env python3
"""Cancel latency while creates are rate limited: from the strategy's decision to cancel an old
quote to that cancel reaching the exchange, while every ``POST /orders`` is answered 429 with
``Retry-After: 5`` (issue 12: target 100 ms; before the two lanes a cancel waited ~5 s).

The bot runs in sim mode in this process (the bundled exchange on loopback, real sockets). Each
cycle: faults off until the bot quotes a frozen market; then creates get 429 + Retry-After: 5 and
the book moves, so the strategy re-quotes (cancel the old quotes, create new ones). The decision
time is when the strategy thread queues the command; the arrival time is recorded inside the
exchange (every cancel goes through ``Exchange._cancel_ids``). Prints JSON lines; asserts nothing.

    python bench/bench_cancel_latency.py [--cycles 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pmbot.config import parse_config  # noqa: E402
from pmbot.model import Cancel, Replace  # noqa: E402
from pmbot.runner import BotRunner  # noqa: E402
from pmbot.sim.engine import Exchange  # noqa: E402

ARRIVALS: dict[str, float] = {}
DECIDED: dict[str, float] = {}
LOCK = threading.Lock()


def record_exchange_arrivals() -> None:
    original = Exchange._cancel_ids

    def _cancel_ids(exchange, owner, order_ids, now):
        arrived = time.monotonic()
        with LOCK:
            for oid in order_ids:
                ARRIVALS.setdefault(oid, arrived)
        return original(exchange, owner, order_ids, now)

    Exchange._cancel_ids = _cancel_ids  # type: ignore[method-assign]  # bench instrumentation


def record_decisions(commands) -> None:
    put = commands.put

    def recording_put(cmd, *a, **kw):
        ids = cmd.order_ids if isinstance(cmd, Cancel) else ()
        ids = cmd.cancel_ids if isinstance(cmd, Replace) else ids
        now = time.monotonic()
        with LOCK:
            for oid in ids:
                DECIDED.setdefault(oid, now)
        return put(cmd, *a, **kw)

    commands.put = recording_put


def wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        threading.Event().wait(0.01)
    return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=5)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    record_exchange_arrivals()
    state = tempfile.mkdtemp(prefix="pmbot-bench-")
    raw = {"mode": "sim", "metrics": {"port": 0}, "state_dir": state}
    runner = BotRunner(parse_config({**raw, "arbitrage": {"enabled": False}}), private_key=None)
    runner._start()
    latencies: list[float] = []
    try:
        engine, faults = runner.engine, runner.sim.faults
        assert engine is not None
        record_decisions(engine.commands)
        market = next(m for m in engine.markets if m.tick == Decimal("0.01"))

        def quotes():
            return [
                o["id"]
                for o in runner.sim.exchange.open_orders(engine.api_key)
                if o["market"] == market.condition_id
            ]

        books = [(("0.50", "200"), ("0.54", "200")), (("0.53", "200"), ("0.57", "200"))]
        for cycle in range(args.cycles):
            faults.reset()
            bid, ask = books[cycle % 2]
            faults.set_book(market.yes_token, [bid], [ask])
            if not wait(lambda: len(quotes()) == 2, 30):
                continue
            threading.Event().wait(0.5)  # let the re-quote of this book settle
            old = quotes()
            faults.http_429(0, retry_after_secs=5.0)
            faults.error_probability(p_429=1.0)
            bid, ask = books[(cycle + 1) % 2]
            faults.set_book(market.yes_token, [bid], [ask])
            wait(lambda o=old: all(i in ARRIVALS for i in o), 10)
            with LOCK:
                latencies += [
                    ARRIVALS[i] - DECIDED[i] for i in old if i in ARRIVALS and i in DECIDED
                ]
        faults.reset()
    finally:
        runner._teardown(cancel=True)
    ms = sorted(x * 1000 for x in latencies)
    print(
        json.dumps(
            {
                "bench": "cancel_latency_under_create_429_retry_after_5",
                "cancels_measured": len(ms),
                "p50_ms": round(statistics.median(ms), 2) if ms else None,
                "max_ms": round(ms[-1], 2) if ms else None,
                "target": "every cancel <= 100 ms after the decision",
                "load": os.getloadavg()[0],
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
