"""Fill model on hand-made books: queue position, trade-through, cancel latency, post-only,
takers walking depth with the venue fee, NO orders on the unified YES book."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pmbot.backtest.fill_model import ASK, BID, FillModel, Trade
from pmbot.model import MarketInfo, OrderType, Side
from pmbot.strategy.views import DesiredOrder
from pmbot.venue.book import OrderBook

M = MarketInfo("0xc", "YES", "NO", tick=D("0.01"), fee_rate=D("0.07"))


def book(bids, asks) -> OrderBook:
    b = OrderBook("YES", D("0.01"))
    b.apply_snapshot([(D(p), D(s)) for p, s in bids], [(D(p), D(s)) for p, s in asks])
    return b


def bid(price="0.50", size="10", token="YES", side=Side.BUY) -> DesiredOrder:
    return DesiredOrder("0xc", token, side, D(price), D(size))


def resting(fm: FillModel, b: OrderBook, order: DesiredOrder, t: int = 0) -> str:
    fm.place("o1", order, t)
    assert fm.advance(t + fm.place_latency_ms, b) == []
    assert fm.orders["o1"].live
    return "o1"


def test_quote_behind_100_fills_only_after_100_traded_at_its_price():
    fm = FillModel(M)
    b = book([("0.50", "100"), ("0.49", "50")], [("0.52", "80")])
    resting(fm, b, bid())
    assert fm.orders["o1"].queue_ahead == 100
    b.set_level(Side.BUY, D("0.50"), D("40"))
    assert fm.on_book(10, b, [Trade(D("0.50"), D("60"), BID)]) == []
    b.set_level(Side.BUY, D("0.50"), D("0"))
    assert fm.on_book(20, b, [Trade(D("0.50"), D("40"), BID)]) == []  # exactly the queue: no fill
    fills = fm.on_book(30, b, [Trade(D("0.50"), D("4"), BID)])
    assert [(f.size, f.price, f.is_maker, f.fee) for f in fills] == [(D(4), D("0.50"), True, 0)]
    assert fm.orders["o1"].remaining == 6


def test_trade_through_the_price_fills_at_once():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "80")])
    resting(fm, b, bid())
    fills = fm.on_book(10, b, [Trade(D("0.49"), D("1"), BID)])
    assert sum(f.size for f in fills) == 10 and fills[0].price == D("0.50")
    assert "o1" not in fm.orders


def test_opposite_side_reaching_the_quote_fills_it():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "80")])
    resting(fm, b, bid())
    b.set_level(Side.SELL, D("0.50"), D("5"))
    assert sum(f.size for f in fm.on_book(10, b, [])) == 10


@pytest.mark.parametrize("trade_at, filled", [(1_050, 10), (1_100, 0), (1_200, 0)])
def test_cancel_before_the_fill_wins_after_the_cancel_latency(trade_at, filled):
    fm = FillModel(M, cancel_latency_ms=100)
    b = book([("0.50", "100")], [("0.52", "80")])
    resting(fm, b, bid())
    fm.cancel("o1", 1_000)
    fills = fm.advance(trade_at, b)
    if "o1" in fm.orders:
        fills += fm.on_book(trade_at, b, [Trade(D("0.49"), D("50"), BID)])
    assert sum((f.size for f in fills), D(0)) == filled


def test_placement_latency_an_order_is_not_there_before_it_arrives():
    fm = FillModel(M, place_latency_ms=200)
    b = book([("0.50", "100")], [("0.52", "80")])
    fm.place("o1", bid(), 0)
    assert fm.advance(100, b) == [] and not fm.orders["o1"].live
    assert fm.on_book(150, b, [Trade(D("0.49"), D("500"), BID)]) == []  # not resting yet
    fm.advance(200, b)
    assert fm.orders["o1"].live


def test_queue_modes_differ_on_cancels_by_others():
    results = {}
    for mode in ("pro_rata", "worst"):
        fm = FillModel(M, queue_mode=mode)
        b = book([("0.50", "100")], [("0.52", "80")])
        resting(fm, b, bid())
        b.set_level(Side.BUY, D("0.50"), D("150"))  # 50 join behind us
        fm.on_book(10, b, [])
        b.set_level(Side.BUY, D("0.50"), D("100"))  # 50 cancelled, no trade
        fm.on_book(20, b, [])
        results[mode] = fm.orders["o1"].queue_ahead
    assert results["worst"] == 100
    assert results["pro_rata"] == D(100) - D(50) * D(100) / D(150)


def test_size_removed_by_a_replayed_trade_is_not_also_a_cancel():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "80")])
    resting(fm, b, bid())
    assert fm.on_book(10, b, [Trade(D("0.50"), D("30"), BID)]) == []  # trade message first
    b.set_level(Side.BUY, D("0.50"), D("70"))  # then the book shows the same 30 gone
    fm.on_book(11, b, [])
    assert fm.orders["o1"].queue_ahead == 70


def test_post_only_that_would_cross_is_rejected():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "80")])
    fm.place("o1", bid("0.52"), 0)
    assert fm.advance(0, b) == [] and "o1" not in fm.orders and fm.rejected == 1


def test_buy_no_rests_as_a_yes_ask_and_fills_on_yes_buyers():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.55", "20"), ("0.56", "10")])
    resting(fm, b, bid("0.45", token="NO"))  # BUY NO 0.45 == YES ask 0.55, behind 20
    so = fm.orders["o1"]
    assert (so.book_side, so.yes_price, so.queue_ahead) == (ASK, D("0.55"), 20)
    fills = fm.on_book(10, b, [Trade(D("0.55"), D("25"), ASK)])
    assert [(f.size, f.price) for f in fills] == [(D(5), D("0.45"))]


def test_taker_walks_depth_and_pays_the_fee_fok_all_or_nothing():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "10"), ("0.53", "10"), ("0.60", "100")])
    fak = DesiredOrder("0xc", "YES", Side.BUY, D("0.53"), D("15"), False, OrderType.FAK, "arb")
    fm.place("t1", fak, 0)
    fills = fm.advance(0, b)
    # a market BUY spends 15 x 0.53 = 7.95 pUSD: 10 at 0.52 (5.20), then 2.75 / 0.53 = 5.1886
    assert [(f.price, f.size, f.is_maker) for f in fills] == [
        (D("0.52"), D(10), False),
        (D("0.53"), D("5.1886"), False),
    ]
    assert fills[0].fee == (D(10) * D("0.07") * D("0.52") * D("0.48")).quantize(D("0.00001"))
    fok = DesiredOrder("0xc", "YES", Side.BUY, D("0.53"), D("25"), False, OrderType.FOK, "arb")
    fm.place("t2", fok, 1)
    assert fm.advance(1, b) == [] and fm.rejected == 1


def test_two_orders_at_one_level_both_see_the_trade_credit():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "80")])
    fm.place("o1", bid(), 0)
    fm.place("o2", bid("0.50", "5", token="NO", side=Side.SELL), 0)  # SELL NO 0.50 = YES bid 0.50
    fm.advance(0, b)
    fm.on_book(10, b, [Trade(D("0.50"), D("30"), BID)])
    b.set_level(Side.BUY, D("0.50"), D("70"))
    fm.on_book(11, b, [])
    assert fm.orders["o1"].queue_ahead == 70 and fm.orders["o2"].queue_ahead == 70


def test_market_sell_of_no_walks_the_yes_asks_and_fak_with_nothing_is_rejected():
    fm = FillModel(M)
    b = book([("0.50", "100")], [("0.52", "10"), ("0.53", "10")])
    sell_no = DesiredOrder("0xc", "NO", Side.SELL, D("0.47"), D("15"), False, OrderType.FAK, "x")
    fm.place("t1", sell_no, 0)  # SELL NO at >= 0.47 == BUY YES at <= 0.53
    fills = fm.advance(0, b)
    assert [(f.price, f.size) for f in fills] == [(D("0.48"), D(10)), (D("0.47"), D(5))]
    too_low = DesiredOrder("0xc", "YES", Side.BUY, D("0.40"), D("5"), False, OrderType.FAK, "x")
    fm.place("t2", too_low, 1)
    assert fm.advance(1, b) == [] and fm.rejected == 1
