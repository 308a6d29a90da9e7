"""The strategy thread under load: it coalesces market updates to the latest per token instead of
falling behind, journals fills before inventory sees them, and fails closed on a strategy error."""

from __future__ import annotations

import queue
import time
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import (
    CancelAll,
    Create,
    FeedStatus,
    MakerOrderEntry,
    MarketInfo,
    MarketUpdate,
    Replace,
    Side,
    TradeEvent,
    TradeStatus,
)
from pmbot.state import AppState
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal

WALLET = "0x" + "cd" * 20
MARKET = MarketInfo("c1", "Y1", "N1")


def update(token, bid, ask, recv_ns=1):
    return MarketUpdate(
        token,
        "c1",
        D(bid),
        D(ask),
        D(100),
        D(100),
        D("0.01"),
        True,
        recv_ns,
        ((D(bid), D(100)),),
        ((D(ask), D(100)),),
    )


@pytest.fixture
def engine(tmp_path):
    cfg = parse_config(
        {"mode": "live", "state_dir": str(tmp_path), "arbitrage": {"enabled": False}}
    )
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    eng = Engine(
        cfg=cfg,
        markets=(MARKET,),
        events=(),
        inbound=queue.Queue(),
        commands=queue.Queue(),
        state=AppState(),
        journal=journal,
        metrics=Metrics(CollectorRegistry(), process_collector=False),
        api_key="key",
        funder=WALLET,
    )
    yield eng
    eng.request_stop()
    eng.join(5)
    journal.close()


def drain(q):
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def test_a_backlog_of_market_updates_is_coalesced_to_the_latest_state(engine):
    decisions = []
    real = engine._decide

    def counting(origin_ns, *rest):
        decisions.append(origin_ns)
        return real(origin_ns, *rest)

    engine._decide = counting
    engine.inbound.put(FeedStatus("user", True))
    for i in range(20_000):  # a burst far larger than one decision can keep up with one by one
        cents = 40 + i % 10
        engine.inbound.put(update("Y1", f"0.{cents}", f"0.{cents + 4}", recv_ns=i + 1))
    engine.inbound.put(update("Y1", "0.50", "0.54", recv_ns=10**9))
    engine.start()
    deadline = time.monotonic() + 10
    while engine.inbound.qsize() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert engine.inbound.qsize() == 0
    assert len(decisions) < 100  # batches, not 20,001 decisions
    assert engine.books["Y1"].best_bid == D("0.50")  # the newest state won
    cmds = drain(engine.commands)
    placed = [
        o
        for c in cmds
        if isinstance(c, (Create, Replace))
        for o in (c.orders if isinstance(c, Create) else c.creates)
    ]
    assert any(o.side is Side.BUY and o.price == D("0.45") and o.token_id == "Y1" for o in placed)


def test_a_fill_is_journalled_before_it_counts_and_counted_once(engine, tmp_path):
    trade = TradeEvent(
        trade_id="t1",
        market="c1",
        token_id="Y1",
        side=Side.SELL,
        price=D("0.45"),
        size=D(10),
        status=TradeStatus.MATCHED,
        taker_order_id="0xother",
        owner="someone",
        maker_orders=(MakerOrderEntry("0xmine", "key", "Y1", D("0.45"), D(10), Side.BUY),),
    )
    engine._apply(trade)
    engine._apply(trade)  # the same trade again (e.g. a REST catch-up): nothing changes
    assert engine.inventory.shares("Y1") == D(10)
    assert [f.trade_id for f in engine.journal.load().fills] == ["t1"]
    engine._apply(
        TradeEvent(
            **{**{f: getattr(trade, f) for f in trade.__slots__}, "status": TradeStatus.FAILED}
        )
    )
    assert engine.inventory.shares("Y1") == D(0)


def test_a_strategy_error_cancels_everything_and_stops_quoting(engine):
    def broken(*_a, **_k):
        raise RuntimeError("bug")

    engine._strategy_input = broken
    engine.start()
    engine.inbound.put(update("Y1", "0.50", "0.54"))
    cmd = engine.commands.get(timeout=5)
    assert isinstance(cmd, CancelAll)
    time.sleep(0.2)
    engine.inbound.put(update("Y1", "0.51", "0.55"))
    time.sleep(0.2)
    assert drain(engine.commands) == []  # no further decisions: it failed closed
    assert engine._thread.is_alive()  # but it keeps recording fills and order events
