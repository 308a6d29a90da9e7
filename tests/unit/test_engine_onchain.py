"""The engine's on-chain link (``onchain.enabled``): free pairs are planned after a decision, a
settlement is booked once through the fill path, the positions check leaves tokens in flight alone,
a resolved book marks the market for redemption, and without a worker nothing changes."""

from __future__ import annotations

import queue
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import (
    Fill,
    MarketInfo,
    MarketUpdate,
    PositionRow,
    PositionsSnapshot,
    Side,
    TradeStatus,
)
from pmbot.onchain.messages import MergeIntent, OnchainFailed, OnchainIntent, OnchainSettled
from pmbot.onchain.metrics import OnchainMetrics
from pmbot.state import AppState
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal

WALLET = "0x" + "cd" * 20
CID = "0x" + "c1" * 32
MARKET = MarketInfo(CID, "Y1", "N1")


class Sink:
    def __init__(self) -> None:
        self.got: list[OnchainIntent] = []

    def submit(self, intent: OnchainIntent) -> None:
        self.got.append(intent)


def make_engine(tmp_path, sink=None, registry=None):
    cfg = parse_config(
        {
            "mode": "live",
            "state_dir": str(tmp_path),
            "arbitrage": {"enabled": False},
            "onchain": {"merge_min_usd": 20},
        }
    )
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    registry = registry or CollectorRegistry()
    return Engine(
        cfg=cfg,
        markets=(MARKET,),
        events=(),
        inbound=queue.Queue(),
        commands=queue.Queue(),
        state=AppState(),
        journal=journal,
        metrics=Metrics(registry, process_collector=False),
        api_key="key",
        funder=WALLET,
        onchain=sink,
        onchain_metrics=OnchainMetrics(registry) if sink is not None else None,
    )


def bought(token: str, size: str, price: str, tid: str) -> Fill:
    return Fill(
        tid, "o-" + tid, CID, token, Side.BUY, D(price), D(size), D(0), True, TradeStatus.CONFIRMED
    )


@pytest.fixture
def sink():
    return Sink()


@pytest.fixture
def engine(tmp_path, sink):
    eng = make_engine(tmp_path, sink)
    eng.handlers.holdings.book(bought("Y1", "30", "0.45", "t1"))
    eng.handlers.holdings.book(bought("N1", "30", "0.50", "t2"))
    yield eng
    eng.journal.close()


def decide(eng: Engine) -> None:
    eng._decide(0, eng._marks())


def test_free_pairs_are_merged_after_a_decision_and_the_settlement_is_booked_once(engine, sink):
    decide(engine)
    (intent,) = sink.got
    assert isinstance(intent, MergeIntent) and intent.shares == D(30)
    settled = OnchainSettled(intent.intent_id, "merge", CID, D(30), D(30), "0xtx", D(0))
    engine._apply(settled)
    assert engine.inventory.shares("Y1") == 0 and engine.inventory.shares("N1") == 0
    realized = engine.inventory.pnl({}).realized
    assert realized == D(30) - D("28.5")  # $1 per set back, minus what the pairs cost
    engine._apply(settled)  # replayed by the worker after a restart: a duplicate
    assert engine.inventory.pnl({}).realized == realized
    assert len([f for f in engine.journal.load().fills if f.order_id == "onchain:merge"]) == 2
    decide(engine)
    assert len(sink.got) == 1  # nothing left to merge


def test_the_positions_check_skips_tokens_with_a_merge_in_flight(engine, sink):
    decide(engine)
    assert len(sink.got) == 1
    venue_moved = PositionsSnapshot(
        (PositionRow("Y1", CID, D(0), D(0)), PositionRow("N1", CID, D(0), D(0))), 0.0
    )
    engine._apply(venue_moved)
    assert engine.metrics.value("pmbot_inventory_mismatch_total") == 0
    engine._apply(OnchainFailed(sink.got[0].intent_id, "merge", CID, "reverted", final=True))
    engine._apply(venue_moved)  # nothing in flight any more: now it is a real difference
    assert engine.metrics.value("pmbot_inventory_mismatch_total") == 2  # one per token


def test_a_resolved_book_marks_the_market_for_redemption(engine, sink):
    resolved = MarketUpdate(
        "Y1", CID, None, None, D(0), D(0), D("0.01"), False, 1, reason="resolved"
    )
    engine._apply_batch([resolved])
    assert engine.onchain is not None and engine.onchain.desk.is_resolved(CID)


def test_without_a_worker_nothing_is_planned_and_settlements_are_ignored(tmp_path):
    eng = make_engine(tmp_path)
    eng.handlers.holdings.book(bought("Y1", "30", "0.45", "t1"))
    eng.handlers.holdings.book(bought("N1", "30", "0.50", "t2"))
    assert eng.onchain is None
    decide(eng)
    eng._apply(OnchainSettled("merge-x", "merge", CID, D(30), D(30), "0xtx", D(0)))
    assert eng.inventory.shares("Y1") == D(30) and eng.inventory.shares("N1") == D(30)
    eng.journal.close()


def test_a_completed_arbitrage_set_is_merged_at_once_and_its_hedged_set_released(tmp_path, sink):
    eng = make_engine(tmp_path, sink)
    eng.handlers.holdings.book(bought("Y1", "5", "0.45", "t1"))
    eng.handlers.holdings.book(bought("N1", "5", "0.50", "t2"))
    decide(eng)
    assert sink.got == []  # 5 pairs are below merge_min_usd
    legs = {"Y1": D(5), "N1": D(5)}
    hs = eng.inventory.record_hedged_set(
        "s1", legs, cost_usd=D("4.75"), payout_usd=D(5), kind="binary_set"
    )
    eng.journal.record_hedged_set(hs)
    eng.arb.on_hedged_set(hs)  # what the arbitrage desk calls when it records a set
    decide(eng)
    (intent,) = sink.got
    assert isinstance(intent, MergeIntent) and intent.reason == "arbitrage"
    eng._apply(OnchainSettled(intent.intent_id, "merge", CID, D(5), D(5), "0xtx", D(0)))
    assert eng.inventory.hedged_sets() == () and eng.journal.load().hedged_sets == ()
    eng.journal.close()
