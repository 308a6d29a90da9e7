"""The engine's leg repair is verified, never assumed: repair orders form a repair basket, the sets
they complete are recorded only once filled, a failed repair is planned again from the books of
the moment, and after the last round the rest is counted and reported as naked.

Drives ``Engine._settle_basket`` directly (no thread, no network): the basket's fills come in as the
executor reports and user-channel fills would.
"""

from __future__ import annotations

import queue
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import (
    Create,
    EventInfo,
    Fill,
    MarketInfo,
    MarketUpdate,
    OrderAccepted,
    OrderRejected,
    Side,
    TradeStatus,
)
from pmbot.state import AppState
from pmbot.strategy.arbitrage import basket_yes
from pmbot.strategy.params import ArbitrageParams
from pmbot.strategy.views import BookView
from pmbot.trading.arbitrage_desk import MAX_REPAIR_ROUNDS
from pmbot.trading.engine import Engine
from pmbot.trading.fills import FillChange
from pmbot.trading.journal import Journal

WALLET = "0x" + "ab" * 20
MARKETS = tuple(
    MarketInfo(f"c{i}", f"Y{i}", f"N{i}", neg_risk=True, event_slug="ev") for i in range(3)
)
EVENT = EventInfo("ev", MARKETS)


class Clock:
    t = 1_767_000_000.0

    def __call__(self):
        return self.t


@pytest.fixture
def engine(tmp_path):
    cfg = parse_config(
        {"mode": "live", "state_dir": str(tmp_path), "arbitrage": {"max_leg_loss_usd": 5}}
    )
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    eng = Engine(
        cfg=cfg,
        markets=(),
        events=(EVENT,),
        inbound=queue.Queue(),
        commands=queue.Queue(),
        state=AppState(),
        journal=journal,
        metrics=Metrics(CollectorRegistry(), process_collector=False),
        api_key="k",
        funder=WALLET,
        clock=Clock(),
    )
    yield eng
    journal.close()


def book(eng, token, bids, asks):
    lv = lambda levels: tuple((D(p), D(s)) for p, s in levels)  # noqa: E731
    b, a = lv(bids), lv(asks)
    eng.books[token] = MarketUpdate(
        token,
        "c" + token[1:],
        b[0][0] if b else None,
        a[0][0] if a else None,
        b[0][1] if b else D(0),
        a[0][1] if a else D(0),
        D("0.01"),
        True,
        0,
        b,
        a,
    )
    eng.book_ts[token] = eng.clock()


def fill(order_id, token, side, size, price):
    f = Fill(
        trade_id="t-" + order_id,
        order_id=order_id,
        market="c" + token[1:],
        token_id=token,
        side=side,
        price=D(price),
        size=D(size),
        fee_usd=D(0),
        is_maker=False,
        status=TradeStatus.MATCHED,
    )
    return FillChange(fill=f, kind="new")


def sent(eng) -> list:
    out = []
    while not eng.commands.empty():
        cmd = eng.commands.get_nowait()
        assert isinstance(cmd, Create)
        out.extend(cmd.orders)
    return out


def settle_ready(eng, later=1.0):
    eng.clock.t += later
    for b in eng.arb.baskets.ready(eng.clock()):
        eng.arb.settle(b, eng.clock())


def report(eng, order, order_id, filled):
    """The executor's answer and the user channel's fill for one order (``filled`` 0: rejected)."""
    now = eng.clock()
    if not filled:
        eng.arb.baskets.on_rejected(
            OrderRejected(client_id=order.client_id, order=order, reason="no match"), now
        )
        return
    amount = str(filled)
    eng.arb.baskets.on_accepted(
        OrderAccepted(
            order.client_id, order_id, "matched", order, taking_amount=amount, making_amount=amount
        ),
        now,
    )
    eng.arb.baskets.on_fill(fill(order_id, order.token_id, order.side, filled, order.price))


def hedged_sets(eng) -> D:
    return sum((min(s for _, s in hs.legs) for hs in eng.inventory.hedged_sets()), D(0))


def naked_count(eng) -> float:
    return eng.metrics.arb_skipped_total.labels(reason="naked_leg")._value.get()


