"""The strategy thread's free pUSD (issue 13 item 8): set by the collateral poller's snapshots and
by the fresh figure a balance refusal carries; the strategy input subtracts the open BUY orders.
Also how refusals are logged and counted: the venue's warn and count as errors, local ones not."""

from __future__ import annotations

import logging
from decimal import Decimal as D

from pmbot.model import (
    CollateralSnapshot,
    MakerOrderEntry,
    NewOrder,
    OrderRejected,
    OrderType,
    Side,
    TradeEvent,
    TradeStatus,
)
from pmbot.venue.wire_clob import BalanceAllowance, balance_refusal_message
from tests.unit.test_engine_loop import engine  # noqa: F401 - fixture


def free_in_input(eng) -> D | None:
    return eng._strategy_input(eng._marks()).free_balance_usd


def test_unknown_until_read_then_the_snapshot_less_open_buys(engine):  # noqa: F811
    assert engine.status.collateral_usd is None and free_in_input(engine) is None
    engine._apply(CollateralSnapshot(D("12.5"), D("20"), D("12.5"), 1.0))
    assert free_in_input(engine) == D("12.5")
    bid = NewOrder("c1", "c1", "Y1", Side.BUY, D("0.40"), D(10), OrderType.GTC, post_only=True)
    engine.tracker.on_sent(bid, 1.0)  # pending counts: it will lock 4.00 once accepted
    assert free_in_input(engine) == D("8.5")


def test_a_balance_refusal_sets_the_fresh_figure_it_carries(engine, caplog):  # noqa: F811
    engine._apply(CollateralSnapshot(D(100), D(100), None, 1.0))
    order = NewOrder("c9", "c1", "Y1", Side.BUY, D("0.50"), D(10), OrderType.GTC)
    fresh = BalanceAllowance(D("3.25"), (("0xex", D(1000)),))
    reason = balance_refusal_message(D("5.00"), "pUSD", fresh)
    with caplog.at_level(logging.WARNING):
        engine._apply(OrderRejected(client_id="c9", order=order, reason=reason))
    assert engine.status.collateral_usd == D("3.25")
    assert "3.25 pUSD free" in caplog.text


def test_a_refusal_without_figures_keeps_the_last_one(engine):  # noqa: F811
    engine._apply(CollateralSnapshot(D(7), D(7), None, 1.0))
    order = NewOrder("c9", "c1", "Y1", Side.BUY, D("0.50"), D(10), OrderType.GTC)
    unknown = balance_refusal_message(D("5.00"), "pUSD", None)
    engine._apply(OrderRejected(client_id="c9", order=order, reason=unknown))
    engine._apply(
        OrderRejected(client_id="c9", order=order, reason="not enough balance / allowance")
    )
    assert engine.status.collateral_usd == D(7)


def test_fills_since_the_read_move_the_free_figure(engine):  # noqa: F811
    engine._apply(CollateralSnapshot(D(20), D(20), None, 1.0))
    maker = MakerOrderEntry("0xmine", "key", "Y1", D("0.45"), D(10), Side.BUY)
    engine._apply(
        TradeEvent(
            trade_id="t1",
            market="c1",
            token_id="Y1",
            side=Side.SELL,
            price=D("0.45"),
            size=D(10),
            status=TradeStatus.MATCHED,
            taker_order_id="0xother",
            owner="someone",
            maker_orders=(maker,),
        )
    )
    assert free_in_input(engine) == D("15.5")  # our BUY of 10 @ 0.45 spent 4.50
    engine._apply(CollateralSnapshot(D("15.5"), D("15.5"), None, 2.0))  # the venue agrees
    assert free_in_input(engine) == D("15.5")


def test_a_local_supersede_is_logged_quietly_and_a_venue_refusal_warns(engine, caplog):  # noqa: F811
    order = NewOrder("c9", "c1", "Y1", Side.BUY, D("0.50"), D(10), OrderType.GTC)
    with caplog.at_level(logging.INFO):
        engine._apply(
            OrderRejected("c9", order, "superseded by a cancel of its market", kind="local")
        )
        engine._apply(OrderRejected("c10", order, "invalid post-only order: order crosses book"))
    [local] = [r for r in caplog.records if r.getMessage().endswith("of its market")]
    [venue] = [r for r in caplog.records if r.getMessage().endswith("crosses book")]
    assert (local.levelno, venue.levelno) == (logging.INFO, logging.WARNING)
    assert len(engine.status.recent_rejects) == 1  # only the venue's refusal counts as an error
