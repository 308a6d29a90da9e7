"""The strategy-side desk: plans and submits, and books settlements through real Inventory."""

from __future__ import annotations

from decimal import Decimal

from pmbot.model import Fill, MarketInfo, Side, TradeStatus
from pmbot.onchain.desk import OnchainDesk
from pmbot.onchain.messages import (
    MergeIntent,
    OnchainFailed,
    OnchainIntent,
    OnchainSettled,
    RedeemIntent,
)
from pmbot.onchain.planner import PlanLimits
from pmbot.trading.inventory import Inventory

D = Decimal
M = MarketInfo(condition_id="0x" + "c1" * 32, yes_token="Y", no_token="N")


class Sink:
    def __init__(self) -> None:
        self.got: list[OnchainIntent] = []

    def submit(self, intent: OnchainIntent) -> None:
        self.got.append(intent)


def buy(inv: Inventory, token: str, size: str, price: str, tid: str) -> None:
    inv.apply_fill(
        Fill(
            tid,
            "o",
            M.condition_id,
            token,
            Side.BUY,
            D(price),
            D(size),
            D(0),
            True,
            TradeStatus.CONFIRMED,
        )
    )


def desk() -> tuple[OnchainDesk, Sink]:
    sink = Sink()
    return OnchainDesk(sink, PlanLimits(merge_min_usd=D(20)), new_id=lambda k, c: f"{k}-1"), sink


def test_arbitrage_set_submitted_and_booked_at_one_dollar_per_set() -> None:
    inv = Inventory()
    buy(inv, "Y", "10", "0.45", "t1")
    buy(inv, "N", "10", "0.52", "t2")
    d, sink = desk()
    assert d.tick([M], inv.shares, lambda t: D(0)) == []  # 10 < merge_min_usd
    d.on_arbitrage_set(M.condition_id)
    (intent,) = d.tick([M], inv.shares, lambda t: D(0))
    assert (
        intent == MergeIntent("merge-1", M.condition_id, D(10), False, "arbitrage") == sink.got[0]
    )
    assert d.pending_tokens([M]) == {"Y", "N"}
    assert d.tick([M], inv.shares, lambda t: D(0)) == []  # one intent per market at a time
    cash0 = inv.cash_flow()
    ev = OnchainSettled("merge-1", "merge", M.condition_id, D(10), D(10), "0xh", D("0.01"))
    fills = d.on_settled(ev, M, inv.shares, inv.avg_cost)
    assert sum((f.cost for f in fills), D(0)) == D(10)
    for f in fills:
        inv.apply_fill(f)
    assert inv.shares("Y") == 0 and inv.shares("N") == 0
    assert inv.cash_flow() - cash0 == D(10)
    assert inv.pnl({}).realized == D("0.30")  # 10 sets bought for 9.70, merged for 10
    assert d.pending_tokens([M]) == set()


def test_resolved_market_redeemed_at_the_winner_and_quoting_stops() -> None:
    inv = Inventory()
    buy(inv, "Y", "6", "0.40", "t1")
    buy(inv, "N", "4", "0.55", "t2")
    d, _ = desk()
    d.on_resolved(M.condition_id, "N")
    assert d.is_resolved(M.condition_id)
    (intent,) = d.tick([M], inv.shares, lambda t: D(0))
    assert isinstance(intent, RedeemIntent)
    ev = OnchainSettled(intent.intent_id, "redeem", M.condition_id, D(0), D(4), "0xh", D(0))
    fills = d.on_settled(ev, M, inv.shares, inv.avg_cost)
    assert {(f.token_id, f.size, f.cost) for f in fills} == {("Y", D(6), D(0)), ("N", D(4), D(4))}
    for f in fills:
        inv.apply_fill(f)
    assert inv.pnl({}).realized == D(4) - D("2.40") - D("2.20")


def test_final_failure_frees_the_market_and_transient_keeps_it_pending() -> None:
    inv = Inventory()
    buy(inv, "Y", "30", "0.5", "t1")
    buy(inv, "N", "30", "0.5", "t2")
    d, _ = desk()
    (intent,) = d.tick([M], inv.shares, lambda t: D(0))
    d.on_failed(OnchainFailed(intent.intent_id, "merge", M.condition_id, "timeout", final=False))
    assert d.pending_tokens([M]) == {"Y", "N"}
    d.on_failed(OnchainFailed(intent.intent_id, "merge", M.condition_id, "reverted", final=True))
    assert d.pending_tokens([M]) == set()


def test_metrics_count_settlements_capital_gas_and_failures() -> None:
    from prometheus_client import CollectorRegistry

    from pmbot.onchain.metrics import OnchainMetrics

    reg = CollectorRegistry()
    m = OnchainMetrics(reg)
    m.observe(OnchainSettled("a", "merge", "c", D(3), D(3), "0xh", D("0.002")))
    m.observe(OnchainSettled("b", "redeem", "c", D(0), D(7), "0xh", D(0)))
    m.observe(OnchainFailed("c", "merge", "c", "reverted", final=True))
    m.set_pending(2)
    v = reg.get_sample_value
    assert v("pmbot_onchain_settled_total", {"kind": "merge"}) == 1
    assert v("pmbot_onchain_capital_freed_usd_total", {"kind": "redeem"}) == 7
    assert v("pmbot_onchain_gas_cost_native_total") == 0.002
    assert v("pmbot_onchain_failures_total", {"kind": "merge", "final": "true"}) == 1
    assert v("pmbot_onchain_failures_total", {"kind": "redeem", "final": "false"}) == 0
    assert v("pmbot_onchain_pending_intents") == 2
