"""PaperMirror: the live book's levels rest on a local exchange and fill the bot's orders through
the exchange's normal path. Crossing rule: a resting bot BUY fills when the live best ask <= its
price, a resting SELL when the live best bid >= its price (NO orders in YES terms), always at the
bot's own limit price; marketable bot orders take the mirrored depth; used-up liquidity is not
offered twice."""

from __future__ import annotations

import json
import os
import queue
import time
from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest

from pmbot.model import FeedStatus, MarketInfo, MarketUpdate
from pmbot.sim.engine import Exchange, SimReject
from pmbot.sim.markets import load_sim_config
from pmbot.sim.paper import (
    MIRROR_ADDRESS,
    PaperMirror,
    PaperTee,
    add_live_market,
    sim_market_from_info,
)
from tests.conftest import SHARED
from tests.unit.test_sim_engine_helpers import FakeClock, Recorder, oid, wire

D = Decimal
BOT, BOT_KEY = "0x" + "b0" * 20, "bot-api-key"
INFO = MarketInfo(
    condition_id="0x" + "c1" * 32,
    yes_token="1" * 77,
    no_token="2" * 77,
    tick=D("0.01"),
    min_size=D(5),
    fee_rate=D("0.02"),
    slug="live-market",
    question="Will the live market resolve YES?",
    end_date_ts=1_798_761_600.0,
)


@pytest.fixture
def env():
    ex = Exchange(load_sim_config({"seed": 1, "background": False}), clock=FakeClock())
    rec = Recorder()
    ex.add_listener(rec)
    mirror = PaperMirror(ex)
    mirror.add_market(INFO)
    return ex, mirror, rec


def update(bids, asks, *, token=INFO.yes_token, live=True, tick="0.01", reason=""):
    bids = tuple((D(p), D(s)) for p, s in bids)
    asks = tuple((D(p), D(s)) for p, s in asks)
    return MarketUpdate(
        token_id=token,
        market=INFO.condition_id,
        best_bid=bids[0][0] if bids else None,
        best_ask=asks[0][0] if asks else None,
        bid_size=bids[0][1] if bids else D(0),
        ask_size=asks[0][1] if asks else D(0),
        tick=D(tick),
        live=live,
        recv_ns=time.monotonic_ns(),
        bids=bids,
        asks=asks,
        reason=reason,
    )


def bot_order(ex, token, side, price, size, *, order_type="GTC"):
    order_id = oid()
    resp = ex.place_order(
        BOT_KEY,
        wire(token, side, price, size, maker=BOT),
        order_type=order_type,
        post_only=False,
        order_id=order_id,
    )
    return order_id, resp


def matched(ex, order_id) -> Decimal:
    return D(ex.get_order(BOT_KEY, order_id)["size_matched"])


def bot_trades(rec):
    return [
        m
        for c, k, m in rec.events
        if c == "user" and k == BOT_KEY and m.get("event_type") == "trade"
    ]


# --------------------------------------------------------------------------- the local market


def test_the_local_market_carries_the_live_ids_tick_min_size_and_fee():
    m = sim_market_from_info(INFO)
    assert (m.condition_id, m.yes_token, m.no_token) == (
        INFO.condition_id,
        INFO.yes_token,
        INFO.no_token,
    )
    assert (m.tick, m.min_size, m.fee_rate, m.neg_risk) == (D("0.01"), D(5), D("0.02"), False)
    assert m.end_date_iso == "2027-01-01T00:00:00Z"


def test_adding_a_live_market_twice_keeps_one_market(env):
    ex, _, _ = env
    assert add_live_market(ex, INFO).condition_id == INFO.condition_id
    assert list(ex.markets) == [INFO.condition_id]


