"""The simulator's ``front_run`` knob: a faster taker leaves an outside FOK/FAK only ``max_size``
shares and takes the rest of the makers' reachable liquidity (uneven arbitrage legs, on demand)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pmbot.sim.engine import SimReject
from pmbot.sim.faults import Faults
from tests.unit.test_sim_engine_helpers import ALICE, BOB, make_exchange, market, place


@pytest.fixture
def ex():
    ex, _clock, _rec = make_exchange()
    return ex


def asks(ex, token):
    return [(D(lv["price"]), D(lv["size"])) for lv in ex.book_snapshot(token)["asks"]]


def test_capped_fak_fills_max_size_and_the_reachable_maker_liquidity_goes(ex):
    m = market(ex)
    ex.set_book(m.yes_token, [("0.25", 50)], [("0.30", 20), ("0.31", 20), ("0.40", 20)])
    ex.front_run(m.yes_token, D(6))
    r = place(ex, m.yes_token, "BUY", "0.31", 20, order_type="FAK")
    assert (
        r["status"] == "matched" and D(r["takingAmount"]) == 6 and D(r["makingAmount"]) == D("1.80")
    )
    assert ex.position(ALICE, m.yes_token) == 6
    assert sorted(asks(ex, m.yes_token)) == [
        (D("0.40"), D(20))
    ]  # 0.30 and 0.31 were taken by the phantom
    # consumed: the next order fills normally
    r = place(ex, m.yes_token, "BUY", "0.40", 10, order_type="FAK")
    assert D(r["takingAmount"]) == 10


def test_capped_fok_is_killed_and_the_liquidity_still_goes(ex):
    m = market(ex)
    ex.set_book(m.yes_token, [("0.25", 50)], [("0.30", 20), ("0.50", 20)])
    ex.front_run(m.yes_token, D(6))
    with pytest.raises(SimReject, match="fully filled or killed"):
        place(ex, m.yes_token, "BUY", "0.30", 10, order_type="FOK")
    assert asks(ex, m.yes_token) == [(D("0.50"), D(20))]
    assert ex.position(ALICE, m.yes_token) == 0


def test_resting_orders_gtc_and_other_tokens_are_not_affected(ex):
    m, other = market(ex), market(ex, "free-market")
    ex.set_book(m.yes_token, [("0.25", 50)], [("0.30", 20)])
    ex.set_position(BOB, m.yes_token, D(10))
    place(
        ex, m.yes_token, "SELL", "0.30", 10, maker=BOB
    )  # an outside maker behind the background one
    ex.front_run(m.yes_token, D(6), count=2)
    r = place(ex, m.yes_token, "BUY", "0.30", 5, order_type="GTC")  # GTC: not capped, no count used
    assert D(r["takingAmount"]) == 5
    ex.set_book(other.yes_token, [("0.25", 50)], [("0.30", 20)])
    assert D(place(ex, other.yes_token, "BUY", "0.30", 20, order_type="FAK")["takingAmount"]) == 20
    r = place(ex, m.yes_token, "BUY", "0.30", 20, order_type="FAK")
    assert D(r["takingAmount"]) == 6
    assert asks(ex, m.yes_token) == [
        (D("0.30"), D(10))
    ]  # BOB's order stays: only background makers go


def test_knob_validation_and_clearing():
    ex, _clock, _rec = make_exchange()
    m = market(ex)
    with pytest.raises(ValueError):
        ex.front_run(m.yes_token, D(0))
    with pytest.raises(KeyError):
        ex.front_run("no-such-token", D(1))
    ex.front_run(m.yes_token, D(6), count=3)
    ex.front_run(m.yes_token, D(6), count=0)
    ex.set_book(m.yes_token, [("0.25", 50)], [("0.30", 20)])
    assert D(place(ex, m.yes_token, "BUY", "0.30", 20, order_type="FAK")["takingAmount"]) == 20


def test_control_endpoint_knob_reaches_the_exchange():
    ex, _clock, _rec = make_exchange()
    f = Faults()
    f.exchange = ex
    m = market(ex)
    f.apply(
        {
            "set_book": {"token_id": m.no_token, "bids": [["0.60", 50]], "asks": [["0.70", 20]]},
            "front_run": {"token_id": m.no_token, "max_size": "5"},
        }
    )
    r = place(ex, m.no_token, "BUY", "0.70", 20, order_type="FAK")
    assert D(r["takingAmount"]) == 5 and asks(ex, m.no_token) == []
