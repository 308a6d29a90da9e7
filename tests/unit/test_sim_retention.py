"""Bounded memory of the simulator: finished orders and final trades are forgotten after the
retention window, while open orders, positions and the queries' recent answers stay exact."""

from __future__ import annotations

from decimal import Decimal

from pmbot.sim.engine import Exchange
from pmbot.sim.timers import DueQueue
from tests.unit.test_sim_engine_helpers import (
    ALICE,
    BOB,
    CAROL,
    KEYS,
    T0,
    FakeClock,
    make_exchange,
    market,
    place,
    small_config,
)

D = Decimal
WINDOW = 60.0


def _trade(ex: Exchange, clock: FakeClock, token: str, price: str) -> tuple[str, str, str]:
    """BOB rests a SELL of 10, CAROL takes it: (maker order id, taker order id, trade id)."""
    ex.set_position(BOB, token, D(10))
    maker = place(ex, token, "SELL", price, 10, maker=BOB)["orderID"]
    taken = place(ex, token, "BUY", price, 10, maker=CAROL)
    return maker, taken["orderID"], taken["tradeIDs"][0]


def _settle(ex: Exchange, clock: FakeClock, secs: float) -> None:
    clock.t += secs
    ex.step()


def test_finished_records_are_pruned_after_the_window_while_open_orders_and_positions_stay():
    ex, clock, _ = make_exchange(retention_secs=WINDOW)
    m = market(ex)
    resting = place(ex, m.yes_token, "BUY", "0.40", 10)["orderID"]
    cancelled = place(ex, m.yes_token, "BUY", "0.39", 10)["orderID"]
    ex.cancel_orders(KEYS[ALICE], [cancelled])
    maker, taker, trade_id = _trade(ex, clock, m.yes_token, "0.60")
    _settle(ex, clock, 2.0)  # MINED, then CONFIRMED: the trade is final

    _settle(ex, clock, WINDOW - 5)  # inside the window: everything is still answered
    assert ex.get_order(KEYS[ALICE], cancelled)["status"] == "CANCELED"
    assert ex.get_order(KEYS[BOB], maker)["status"] == "MATCHED"
    assert [t["id"] for t in ex.trades(KEYS[CAROL])] == [trade_id]
    assert ex.trades(KEYS[BOB])[0]["status"] == "CONFIRMED"

    _settle(ex, clock, 10.0)  # past the window
    assert ex.get_order(KEYS[ALICE], cancelled) is None
    assert ex.get_order(KEYS[BOB], maker) is None
    assert ex.get_order(KEYS[CAROL], taker) is None
    assert ex.trades(KEYS[BOB]) == [] and ex.trades(KEYS[CAROL]) == []
    assert ex.cancel_orders(KEYS[ALICE], [cancelled])["not_canceled"] == {
        cancelled: "order not found"
    }

    assert [o["id"] for o in ex.open_orders(KEYS[ALICE])] == [resting]
    assert ex.get_order(KEYS[ALICE], resting)["status"] == "LIVE"
    assert ex.position(CAROL, m.yes_token) == D(10)
    [row] = ex.positions(CAROL)
    assert row["asset"] == m.yes_token and row["size"] == 10.0
    counts = ex.record_counts()
    assert (counts.orders, counts.open_orders, counts.trades) == (1, 1, 0)
    assert (counts.pruned_orders, counts.pruned_trades) == (3, 1)


def test_trades_after_cursor_answers_the_trades_still_in_the_window():
    ex, clock, _ = make_exchange(retention_secs=WINDOW)
    m = market(ex)
    _, _, old = _trade(ex, clock, m.yes_token, "0.60")
    _settle(ex, clock, 2.0)  # final at T0 + 2
    _settle(ex, clock, 38.0)
    cursor = int(clock.t)
    _, _, new = _trade(ex, clock, m.yes_token, "0.61")
    _settle(ex, clock, 2.0)  # final at T0 + 42
    assert [t["id"] for t in ex.trades(KEYS[CAROL], after=cursor)] == [new]

    _settle(ex, clock, WINDOW - 20)  # the old trade's window is over, the new one's is not
    assert [t["id"] for t in ex.trades(KEYS[CAROL])] == [new]
    assert [t["id"] for t in ex.trades(KEYS[CAROL], after=cursor)] == [new]
    assert old not in {t["id"] for t in ex.trades(KEYS[BOB])}


def test_a_trade_is_kept_until_it_is_final_whatever_its_age():
    ex, clock, _ = make_exchange(retention_secs=WINDOW, settle_confirmed_secs=WINDOW * 3)
    m = market(ex)
    _, _, trade_id = _trade(ex, clock, m.yes_token, "0.60")
    _settle(ex, clock, WINDOW * 2)  # MINED long ago, not CONFIRMED yet
    assert ex.trades(KEYS[CAROL])[0]["status"] == "MINED"
    _settle(ex, clock, WINDOW * 1.5)  # CONFIRMED now: the window starts here
    assert ex.trades(KEYS[CAROL])[0]["status"] == "CONFIRMED"
    _settle(ex, clock, WINDOW + 1)
    assert ex.trades(KEYS[CAROL]) == []


def test_retention_zero_keeps_every_record():
    ex, clock, _ = make_exchange(retention_secs=0)
    m = market(ex)
    maker, _, trade_id = _trade(ex, clock, m.yes_token, "0.60")
    _settle(ex, clock, 86_400.0)
    assert ex.get_order(KEYS[BOB], maker)["status"] == "MATCHED"
    assert [t["id"] for t in ex.trades(KEYS[BOB])] == [trade_id]
    assert ex.record_counts().pruned_orders == 0


def test_background_trading_holds_a_steady_number_of_records():
    """Ten simulated minutes of background traders with a 30 s window: the finished records
    kept stop growing once the window is full (deterministic: seeded traders, fake clock)."""
    clock = FakeClock(T0)
    config = small_config(background=True, retention_secs=30, taker_prob=0.2)
    ex = Exchange(config, clock=clock)
    kept = {}
    for tick in range(1, 6001):
        clock.t = T0 + tick * 0.1
        ex.step()
        if tick % 1500 == 0:
            counts = ex.record_counts()
            kept[tick // 10] = counts.orders - counts.open_orders + counts.trades
    final = ex.record_counts()
    assert final.pruned_orders > 1000 and final.pruned_trades > 100
    assert kept[600] <= 1.5 * kept[300], kept
    assert kept[300] <= 1.5 * kept[150], kept


def test_due_queue_compaction_drops_entries_that_died_early():
    queue: DueQueue[int] = DueQueue()
    alive = set(range(0, 10_000, 100))
    for i in range(10_000):
        queue.push(T0 + 1_000_000 + i, i)
        queue.compact(lambda item, newest=i: item in alive or item >= newest - 10)
    assert len(queue) < 1_000
    popped = list(queue.pop_due(T0 + 2_000_000))
    assert alive <= set(popped) and popped == sorted(popped)