def test_the_mirror_rests_the_live_levels_in_both_token_views(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.50", 100), ("0.49", 200)], [("0.54", 150), ("0.55", 50)]))
    snap = ex.book_snapshot(INFO.yes_token)
    assert [(D(lv["price"]), D(lv["size"])) for lv in snap["bids"]] == [
        (D("0.49"), D(200)),
        (D("0.50"), D(100)),
    ]
    assert [(D(lv["price"]), D(lv["size"])) for lv in snap["asks"]] == [
        (D("0.55"), D(50)),
        (D("0.54"), D(150)),
    ]
    assert ex.top_of_book(INFO.no_token) == (D("0.46"), D("0.50"))
    # Nothing changed: nothing is cancelled or placed again.
    placed = mirror.stats["placed"]
    mirror.on_update(update([("0.50", 100), ("0.49", 200)], [("0.54", 150), ("0.55", 50)]))
    assert mirror.stats["placed"] == placed and mirror.stats["cancelled"] == 0


def test_a_no_token_update_mirrors_into_the_same_yes_book(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.46", 150)], [("0.50", 100)], token=INFO.no_token))
    assert ex.top_of_book(INFO.yes_token) == (D("0.50"), D("0.54"))


# --------------------------------------------------------------------------- the crossing rule


@pytest.mark.parametrize(
    "token,side,price,bids,asks,filled,pays",
    [
        # BUY YES at 0.52: the live ask drops to 0.51 -> filled at the bot's 0.52 (bot is maker).
        (INFO.yes_token, "BUY", "0.52", [("0.48", 100)], [("0.51", 100)], D(10), D("5.2")),
        # ... the ask exactly at the bid price also crosses.
        (INFO.yes_token, "BUY", "0.52", [("0.48", 100)], [("0.52", 100)], D(10), D("5.2")),
        # ... the ask one tick above: not crossed, no fill.
        (INFO.yes_token, "BUY", "0.52", [("0.48", 100)], [("0.53", 100)], D(0), D(0)),
        # BUY NO at 0.41 rests as a YES ask at 0.59: the live YES bid rises to 0.60 -> filled 0.41.
        (INFO.no_token, "BUY", "0.41", [("0.60", 100)], [("0.62", 100)], D(10), D("4.1")),
        # ... the YES bid at 0.58 stays below 0.59: no fill.
        (INFO.no_token, "BUY", "0.41", [("0.58", 100)], [("0.62", 100)], D(0), D(0)),
    ],
)
def test_a_resting_bot_order_fills_at_its_own_price_only_when_the_live_book_crosses_it(
    env, token, side, price, bids, asks, filled, pays
):
    ex, mirror, rec = env
    mirror.on_update(update([("0.40", 100)], [("0.70", 100)]))
    order_id, _ = bot_order(ex, token, side, price, 10)
    before = ex.balance(BOT)
    mirror.on_update(update(bids, asks))
    assert matched(ex, order_id) == filled
    assert ex.position(BOT, token) == filled
    assert before - ex.balance(BOT) == pays  # the maker pays no fee and gets no price improvement
    trades = bot_trades(rec)
    assert len(trades) == (1 if filled else 0)
    if filled:
        assert trades[0]["trader_side"] == "MAKER"
        assert [D(e["price"]) for e in trades[0]["maker_orders"]] == [D(price)]


def test_a_resting_sell_fills_when_the_live_bid_reaches_it(env):
    ex, mirror, _ = env
    ex.set_position(BOT, INFO.yes_token, D(20))
    mirror.on_update(update([("0.50", 100)], [("0.60", 100)]))
    order_id, _ = bot_order(ex, INFO.yes_token, "SELL", "0.57", 20)
    mirror.on_update(update([("0.56", 100)], [("0.60", 100)]))
    assert matched(ex, order_id) == 0
    before = ex.balance(BOT)
    mirror.on_update(update([("0.58", 100)], [("0.60", 100)]))
    assert matched(ex, order_id) == D(20)
    assert ex.balance(BOT) - before == D("11.4")  # 20 x 0.57, not 0.58
    assert ex.position(BOT, INFO.yes_token) == 0


def test_a_small_crossing_level_fills_part_and_the_same_liquidity_is_not_offered_twice(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.40", 100)], [("0.70", 100)]))
    order_id, _ = bot_order(ex, INFO.yes_token, "BUY", "0.52", 20)
    mirror.on_update(update([("0.40", 100)], [("0.51", 6), ("0.70", 100)]))
    assert matched(ex, order_id) == D(6)
    # Another level changes; the 6 at 0.51 are still on the live book but the bot already took them.
    mirror.on_update(update([("0.41", 100)], [("0.51", 6), ("0.70", 100)]))
    assert matched(ex, order_id) == D(6)
    assert mirror.consumed(INFO.condition_id) == {("SELL", D("0.51")): D(6)}
    # More size joins the live level: only the new part can fill the bot.
    mirror.on_update(update([("0.41", 100)], [("0.51", 16), ("0.70", 100)]))
    assert matched(ex, order_id) == D(16)
    # The level leaves the live book, then comes back: it is fresh liquidity.
    mirror.on_update(update([("0.41", 100)], [("0.70", 100)]))
    assert mirror.consumed(INFO.condition_id) == {}
    mirror.on_update(update([("0.41", 100)], [("0.51", 30)]))
    assert matched(ex, order_id) == D(20)
    assert ex.position(BOT, INFO.yes_token) == D(20)


def test_a_level_below_the_minimum_size_cannot_fill_the_bot(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.40", 100)], [("0.70", 100)]))
    order_id, _ = bot_order(ex, INFO.yes_token, "BUY", "0.52", 10)
    mirror.on_update(update([("0.40", 100)], [("0.51", 4), ("0.70", 100)]))
    assert matched(ex, order_id) == 0
    assert mirror.stats["below_min"] == 1


# --------------------------------------------------------------------------- marketable bot orders


def test_a_fok_leg_takes_the_mirrored_depth_at_the_live_prices_and_pays_the_taker_fee(env):
    ex, mirror, rec = env
    mirror.on_update(update([("0.45", 100)], [("0.50", 100), ("0.52", 100)]))
    before = ex.balance(BOT)
    _, resp = bot_order(ex, INFO.yes_token, "BUY", "0.52", 150, order_type="FOK")
    assert resp["status"] == "matched"
    # A market BUY spends its amount (150 x 0.52 = 78 pUSD) at the limit or better
    # (py-clob-client-v2 #89): 100 @ 0.50 for 50, then 28 pUSD buys 53.846153 @ 0.52.
    at_52 = (D(28) / D("0.52")).quantize(D("0.000001"), rounding=ROUND_DOWN)
    assert ex.position(BOT, INFO.yes_token) == D(100) + at_52
    cost = D(100) * D("0.50") + at_52 * D("0.52")
    fee = D(100) * D("0.02") * D("0.50") * D("0.50") + at_52 * D("0.02") * D("0.52") * D("0.48")
    assert abs(before - ex.balance(BOT) - (cost + fee)) <= D("0.00002")  # base-unit roundings
    assert bot_trades(rec)[0]["trader_side"] == "TAKER"
    # The live book has not changed; the next update must not hand the bot the same shares:
    # 100 - 53.846153 are left at 0.52 (24.0 pUSD), so a FOK for 52 pUSD is killed.
    mirror.on_update(update([("0.46", 100)], [("0.50", 100), ("0.52", 100)]))
    with pytest.raises(SimReject, match="FOK"):
        bot_order(ex, INFO.yes_token, "BUY", "0.52", 100, order_type="FOK")
    _, resp = bot_order(ex, INFO.yes_token, "BUY", "0.52", 40, order_type="FOK")
    assert resp["status"] == "matched"


def test_a_fok_buy_no_takes_the_mirrored_yes_bids(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.60", 50), ("0.59", 50)], [("0.65", 100)]))
    _, resp = bot_order(ex, INFO.no_token, "BUY", "0.41", 80, order_type="FOK")
    assert resp["status"] == "matched"
    # 80 x 0.41 = 32.8 pUSD: 50 NO @ 0.40 (the 0.60 YES bid) for 20, then 12.8 @ 0.41.
    at_41 = (D("12.8") / D("0.41")).quantize(D("0.000001"), rounding=ROUND_DOWN)
    assert ex.position(BOT, INFO.no_token) == D(50) + at_41


def test_a_book_that_is_not_live_withdraws_the_mirror_so_nothing_fills_on_stale_data(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)]))
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)], live=False, reason="disconnected"))
    assert ex.top_of_book(INFO.yes_token) == (None, None)
    with pytest.raises(SimReject, match="FOK"):
        bot_order(ex, INFO.yes_token, "BUY", "0.52", 10, order_type="FOK")
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)]))
    assert ex.top_of_book(INFO.yes_token) == (D("0.45"), D("0.50"))


