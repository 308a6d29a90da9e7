"""Prometheus metrics of the on-chain work, on the bot's injected registry (pmbot.metrics).

Built once by the runner as ``OnchainMetrics(metrics.registry)``; the strategy thread calls
``observe`` for every ``OnchainSettled`` / ``OnchainFailed`` it takes off the inbound queue, and
``set_pending`` after each desk tick. Labels come from fixed vocabularies (kind, final).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from pmbot.onchain.messages import OnchainFailed, OnchainSettled

NAMESPACE = "pmbot"
KINDS = ("merge", "redeem")


class OnchainMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r, ns = registry, NAMESPACE
        self.settled_total = Counter(
            "onchain_settled",
            "Merges and redemptions settled on chain.",
            ["kind"],
            namespace=ns,
            registry=r,
        )
        self.capital_freed_usd_total = Counter(
            "onchain_capital_freed_usd",
            "pUSD returned by merges and redemptions.",
            ["kind"],
            namespace=ns,
            registry=r,
        )
        self.gas_cost_native_total = Counter(
            "onchain_gas_cost_native",
            "Gas paid by the bot's EOA, in POL (0 via the relayer).",
            namespace=ns,
            registry=r,
        )
        self.failures_total = Counter(
            "onchain_failures",
            "Failed on-chain attempts (final: not retried).",
            ["kind", "final"],
            namespace=ns,
            registry=r,
        )
        self.pending_intents = Gauge(
            "onchain_pending_intents",
            "Merges and redemptions decided but not settled.",
            namespace=ns,
            registry=r,
        )
        for k in KINDS:
            self.settled_total.labels(kind=k)
            self.capital_freed_usd_total.labels(kind=k)
            for final in ("true", "false"):
                self.failures_total.labels(kind=k, final=final)

    def observe(self, ev: OnchainSettled | OnchainFailed) -> None:
        if isinstance(ev, OnchainSettled):
            self.settled_total.labels(kind=ev.kind).inc()
            self.capital_freed_usd_total.labels(kind=ev.kind).inc(float(ev.collateral))
            self.gas_cost_native_total.inc(float(ev.cost_native))
        else:
            self.failures_total.labels(kind=ev.kind, final=str(ev.final).lower()).inc()

    def set_pending(self, n: int) -> None:
        self.pending_intents.set(n)