def open_basket(eng, filled):
    views = {m.yes_token: BookView(D("0.25"), D("0.30"), D(20), D(20)) for m in MARKETS}
    opp = basket_yes(EVENT, views, ArbitrageParams(), D(1000))
    assert opp.actionable and opp.sets == 20
    legs = [eng._new_order(d, 0) for d in opp.orders()]
    eng.arb.baskets.open(opp, legs, eng.clock())
    for i, (o, n) in enumerate(zip(legs, filled, strict=True)):
        report(eng, o, f"leg{i}", n)


def test_a_repair_that_fails_is_planned_again_then_reported_naked(engine):
    assert MAX_REPAIR_ROUNDS == 2
    for i, tok in enumerate(("Y0", "Y1", "Y2")):
        book(
            engine, tok, [("0.28", 50)], [] if i == 2 else [("0.45", 50)]
        )  # outcome 2: no asks left
    open_basket(engine, [20, 20, 6])
    settle_ready(engine)
    assert hedged_sets(engine) == 6  # only what is complete now
    round1 = sent(engine)
    assert sorted((o.token_id, o.side, o.size) for o in round1) == [
        ("Y0", Side.SELL, 14),
        ("Y1", Side.SELL, 14),
    ]

    report(engine, round1[0], "r1a", 8)  # partly: 6 of Y0 still naked
    report(engine, round1[1], "r1b", 0)  # rejected: the bids were gone
    settle_ready(engine)
    round2 = sent(engine)
    assert sorted((o.token_id, o.side, o.size) for o in round2) == [
        ("Y0", Side.SELL, 6),
        ("Y1", Side.SELL, 14),
    ]
    assert naked_count(engine) == 0

    for o, oid in zip(round2, ("r2a", "r2b"), strict=True):
        report(engine, o, oid, 0)
    settle_ready(engine)
    assert sent(engine) == []  # no third round
    assert naked_count(engine) == 1
    assert hedged_sets(engine) == 6


def test_a_completing_buy_records_its_sets_only_when_filled(engine):
    for tok in ("Y0", "Y1"):
        book(engine, tok, [("0.20", 50)], [("0.45", 50)])
    book(engine, "Y2", [("0.20", 50)], [("0.31", 50)])  # completing is cheaper than unwinding
    open_basket(engine, [20, 20, 6])
    settle_ready(engine)
    [buy] = sent(engine)
    assert (buy.token_id, buy.side, buy.size) == ("Y2", Side.BUY, 14)
    assert hedged_sets(engine) == 6  # the 14 are not assumed
    report(engine, buy, "r1", 14)
    settle_ready(engine, later=0.0)  # even again: settles at once
    assert hedged_sets(engine) == 20 and naked_count(engine) == 0
    assert sent(engine) == []


def test_a_market_buy_filling_more_than_asked_keeps_the_sets_even(engine):
    """Issue 13 item 2: a market BUY spends its pUSD at the limit or better, so a leg can get more
    shares than asked (#89). The surplus is inventory: 20 sets, no repair, nothing naked."""
    for tok in ("Y0", "Y1", "Y2"):
        book(engine, tok, [("0.20", 50)], [("0.45", 50)])
    open_basket(engine, [20, D("20.338983"), 20])
    settle_ready(engine)
    assert sent(engine) == []  # no unwind of the bonus shares
    assert hedged_sets(engine) == 20 and naked_count(engine) == 0
    (hs,) = engine.inventory.hedged_sets()
    assert sorted(hs.legs) == [("Y0", 20), ("Y1", 20), ("Y2", 20)]
    assert hs.cost_usd == 3 * 20 * D("0.30")  # the set's share of each leg's cost


def test_a_short_leg_is_repaired_up_to_the_asked_size_not_to_a_bonus_fill(engine):
    for tok in ("Y0", "Y1"):
        book(engine, tok, [("0.20", 50)], [("0.45", 50)])
    book(engine, "Y2", [("0.20", 50)], [("0.31", 50)])
    open_basket(engine, [D("20.5"), 20, 6])
    settle_ready(engine)
    [buy] = sent(engine)
    assert (buy.token_id, buy.side, buy.size) == ("Y2", Side.BUY, 14)  # up to 20, not 20.5