def test_a_crossed_live_book_is_not_mirrored(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)]))
    mirror.on_update(update([("0.52", 100)], [("0.50", 100)]))
    assert ex.top_of_book(INFO.yes_token) == (None, None)
    assert ex.audit()["shares"] == {}  # the mirror never traded with itself


def test_a_live_tick_change_reaches_the_local_exchange_before_the_finer_levels(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.965", 100)], [("0.968", 100)], tick="0.001"))
    assert ex.tick_size(INFO.yes_token) == D("0.001")
    assert ex.top_of_book(INFO.yes_token) == (D("0.965"), D("0.968"))


def test_the_mirror_account_gets_no_user_events_and_unknown_tokens_are_ignored(env):
    ex, mirror, rec = env
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)]))
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)], token="9" * 77))
    assert mirror.stats["ignored"] == 1
    assert all(k != mirror.owner for c, k, _ in rec.events if c == "user")
    assert D(ex.ledger(MIRROR_ADDRESS)["reserved"]["collateral"]) > 0


# --------------------------------------------------------------------------- the tee


class _Boom(PaperMirror):
    def on_update(self, update):
        raise RuntimeError("mirror bug")


def test_the_tee_mirrors_first_then_forwards_everything_and_survives_a_mirror_failure(env):
    ex, mirror, _ = env
    order_id, _ = bot_order(ex, INFO.yes_token, "BUY", "0.52", 10)
    inner: queue.Queue = queue.Queue()
    tee = PaperTee(inner, mirror)
    u = update([("0.45", 100)], [("0.51", 100)])
    tee.put(u)
    status = FeedStatus("market-0", False, "closed")
    tee.put(status)
    assert matched(ex, order_id) == D(10)  # the fill happened before the strategy got the update
    assert inner.get_nowait() is u and inner.get_nowait() is status
    boom = _Boom(ex)
    tee = PaperTee(inner, boom)
    tee.put(u)
    assert inner.get_nowait() is u
    assert boom.stats["errors"] == 1


