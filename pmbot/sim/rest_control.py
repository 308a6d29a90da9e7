"""The simulator's own ``/_sim`` endpoints (loopback only): fault and engine knobs
(``POST /_sim/control``), an account's ledger, the record counts (``GET /_sim/stats``),
benchmark markets and the benchmark feed flood.
"""

from __future__ import annotations

import dataclasses

from pmbot.sim.ports import BenchMarkets, ExchangeApi, FaultGate
from pmbot.sim.rest_messages import Reply, Request, error


class ControlRoutes:
    def __init__(
        self, exchange: ExchangeApi, faults: FaultGate, bench: BenchMarkets | None
    ) -> None:
        self.exchange = exchange
        self.faults = faults
        self.bench = bench

    def control(self, req: Request) -> Reply:
        try:
            return Reply(200, self.faults.apply(req.json() or {}))
        except (ValueError, KeyError, TypeError) as exc:
            return error(400, f"bad control request: {exc}")

    def ledger(self, req: Request) -> Reply:
        user = req.query.get("user")
        if not user:
            return error(400, "user is required")
        return Reply(200, self.exchange.ledger(user))

    def bench_markets(self, req: Request) -> Reply:
        if self.bench is None:
            return error(404, "no bench feed")
        body = req.json() or {}
        try:
            count, levels = int(body.get("count", 1)), int(body.get("levels", 10))
            if not (1 <= count <= 2000 and 1 <= levels <= 200):
                raise ValueError("count in 1..2000, levels in 1..200")
        except (ValueError, TypeError) as exc:
            return error(400, f"bad bench_markets request: {exc}")
        return Reply(200, {"markets": self.bench.create_markets(count, levels, self.exchange)})

    def flood(self, req: Request) -> Reply:
        if self.bench is None:
            return error(404, "no bench feed")
        body = req.json() or {}
        try:
            rate, count = float(body.get("rate", 1000)), int(body.get("count", 1000))
            if not (rate > 0 and count > 0):
                raise ValueError("rate and count must be positive")
            started = self.bench.start_flood(rate=rate, count=count)
        except (ValueError, TypeError, RuntimeError) as exc:
            return error(400, f"bad flood request: {exc}")
        return Reply(200, started)

    def stats(self, req: Request) -> Reply:
        """How many orders and trades the exchange holds, and its retention window."""
        counts = dataclasses.asdict(self.exchange.record_counts())
        counts["retention_secs"] = self.exchange.config.retention_secs
        return Reply(200, counts)
