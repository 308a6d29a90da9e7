"""Unit tests of the simulator's matching engine: rejections with the venue's strings, order
types, NORMAL/MINT/MERGE matches, fees, events, settlement, cancels and queries."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from pmbot.sim.engine import Exchange, SimReject
from tests.unit.test_sim_engine_helpers import (
    ALICE,
    BOB,
    CAROL,
    T0,
    make_exchange,
    market,
    oid,
    place,
    small_config,
    wire,
)

D = Decimal


@pytest.fixture
def sim():
    return make_exchange()


# --------------------------------------------------------------------------- rejections


def test_wrong_tick_is_rejected_with_the_venue_string(sim):
    ex, _, _ = sim
    m = market(ex)
    order_id = oid()
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.505", 10, order_id=order_id)
    assert err.value.status == 400
    assert (
        err.value.message
        == f"order {order_id} is invalid. Price (0.505) breaks minimum tick size rule: 0.01"
    )


def test_price_at_one_is_out_of_bounds(sim):
    ex, _, _ = sim
    with pytest.raises(SimReject) as err:
        place(ex, market(ex).yes_token, "BUY", "1", 10)
    assert "out of bounds" in err.value.message


def test_below_minimum_size_is_rejected(sim):
    ex, _, _ = sim
    order_id = oid()
    with pytest.raises(SimReject) as err:
        place(ex, market(ex).yes_token, "BUY", "0.4", "4.99", order_id=order_id)
    assert (
        err.value.message == f"order {order_id} is invalid. Size (4.99) lower than the minimum: 5"
    )


def test_duplicate_order_id_is_rejected(sim):
    ex, _, _ = sim
    order_id = oid()
    place(ex, market(ex).yes_token, "BUY", "0.4", 10, order_id=order_id)
    with pytest.raises(SimReject) as err:
        place(ex, market(ex).yes_token, "BUY", "0.4", 10, order_id=order_id)
    assert err.value.message == f"order {order_id} is invalid. Duplicated."


def test_buy_needs_collateral_net_of_resting_reservations(sim):
    ex, _, _ = sim
    m = market(ex, "free-market")
    ex.set_balance(ALICE, D(100))
    place(ex, m.yes_token, "BUY", "0.5", 150)  # reserves 75
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.5", 51)  # needs 25.5 > 25 free
    assert err.value.message == "not enough balance / allowance"
    place(ex, m.yes_token, "BUY", "0.5", 50)  # exactly the remaining 25
    assert ex.available(ALICE) == 0


def test_buy_collateral_check_includes_taker_fee_headroom(sim):
    ex, _, _ = sim
    m = market(ex)  # fee rate 0.04
    ex.set_balance(ALICE, D(50))  # 100 @ 0.5 costs 50, plus up to 1 of fee
    with pytest.raises(SimReject):
        place(ex, m.yes_token, "BUY", "0.5", 100)
    place(ex, m.yes_token, "BUY", "0.5", 100, post_only=True)  # a maker pays no fee


def test_sell_needs_shares_net_of_resting_sells(sim):
    ex, _, _ = sim
    m = market(ex)
    with pytest.raises(SimReject) as err:
        place(ex, m.no_token, "SELL", "0.6", 10)
    assert err.value.message == "not enough balance / allowance"
    ex.set_position(ALICE, m.no_token, D(15))
    place(ex, m.no_token, "SELL", "0.6", 10)
    with pytest.raises(SimReject):
        place(ex, m.no_token, "SELL", "0.6", 6)
    place(ex, m.no_token, "SELL", "0.6", 5)


def test_post_only_crossing_is_rejected_and_leaves_book_alone(sim):
    ex, _, rec = sim
    m = market(ex)
    ex.set_book(m.yes_token, [(D("0.45"), D(100))], [(D("0.55"), D(100))])
    before = ex.book_snapshot(m.yes_token)
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.55", 10, post_only=True)
    assert err.value.message == "invalid post-only order: order crosses book"
    # the NO side: BUY NO @ 0.55 is a YES ask @ 0.45 = crosses the YES bid
    with pytest.raises(SimReject):
        place(ex, m.no_token, "BUY", "0.55", 10, post_only=True)
    after = ex.book_snapshot(m.yes_token)
    assert before["bids"] == after["bids"] and before["asks"] == after["asks"]


def test_post_only_with_fok_or_fak_is_rejected(sim):
    ex, _, _ = sim
    for order_type in ("FOK", "FAK"):
        with pytest.raises(SimReject) as err:
            place(ex, market(ex).yes_token, "BUY", "0.4", 10, order_type=order_type, post_only=True)
        assert "post_only is not supported for FOK/FAK orders" in err.value.message


def test_fok_not_fully_fillable_is_killed_without_trading(sim):
    ex, _, rec = sim
    m = market(ex)
    ex.set_book(m.yes_token, [], [(D("0.55"), D(10)), (D("0.56"), D(10))])
    rec.clear()
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.55", 15, order_type="FOK")
    assert (
        err.value.message
        == "order couldn't be fully filled. FOK orders are fully filled or killed."
    )
    assert rec.events == []
    assert ex.balance(ALICE) == D(10000)


def test_fak_with_nothing_to_match_is_rejected(sim):
    ex, _, _ = sim
    with pytest.raises(SimReject) as err:
        place(ex, market(ex).yes_token, "BUY", "0.55", 15, order_type="FAK")
    assert err.value.message == (
        "no orders found to match with FAK order. FAK orders are partially "
        "filled or killed if no match is found."
    )


def test_marketable_buy_under_one_dollar_is_rejected(sim):
    ex, _, _ = sim
    m = market(ex)
    ex.set_book(m.yes_token, [], [(D("0.1"), D(100))])
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.1", 5)
    assert err.value.message == "invalid amount for a marketable BUY order ($0.5), min size: $1"
    place(ex, m.yes_token, "BUY", "0.1", 10)  # $1 is enough


def test_gtd_expiration_must_be_at_least_a_minute_away(sim):
    ex, _, _ = sim
    with pytest.raises(SimReject) as err:
        place(ex, market(ex).yes_token, "BUY", "0.4", 10, order_type="GTD", expiration=int(T0) + 59)
    assert err.value.message == "invalid expiration"
    place(ex, market(ex).yes_token, "BUY", "0.4", 10, order_type="GTD", expiration=int(T0) + 61)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o.pop("tokenId"),
        lambda o: o.update(makerAmount="abc"),
        lambda o: o.update(takerAmount="0"),
        lambda o: o.update(side="HOLD"),
        lambda o: o.update(tokenId="123"),
    ],
)
def test_malformed_wire_order_is_invalid_payload(sim, mutate):
    ex, _, _ = sim
    order = wire(market(ex).yes_token, "BUY", "0.4", 10)
    mutate(order)
    with pytest.raises(SimReject) as err:
        ex.place_order("key-alice", order, order_type="GTC", post_only=False, order_id=oid())
    assert (err.value.status, err.value.message) == (400, "Invalid order payload")


def test_closed_market_refuses_orders(sim):
    ex, _, _ = sim
    m = market(ex)
    ex.resolve_market(m.condition_id, yes_wins=True)
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.4", 10)
    assert err.value.message == "the market is not yet ready to process new orders"


# --------------------------------------------------------------------------- matching


def test_normal_match_fills_at_the_makers_price_and_charges_the_taker_fee(sim):
    ex, _, rec = sim
    m = market(ex)  # fee rate 0.04
    ex.set_position(BOB, m.yes_token, D(20))
    maker_id = oid()
    place(ex, m.yes_token, "SELL", "0.45", 20, maker=BOB, order_id=maker_id)
    taker_id = oid()
    resp = place(ex, m.yes_token, "BUY", "0.50", 10, maker=ALICE, order_id=taker_id)
    assert resp["success"] and resp["status"] == "matched" and resp["orderID"] == taker_id
    assert (
        resp["makingAmount"] == "4.5"
        and resp["takingAmount"] == "10"
        and len(resp["tradeIDs"]) == 1
    )
    fee = D(10) * D("0.04") * D("0.45") * D("0.55")  # 0.099
    assert ex.balance(ALICE) == D(10000) - D("4.5") - fee
    assert ex.position(ALICE, m.yes_token) == 10
    assert ex.balance(BOB) == D(10000) + D("4.5")
    assert ex.position(BOB, m.yes_token) == 10  # 20 held, 10 sold
    assert ex.ledger(BOB)["reserved"]["shares"] == {m.yes_token: "10"}
    trade = rec.of("user", "trade", "key-alice")[0]
    assert trade["trader_side"] == "TAKER" and trade["fee_rate_bps"] == "400"
    assert trade["price"] == "0.45" and trade["size"] == "10" and trade["side"] == "BUY"
    assert trade["maker_orders"] == [
        {
            "order_id": maker_id,
            "owner": "key-bob",
            "maker_address": BOB,
            "asset_id": m.yes_token,
            "matched_amount": "10",
            "price": "0.45",
            "outcome": "Yes",
            "side": "SELL",
            "fee_rate_bps": "0",
            "outcome_index": 0,
        }
    ]
    maker_copy = rec.of("user", "trade", "key-bob")[0]
    assert maker_copy["id"] == trade["id"] and maker_copy["trader_side"] == "MAKER"
    ltp = rec.of("market", "last_trade_price")[0]
    assert (ltp["asset_id"], ltp["price"], ltp["size"], ltp["side"], ltp["fee_rate_bps"]) == (
        m.yes_token,
        "0.45",
        "10",
        "BUY",
        "400",
    )


def test_mint_match_buy_yes_against_buy_no(sim):
    ex, _, rec = sim
    m = market(ex, "free-market")
    maker_id = oid()
    place(ex, m.yes_token, "BUY", "0.40", 10, maker=BOB, order_id=maker_id)  # YES bid 0.40
    resp = place(ex, m.no_token, "BUY", "0.65", 10, maker=ALICE)  # YES ask 0.35: crosses
    assert (
        resp["status"] == "matched" and resp["makingAmount"] == "6" and resp["takingAmount"] == "10"
    )
    # the taker pays 1 - 0.40 = 0.60 per NO (price improvement from 0.65), the maker its 0.40
    assert ex.balance(ALICE) == D(10000) - 6 and ex.position(ALICE, m.no_token) == 10
    assert ex.balance(BOB) == D(10000) - 4 and ex.position(BOB, m.yes_token) == 10
    trade = rec.of("user", "trade", "key-alice")[0]
    entry = trade["maker_orders"][0]
    assert (trade["asset_id"], trade["side"], trade["price"]) == (m.no_token, "BUY", "0.6")
    assert (entry["asset_id"], entry["side"], entry["price"], entry["outcome"]) == (
        m.yes_token,
        "BUY",
        "0.4",
        "Yes",
    )


def test_merge_match_sell_yes_against_sell_no(sim):
    ex, _, rec = sim
    m = market(ex, "free-market")
    ex.set_position(BOB, m.yes_token, D(10))
    ex.set_position(ALICE, m.no_token, D(10))
    place(ex, m.yes_token, "SELL", "0.45", 10, maker=BOB)  # YES ask 0.45
    place(ex, m.no_token, "SELL", "0.50", 10, maker=ALICE)  # YES bid 0.50: crosses
    assert ex.balance(BOB) == D(10000) + D("4.5")
    assert ex.balance(ALICE) == D(10000) + D("5.5")  # 1 - 0.45, better than its 0.50
    assert ex.position(BOB, m.yes_token) == 0 and ex.position(ALICE, m.no_token) == 0
    entry = rec.of("user", "trade", "key-alice")[0]["maker_orders"][0]
    assert (entry["side"], entry["asset_id"]) == ("SELL", m.yes_token)


def test_price_time_priority_across_levels_and_within_a_level(sim):
    ex, clock, rec = sim
    m = market(ex, "free-market")
    first, second, better = oid(), oid(), oid()
    place(ex, m.yes_token, "BUY", "0.40", 10, maker=BOB, order_id=first)
    clock.t += 1
    place(ex, m.yes_token, "BUY", "0.40", 10, maker=CAROL, order_id=second)
    place(ex, m.no_token, "BUY", "0.58", 10, maker=CAROL, order_id=better)  # a YES ask at 0.42
    assert ex.top_of_book(m.yes_token) == (D("0.40"), D("0.42"))
    ex.set_position(ALICE, m.yes_token, D(15))
    place(ex, m.yes_token, "SELL", "0.40", 15, maker=ALICE)
    fills = rec.of("user", "trade", "key-alice")[0]["maker_orders"]
    assert [(f["order_id"], f["matched_amount"]) for f in fills] == [(first, "10"), (second, "5")]


def test_taker_sweeps_several_levels_and_rests_the_remainder(sim):
    ex, _, rec = sim
    m = market(ex, "free-market")
    ex.set_book(m.yes_token, [], [(D("0.50"), D(10)), (D("0.52"), D(10)), (D("0.60"), D(10))])
    rec.clear()
    order_id = oid()
    resp = place(ex, m.yes_token, "BUY", "0.52", 30, order_id=order_id)
    assert resp["takingAmount"] == "20" and resp["makingAmount"] == "10.2"
    order = ex.get_order("key-alice", order_id)
    assert order["status"] == "LIVE" and order["size_matched"] == "20"
    assert ex.top_of_book(m.yes_token) == (D("0.52"), D("0.60"))
    updates = [e for e in rec.of("user", "order", "key-alice") if e["id"] == order_id]
    assert [(u["type"], u["size_matched"]) for u in updates] == [
        ("PLACEMENT", "0"),
        ("UPDATE", "20"),
    ]


def test_fok_fills_completely_and_fak_cancels_its_remainder(sim):
    ex, _, rec = sim
    m = market(ex, "free-market")
    ex.set_book(m.yes_token, [], [(D("0.50"), D(10)), (D("0.51"), D(10))])
    # a market BUY spends its pUSD (15 x 0.51 = 7.65) at the limit or better (#89): 10 @ 0.50
    # leave 2.65 for 5.196078 @ 0.51, more shares than the 15 asked
    fok = place(ex, m.yes_token, "BUY", "0.51", 15, order_type="FOK")
    assert fok["status"] == "matched" and fok["takingAmount"] == "15.196078"
    assert fok["makingAmount"] == "7.649999"  # 2.64999978 for the second level, floored to 1e-6
    rec.clear()
    fak_id = oid()
    fak = place(ex, m.yes_token, "BUY", "0.51", 20, order_type="FAK", order_id=fak_id)
    assert fak["takingAmount"] == "4.803922"
    events = [(e["type"], e["size_matched"]) for e in rec.of("user", "order", "key-alice")]
    assert events == [
        ("PLACEMENT", "0"),
        ("UPDATE", "4.803922"),
        ("CANCELLATION", "4.803922"),
    ]
    assert ex.open_orders("key-alice") == []
    assert ex.top_of_book(m.yes_token) == (None, None)


def test_gtd_order_expires_on_step_with_a_cancellation_event(sim):
    ex, clock, rec = sim
    m = market(ex)
    order_id = oid()
    place(
        ex,
        m.yes_token,
        "BUY",
        "0.4",
        10,
        order_type="GTD",
        expiration=int(T0) + 90,
        order_id=order_id,
    )
    ex.step(T0 + 89)
    assert ex.get_order("key-alice", order_id)["status"] == "LIVE"
    ex.step(T0 + 90)
    assert ex.get_order("key-alice", order_id)["status"] == "CANCELED"
    assert rec.of("user", "order", "key-alice")[-1]["type"] == "CANCELLATION"
    assert ex.ledger(ALICE)["reserved"]["collateral"] == "0"


# --------------------------------------------------------------------------- market-channel events


def test_price_change_has_mirrored_entries_for_both_tokens(sim):
    ex, _, rec = sim
    m = market(ex)
    place(ex, m.yes_token, "BUY", "0.5", 200)
    msg = rec.of("market", "price_change")[-1]
    assert msg["market"] == m.condition_id
    yes, no = msg["price_changes"]
    assert (
        yes["asset_id"],
        yes["price"],
        yes["size"],
        yes["side"],
        yes["best_bid"],
        yes["best_ask"],
    ) == (m.yes_token, "0.5", "200", "BUY", "0.5", "1")
    assert (
        no["asset_id"],
        no["price"],
        no["size"],
        no["side"],
        no["best_bid"],
        no["best_ask"],
    ) == (m.no_token, "0.5", "200", "SELL", "0", "0.5")
    assert set(yes) == {"asset_id", "price", "size", "side", "hash", "best_bid", "best_ask"}
    bba = rec.of("market", "best_bid_ask")
    assert {(b["asset_id"], b["best_bid"], b["best_ask"]) for b in bba} == {
        (m.yes_token, "0.5", "1"),
        (m.no_token, "0", "0.5"),
    }


def test_cancel_emits_a_zero_size_level(sim):
    ex, _, rec = sim
    m = market(ex)
    order_id = oid()
    place(ex, m.no_token, "BUY", "0.3", 10, order_id=order_id)  # YES ask 0.7
    assert ex.cancel_orders("key-alice", [order_id]) == {"canceled": [order_id], "not_canceled": {}}
    yes, no = rec.of("market", "price_change")[-1]["price_changes"]
    assert (yes["price"], yes["size"], yes["side"]) == ("0.7", "0", "SELL")
    assert (no["price"], no["size"], no["side"]) == ("0.3", "0", "BUY")


def test_book_snapshot_orders_best_last_and_hashes_like_the_sdk(sim):
    from py_clob_client_v2.utilities import (
        generate_orderbook_summary_hash,
        parse_raw_orderbook_summary,
    )

    ex, _, _ = sim
    m = market(ex)
    ex.set_book(
        m.yes_token,
        [(D("0.40"), D(10)), (D("0.45"), D(20))],
        [(D("0.55"), D(30)), (D("0.60"), D(40))],
    )
    snap = ex.book_snapshot(m.yes_token)
    assert [b["price"] for b in snap["bids"]] == ["0.4", "0.45"]
    assert [a["price"] for a in snap["asks"]] == ["0.6", "0.55"]
    assert (
        snap["tick_size"],
        snap["min_order_size"],
        snap["neg_risk"],
        snap["last_trade_price"],
    ) == ("0.01", "5", False, "")
    no = ex.book_snapshot(m.no_token)
    assert [(b["price"], b["size"]) for b in no["bids"]] == [("0.4", "40"), ("0.45", "30")]
    assert [(a["price"], a["size"]) for a in no["asks"]] == [("0.6", "10"), ("0.55", "20")]
    assert list(snap) == [
        "market",
        "asset_id",
        "timestamp",
        "hash",
        "bids",
        "asks",
        "min_order_size",
        "tick_size",
        "neg_risk",
        "last_trade_price",
    ]
    summary = parse_raw_orderbook_summary(snap)
    assert generate_orderbook_summary_hash(summary) == snap["hash"]


def test_trade_emits_book_snapshots_for_both_tokens(sim):
    ex, _, rec = sim
    m = market(ex, "free-market")
    ex.set_book(m.yes_token, [], [(D("0.50"), D(10))])
    rec.clear()
    place(ex, m.yes_token, "BUY", "0.5", 5)
    books = rec.of("market", "book")
    assert {b["asset_id"] for b in books} == {m.yes_token, m.no_token}
    assert all(b["last_trade_price"] in ("0.5",) for b in books)


def test_set_book_on_the_no_token_is_mirrored_into_the_yes_book(sim):
    ex, _, _ = sim
    m = market(ex)
    ex.set_book(m.no_token, [(D("0.30"), D(10))], [(D("0.35"), D(20))])
    assert ex.top_of_book(m.no_token) == (D("0.30"), D("0.35"))
    assert ex.top_of_book(m.yes_token) == (D("0.65"), D("0.70"))


def test_tick_size_change_is_emitted_for_both_tokens_and_enforced(sim):
    ex, _, rec = sim
    m = market(ex)
    ex.set_tick_size(m.yes_token, D("0.001"))
    changes = rec.of("market", "tick_size_change")
    assert {(c["asset_id"], c["old_tick_size"], c["new_tick_size"]) for c in changes} == {
        (m.yes_token, "0.01", "0.001"),
        (m.no_token, "0.01", "0.001"),
    }
    place(ex, m.yes_token, "BUY", "0.965", 10)
    ex.set_tick_size(m.yes_token, D("0.01"))
    with pytest.raises(SimReject) as err:
        place(ex, m.yes_token, "BUY", "0.965", 10)
    assert "breaks minimum tick size rule: 0.01" in err.value.message


def test_add_market_emits_new_market(sim):
    from pmbot.sim.markets import make_binary_market

    ex, _, rec = sim
    new = ex.add_market(make_binary_market(1, "bench-1"))
    msg = rec.of("market", "new_market")[0]
    assert msg["market"] == new.condition_id and msg["assets_ids"] == [new.yes_token, new.no_token]
    assert ex.book_snapshot(new.yes_token)["bids"] == []


# --------------------------------------------------------------------------- settlement


def test_trade_status_progresses_matched_mined_confirmed(sim):
    ex, clock, rec = sim
    m = market(ex, "free-market")
    ex.set_book(m.yes_token, [], [(D("0.5"), D(10))])
    place(ex, m.yes_token, "BUY", "0.5", 10)
    ex.step(T0 + 0.2)
    ex.step(T0 + 0.3)
    ex.step(T0 + 0.9)
    ex.step(T0 + 1.0)
    statuses = [t["status"] for t in rec.of("user", "trade", "key-alice")]
    assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
    assert len({t["id"] for t in rec.of("user", "trade", "key-alice")}) == 1
    assert ex.trades("key-alice")[0]["status"] == "CONFIRMED"


def test_failed_trade_reverses_the_ledger_exactly(sim):
    ex, _, rec = sim
    m = market(ex)  # with a fee, which is refunded too
    ex.set_trade_fail_share(D(1))
    ex.set_position(BOB, m.yes_token, D(10))
    before = (ex.ledger(ALICE), ex.ledger(BOB), ex.fees_collected)
    place(ex, m.yes_token, "SELL", "0.45", 10, maker=BOB)
    place(ex, m.yes_token, "BUY", "0.5", 10)
    assert ex.position(ALICE, m.yes_token) == 10
    ex.step(T0 + 0.3)
    assert [t["status"] for t in rec.of("user", "trade", "key-bob")] == ["MATCHED", "FAILED"]
    assert (ex.ledger(ALICE), ex.ledger(BOB), ex.fees_collected) == before


# --------------------------------------------------------------------------- cancels and queries


def test_cancel_reasons_for_unknown_matched_and_foreign_orders(sim):
    ex, _, _ = sim
    m = market(ex, "free-market")
    mine, taken = oid(), oid()
    place(ex, m.yes_token, "BUY", "0.4", 10, order_id=mine)
    place(
        ex, m.no_token, "BUY", "0.6", 10, maker=BOB, order_id=taken
    )  # MINT: fills mine completely
    result = ex.cancel_orders("key-alice", [mine, "0xnope"])
    assert result == {
        "canceled": [],
        "not_canceled": {mine: "matched orders can't be canceled", "0xnope": "order not found"},
    }
    other = oid()
    place(ex, m.yes_token, "BUY", "0.3", 10, maker=BOB, order_id=other)
    assert ex.cancel_orders("key-alice", [other])["not_canceled"] == {other: "order not found"}
    ex.cancel_orders("key-bob", [other])
    assert ex.cancel_orders("key-bob", [other])["not_canceled"] == {
        other: "already canceled or matched"
    }


def test_cancel_market_orders_and_cancel_all_and_the_heartbeat_kill(sim):
    ex, _, _ = sim
    a, b = market(ex), market(ex, "free-market")
    ids = [
        place(ex, a.yes_token, "BUY", "0.3", 10)["orderID"],
        place(ex, a.no_token, "BUY", "0.3", 10)["orderID"],
        place(ex, b.yes_token, "BUY", "0.3", 10)["orderID"],
    ]
    assert ex.cancel_market_orders("key-alice", a.condition_id, a.no_token)["canceled"] == [ids[1]]
    assert ex.cancel_market_orders("key-alice", a.condition_id, None)["canceled"] == [ids[0]]
    place(ex, a.yes_token, "BUY", "0.3", 10)
    assert len(ex.cancel_all_for_key("key-alice", "heartbeat")) == 2
    assert ex.open_orders("key-alice") == [] and ex.cancel_all("key-alice")["canceled"] == []
    assert ex.ledger(ALICE)["reserved"] == {"collateral": "0", "shares": {}}


def test_open_order_shape_and_filters(sim):
    ex, _, _ = sim
    a, b = market(ex), market(ex, "free-market")
    first = place(ex, a.yes_token, "BUY", "0.3", 10)["orderID"]
    place(ex, b.no_token, "BUY", "0.3", 10)
    row = ex.open_orders("key-alice", order_id=first)[0]
    assert row == {
        "associate_trades": [],
        "id": first,
        "status": "LIVE",
        "market": a.condition_id,
        "original_size": "10",
        "outcome": "Yes",
        "maker_address": ALICE,
        "owner": "key-alice",
        "price": "0.3",
        "side": "BUY",
        "size_matched": "0",
        "asset_id": a.yes_token,
        "expiration": "0",
        "order_type": "GTC",
        "created_at": int(T0),
    }
    assert len(ex.open_orders("key-alice", market=b.condition_id)) == 1
    assert len(ex.open_orders("key-alice", asset_id=b.yes_token)) == 0
    assert ex.open_orders("key-bob") == [] and ex.get_order("key-bob", first) is None


def test_trades_rows_for_taker_and_maker_with_filters(sim):
    ex, clock, _ = sim
    m = market(ex, "free-market")
    place(ex, m.yes_token, "BUY", "0.4", 10, maker=BOB)
    clock.t += 100
    place(ex, m.no_token, "BUY", "0.6", 10)
    alice, bob = ex.trades("key-alice"), ex.trades("key-bob")
    assert len(alice) == len(bob) == 1 and alice[0]["id"] == bob[0]["id"]
    assert (alice[0]["trader_side"], bob[0]["trader_side"]) == ("TAKER", "MAKER")
    assert ex.trades("key-bob", asset_id=m.yes_token) and ex.trades(
        "key-bob", market=m.condition_id
    )
    assert (
        ex.trades("key-alice", after=int(T0) + 101) == []
        and ex.trades("key-alice", before=int(T0) + 99) == []
    )
    assert ex.trades("key-alice", trade_id=alice[0]["id"]) == alice


def test_positions_rows_in_data_api_shape(sim):
    ex, _, _ = sim
    m = market(ex, "free-market")
    place(ex, m.yes_token, "BUY", "0.4", 10, maker=BOB)
    place(ex, m.no_token, "BUY", "0.6", 10)
    (row,) = ex.positions(ALICE.upper().replace("0X", "0x"))
    assert row["asset"] == m.no_token and row["size"] == 10.0 and row["avgPrice"] == 0.6
    assert (
        row["outcome"] == "No"
        and row["oppositeAsset"] == m.yes_token
        and row["conditionId"] == m.condition_id
    )
    assert isinstance(row["size"], float) and row["negativeRisk"] is False


def test_new_address_is_funded_on_first_sight():
    ex, _, _ = make_exchange(initial_balance=250)
    assert ex.balance("0x" + "de" * 20) == D(250)
    assert ex.ledger("0x" + "de" * 20)["collateral"] == "250"


def test_resolution_redeems_positions_and_conserves_collateral(sim):
    ex, _, rec = sim
    m = market(ex, "free-market")
    place(ex, m.yes_token, "BUY", "0.4", 10, maker=BOB)
    place(ex, m.no_token, "BUY", "0.6", 10)  # MINT: 10 collateral became 10 YES + 10 NO
    total = ex.audit()["collateral"]
    ex.resolve_market(m.condition_id, yes_wins=True)
    assert ex.balance(BOB) == D(10000) + 6 and ex.balance(ALICE) == D(10000) - 6
    assert ex.audit()["collateral"] == total + 10
    assert rec.of("market", "market_resolved")[0]["winning_asset_id"] == m.yes_token


# ----------------------------------------------------------------- neg-risk and the living market


def test_set_book_makes_a_three_outcome_basket_that_fills_as_fok_legs(sim):
    ex, _, _ = sim
    event = ex.events["three-way"]
    legs = [ex.markets[c] for c in event.condition_ids]
    for leg, ask in zip(legs, ("0.30", "0.30", "0.34"), strict=True):
        ex.set_book(leg.yes_token, [(D(ask) - D("0.02"), D(50))], [(D(ask), D(50))])
    assert sum(ex.top_of_book(leg.yes_token)[1] for leg in legs) == D("0.94")
    for leg in legs:
        resp = place(
            ex, leg.yes_token, "BUY", ex.top_of_book(leg.yes_token)[1], 20, order_type="FOK"
        )
        assert resp["status"] == "matched"
    assert [ex.position(ALICE, leg.yes_token) for leg in legs] == [20, 20, 20]
    assert ex.balance(ALICE) == D(10000) - D("18.8")


def test_thin_leg_partially_fills_a_fak_basket(sim):
    ex, _, _ = sim
    legs = [ex.markets[c] for c in ex.events["three-way"].condition_ids]
    for leg, (ask, depth) in zip(legs, (("0.30", 50), ("0.30", 50), ("0.34", 8)), strict=True):
        ex.set_book(leg.yes_token, [], [(D(ask), D(depth))])
    fills = [
        place(ex, leg.yes_token, "BUY", ex.top_of_book(leg.yes_token)[1], 20, order_type="FAK")
        for leg in legs
    ]
    assert [f["takingAmount"] for f in fills] == ["20", "20", "8"]


def test_background_market_is_deterministic_under_the_seed():
    def run():
        from tests.unit.test_sim_engine_helpers import FakeClock, Recorder

        clock = FakeClock()
        ex = Exchange(small_config(background=True), clock=clock)
        rec = Recorder()
        ex.add_listener(rec)
        for _ in range(300):
            clock.t += 0.1
            ex.step()
        return json.dumps([m for _, _, m in rec.events], sort_keys=True)

    first, second = run(), run()
    assert first == second and len(first) > 1000


def test_living_market_moves_never_crosses_and_sometimes_offers_a_basket():
    from pmbot.sim.markets import load_sim_config
    from tests.unit.test_sim_engine_helpers import FakeClock

    clock = FakeClock()
    ex = Exchange(load_sim_config(), clock=clock)
    event = ex.events["next-fed-chair-2026"]
    legs = [ex.markets[c] for c in event.condition_ids]
    m0 = next(iter(ex.markets.values()))
    start = ex.top_of_book(m0.yes_token)
    sums, ticks = [], set()
    for _ in range(3000):
        clock.t += 0.1
        ex.step()
        for m in ex.markets.values():
            bid, ask = ex.top_of_book(m.yes_token)
            assert bid is None or ask is None or bid < ask
        tops = [ex.top_of_book(leg.yes_token)[1] for leg in legs]
        if None not in tops:
            sums.append(sum(tops))
        ticks.add(
            ex.markets[
                ex.config.market_by_slug("us-government-shutdown-before-2027").condition_id
            ].tick
        )
    assert ex.top_of_book(m0.yes_token) != start
    assert min(sums) < 1 < max(sums)  # baskets appear now and then, and go away
    assert ticks == {D("0.01"), D("0.001")}
    assert ex.fees_collected > 0  # background takers traded


def test_background_taker_fills_a_bot_quote_at_the_top():
    from tests.unit.test_sim_engine_helpers import FakeClock, Recorder

    clock = FakeClock()
    ex = Exchange(small_config(background=True, taker_prob=0.5), clock=clock)
    rec = Recorder()
    ex.add_listener(rec)
    m = market(ex)
    bid, ask = ex.top_of_book(m.yes_token)
    place(ex, m.yes_token, "BUY", bid + D("0.01"), 50, post_only=True)
    ex.set_position(ALICE, m.yes_token, D(50))
    place(ex, m.yes_token, "SELL", ask - D("0.01"), 50, post_only=True)
    for _ in range(100):
        clock.t += 0.1
        ex.step()
        if rec.of("user", "trade", "key-alice"):
            break
    trade = rec.of("user", "trade", "key-alice")[0]
    assert trade["trader_side"] == "MAKER" and trade["owner"] == "key-alice"


def test_place_order_on_a_populated_book_is_fast():
    """Sanity, not a benchmark: the server must sustain 200 orders/s; we want well under 1 ms."""
    import time

    from pmbot.sim.markets import load_sim_config
    from tests.unit.test_sim_engine_helpers import FakeClock

    clock = FakeClock()
    ex = Exchange(load_sim_config(), clock=clock)
    ex.add_listener(lambda c, k, m: None)
    m = market(ex, "fed-cuts-rates-in-december-2026")
    bid, ask = ex.top_of_book(m.yes_token)
    n = 400
    start = time.perf_counter()
    for i in range(n):
        price = bid - D("0.01") * (i % 5) if i % 2 else ask + D("0.01") * (i % 5)
        side = "BUY" if i % 2 else "SELL"
        token = m.yes_token
        if side == "SELL":
            token, side, price = m.no_token, "BUY", 1 - price
        place(ex, token, side, price, 10, post_only=True)
    per_order = (time.perf_counter() - start) / n
    assert per_order < 0.005, per_order
