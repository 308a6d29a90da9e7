"""A fresh start seeds the inventory from the Data API; the trades that seed already holds are not
booked a second time when the user channel's catch-up replays them, later trades are."""

from __future__ import annotations

import queue
from decimal import Decimal as D

from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import (
    MarketInfo,
    PositionRow,
    PositionsSnapshot,
    Side,
    TradeEvent,
    TradeStatus,
)
from pmbot.state import AppState
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal

WALLET = "0x" + "cd" * 20
MARKET = MarketInfo("c1", "Y1", "N1")
SEED_TS = 1_000_000.5  # venue trade times are whole seconds


def engine_with_seed(tmp_path, journal: Journal) -> Engine:
    cfg = parse_config(
        {"mode": "live", "state_dir": str(tmp_path), "arbitrage": {"enabled": False}}
    )

    def positions() -> PositionsSnapshot:
        return PositionsSnapshot((PositionRow("Y1", "c1", D(20), D("0.43")),), taken_ts=SEED_TS)

    return Engine(
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
        clock=lambda: SEED_TS + 5,
        positions_source=positions,
    )


def taker_buy(trade_id: str, ts: float, status: TradeStatus = TradeStatus.MINED) -> TradeEvent:
    return TradeEvent(
        trade_id=trade_id,
        market="c1",
        token_id="Y1",
        side=Side.BUY,
        price=D("0.43"),
        size=D(20),
        status=status,
        taker_order_id="0xmine",
        owner="key",
        maker_orders=(),
        ts=ts,
    )


def test_the_seeded_trade_replayed_by_the_catch_up_counts_once(tmp_path) -> None:
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    engine = engine_with_seed(tmp_path, journal)
    assert engine.seed_positions() == 1
    assert engine.inventory.shares("Y1") == D(20)
    engine._apply(taker_buy("before", SEED_TS - 3))  # the catch-up looks back past the seed
    engine._apply(taker_buy("before", SEED_TS - 3, TradeStatus.CONFIRMED))
    assert engine.inventory.shares("Y1") == D(20)
    assert journal.load().fills == ()
    engine._apply(taker_buy("after", SEED_TS + 1))  # a trade after the seed is booked
    assert engine.inventory.shares("Y1") == D(40)
    # A trade in the seed's own second may be later than the seed: booked, never dropped.
    engine._apply(taker_buy("same-second", SEED_TS - 0.5))
    assert engine.inventory.shares("Y1") == D(60)
    assert [f.trade_id for f in journal.load().fills] == ["after", "same-second"]
    journal.close()


def test_without_a_seed_every_trade_is_booked(tmp_path) -> None:
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    engine = engine_with_seed(tmp_path, journal)  # seed_positions() is never called: no seed
    engine._apply(taker_buy("before", SEED_TS - 3))
    assert engine.inventory.shares("Y1") == D(20)
    journal.close()
