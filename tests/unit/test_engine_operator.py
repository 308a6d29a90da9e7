"""The operator desk on the real strategy thread's rooms: a pause cancels the market's orders and
keeps it from quoting while the other market quotes on; a reload puts new parameters in force and
swaps markets (removed ones cancelled but still known, added ones quoted); status reads them."""

from __future__ import annotations

import queue
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.control.bridge import OperatorCommand, ReloadApply
from pmbot.control.protocol import Command, ControlAnswer, ControlRequest
from pmbot.control.reload import diff_configs
from pmbot.metrics import Metrics
from pmbot.model import (
    Cancel,
    Create,
    FeedStatus,
    MarketInfo,
    MarketUpdate,
    OrderAccepted,
    Replace,
)
from pmbot.state import AppState
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal

WALLET = "0x" + "cd" * 20
A = MarketInfo("cA", "YA", "NA", slug="a-market")
B = MarketInfo("cB", "YB", "NB", slug="b-market")
C = MarketInfo("cC", "YC", "NC", slug="c-market")


def update(market: MarketInfo, token: str) -> MarketUpdate:
    bid, ask = D("0.50"), D("0.54")
    if token == market.no_token:
        bid, ask = 1 - ask, 1 - bid
    return MarketUpdate(
        token, market.condition_id, bid, ask, D(100), D(100), D("0.01"), True, 1,
        ((bid, D(100)),), ((ask, D(100)),),
    )  # fmt: skip


def raw(edge: str, *markets: MarketInfo) -> dict:
    return {
        "mode": "live",
        "arbitrage": {"enabled": False},
        "strategy": {"edge_fraction": edge},
        "markets": [{"yes_token": m.yes_token, "no_token": m.no_token} for m in markets],
    }


@pytest.fixture
def engine(tmp_path):
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    eng = Engine(
        cfg=parse_config({**raw("0.1", A, B), "state_dir": str(tmp_path)}),
        markets=(A, B),
        events=(),
        inbound=queue.Queue(),
        commands=queue.Queue(),
        state=AppState(),
        journal=journal,
        metrics=Metrics(CollectorRegistry(), process_collector=False),
        api_key="key",
        funder=WALLET,
        clock=lambda: 1000.0,
    )
    yield eng
    journal.close()


def step(engine: Engine, *events: object) -> list:
    """Apply ``events`` and decide once; the commands sent, every create acknowledged as live."""
    engine._apply_batch([FeedStatus("user", True), *events])
    engine._decide(0, engine._marks())
    sent = []
    while not engine.commands.empty():
        sent.append(cmd := engine.commands.get_nowait())
        creates = cmd.orders if isinstance(cmd, Create) else getattr(cmd, "creates", ())
        for o in creates:
            engine._apply(OrderAccepted(o.client_id, "id-" + o.client_id, "live", o))
    return sent


def ask(engine: Engine, request: ControlRequest, change: ReloadApply | None = None):
    cmd = OperatorCommand(request, "uid 7 (pid 9)", queue.Queue(1), change)
    engine._apply(cmd)  # the dispatch table's entry for operator commands
    answer: ControlAnswer = cmd.reply.get_nowait()
    return answer


def quoting(engine: Engine) -> set[str]:
    return {t.order.market for t in engine.tracker.all() if t.order.tag == "quote"}


def books(*markets: MarketInfo) -> list[MarketUpdate]:
    return [update(m, tok) for m in markets for tok in (m.yes_token, m.no_token)]


def test_pause_cancels_the_market_and_keeps_it_off_while_the_other_quotes(engine) -> None:
    step(engine, *books(A, B))
    assert quoting(engine) == {"cA", "cB"}
    answer = ask(engine, ControlRequest(Command.PAUSE, "a-market"))
    assert answer.ok and answer.data["cancelled"] >= 1
    cancel = engine.commands.get_nowait()
    assert isinstance(cancel, Cancel) and cancel.markets == ("cA",)
    sent = step(engine, *books(A, B))
    assert not any(o.market == "cA" for c in sent for o in getattr(c, "orders", ()))
    assert str(engine.decider.last.verdict_of("cA")) == "paused(operator)"
    assert engine.decider.last.verdict_of("cB").state == "quoting"
    status = ask(engine, ControlRequest(Command.STATUS)).data
    rows = {r["slug"]: r for r in status["markets"]}
    assert rows["a-market"]["paused_by"] == "uid 7 (pid 9)" and rows["b-market"]["quotes"] > 0


def test_reload_applies_parameters_and_swaps_markets(engine) -> None:
    step(engine, *books(A, B))
    plan = diff_configs(parse_config(raw("0.1", A, B)), parse_config(raw("0.5", B, C)))
    assert plan.ok and plan.params and plan.markets_added and plan.markets_removed
    answer = ask(engine, ControlRequest(Command.RELOAD), ReloadApply(plan, (C,), (A,)))
    assert answer.ok and "strategy.edge_fraction" in answer.message
    assert engine.params.quoting.edge_fraction == D("0.5")
    assert engine.decider.params is engine.params and engine.arb.params is engine.params
    assert engine.markets == (B, C)
    assert engine.market_by_cid["cA"] == A  # late fills of the removed market still land
    cancels = (
        [c for c in iter(engine.commands.get_nowait, None) if isinstance(c, Cancel)]
        if False
        else []
    )
    while not engine.commands.empty():
        cancels.append(engine.commands.get_nowait())
    assert any(isinstance(c, Cancel) and c.markets == ("cA",) for c in cancels)
    sent = step(engine, *books(A, B, C))
    placed = [
        o
        for c in sent
        if isinstance(c, (Create, Replace))
        for o in getattr(c, "orders", ()) or c.creates
    ]
    assert {o.market for o in placed} >= {"cC"} and "cA" not in {o.market for o in placed}