# --------------------------------------------------------------------------- a real venue book


def test_a_real_polymarket_book_is_mirrored_and_its_depth_taken_exactly():
    with open(
        os.path.join(SHARED, "data", "real-feed", "nautechsystems__nautilus_trader__book.json")
    ) as fh:
        snap = json.load(fh)
    info = MarketInfo(
        condition_id=snap["market"],
        yes_token=snap["asset_id"],
        no_token="3" * 77,
        tick=D("0.001"),
        min_size=D(5),
    )
    bids = sorted(((D(lv["price"]), D(lv["size"])) for lv in snap["bids"]), reverse=True)[:5]
    asks = sorted((D(lv["price"]), D(lv["size"])) for lv in snap["asks"])[:5]
    ex = Exchange(load_sim_config({"seed": 1, "background": False}), clock=FakeClock())
    mirror = PaperMirror(ex)
    mirror.add_market(info)
    u = MarketUpdate(
        token_id=info.yes_token,
        market=info.condition_id,
        best_bid=bids[0][0],
        best_ask=asks[0][0],
        bid_size=bids[0][1],
        ask_size=asks[0][1],
        tick=D("0.001"),
        live=True,
        recv_ns=0,
        bids=tuple(bids),
        asks=tuple(asks),
    )
    mirror.on_update(u)
    book = ex.book_snapshot(info.yes_token)
    assert sorted((D(lv["price"]), D(lv["size"])) for lv in book["asks"]) == asks
    assert sorted(((D(lv["price"]), D(lv["size"])) for lv in book["bids"]), reverse=True) == bids
    ex.set_balance(BOT, D(100000))
    before = ex.balance(BOT)
    resp = ex.place_order(
        BOT_KEY,
        wire(info.yes_token, "BUY", "0.515", 25000, maker=BOT),
        order_type="FOK",
        post_only=False,
        order_id=oid(),
    )
    assert resp["status"] == "matched"
    # A market BUY spends 25000 x 0.515 = 12875 pUSD at the limit or better (fee rate 0):
    # all 20230.87 @ 0.514, the rest buys more than 25000 - 20230.87 shares @ 0.515.
    at_515 = ((D(12875) - D("20230.87") * D("0.514")) / D("0.515")).quantize(
        D("0.000001"), rounding=ROUND_DOWN
    )
    assert at_515 > D(25000) - D("20230.87")
    spent = D("20230.87") * D("0.514") + at_515 * D("0.515")
    assert abs(before - ex.balance(BOT) - spent) <= D("0.000001")
    mirror.on_update(u)  # the same live book again: what the bot took stays taken
    book = ex.book_snapshot(info.yes_token)
    left = {D(lv["price"]): D(lv["size"]) for lv in book["asks"]}
    assert D("0.514") not in left  # the mirror keeps the live book's 0.01 share steps: what
    # the bot took is rounded up to a step, never handed back
    assert left[D("0.515")] == D("43551.96") - at_515.quantize(D("0.01"), rounding=ROUND_UP)


def test_close_withdraws_every_mirrored_level(env):
    ex, mirror, _ = env
    mirror.on_update(update([("0.45", 100)], [("0.50", 100)]))
    mirror.close()
    assert ex.top_of_book(INFO.yes_token) == (None, None)
    assert D(ex.ledger(MIRROR_ADDRESS)["reserved"]["collateral"]) == 0
