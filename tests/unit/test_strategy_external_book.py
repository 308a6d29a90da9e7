"""The strategy's price-jump guard measures the market's mid, not one the bot's own orders make
(``pmbot.strategy.external_book``).

Found with the tick-to-order bench (issue 20): while a maker replaced its ladder, the bot's own bid
was briefly the best bid; the bot quoted 10% under it (0.37 -> 0.33, later 0.33 -> 0.29), the mid
it measured fell with its own quote to 0.385, and when the makers' new levels came back at mid 0.44
the price-jump guard paused the market for 10 s. The last test replays those books.
"""

from decimal import Decimal as D

from pmbot.model import MarketInfo, Side
from pmbot.strategy import (
    BookView,
    LiveOrder,
    StrategyInput,
    StrategyMemory,
    StrategyParams,
    decide,
)
from pmbot.strategy.external_book import market_mid, without_own

MARKET = MarketInfo("cond", "YES", "NO")


def book(bids, asks) -> BookView:
    bids = tuple((D(p), D(s)) for p, s in bids)
    asks = tuple((D(p), D(s)) for p, s in asks)
    return BookView(
        bids[0][0] if bids else None,
        asks[0][0] if asks else None,
        bids[0][1] if bids else D(0),
        asks[0][1] if asks else D(0),
        bids,
        asks,
    )


def mine(*orders) -> tuple[LiveOrder, ...]:
    return tuple(
        LiveOrder(f"o{i}", token, side, D(price), D(size), market="cond")
        for i, (token, side, price, size) in enumerate(orders)
    )


def test_own_orders_come_off_their_levels_in_yes_terms():
    b = book([("0.50", "100"), ("0.45", "10")], [("0.54", "30"), ("0.59", "10")])
    own = mine(
        ("YES", Side.BUY, "0.45", "10"),  # a YES bid
        ("NO", Side.BUY, "0.41", "10"),  # a YES ask at 0.59
        ("YES", Side.SELL, "0.54", "20"),  # part of the best ask's size
    )
    out = without_own(b, own, MARKET)
    assert out is not None
    assert out.bids == ((D("0.50"), D("100")),) and out.best_bid == D("0.50")
    assert out.asks == ((D("0.54"), D("10")),) and (out.best_ask, out.ask_size) == (
        D("0.54"),
        D("10"),
    )


def test_a_side_with_only_own_orders_is_empty_and_the_touch_moves_past_them():
    b = book([("0.37", "10"), ("0.30", "50")], [("0.48", "10")])
    # a YES bid at 0.37, and a BUY NO at 0.52: a YES ask at 0.48
    own = mine(("YES", Side.BUY, "0.37", "10"), ("NO", Side.BUY, "0.52", "10"))
    out = without_own(b, own, MARKET)
    assert out is not None
    assert (out.best_bid, out.bid_size) == (D("0.30"), D("50"))
    assert out.best_ask is None and out.asks == ()


def test_a_view_without_levels_or_orders_of_other_markets_is_left_alone():
    top_only = BookView(D("0.50"), D("0.54"), D(10), D(10))
    assert without_own(top_only, mine(("YES", Side.BUY, "0.50", "10")), MARKET) == top_only
    b = book([("0.50", "10")], [("0.54", "10")])
    assert without_own(b, mine(("OTHER", Side.BUY, "0.50", "10")), MARKET) == b
    assert without_own(None, (), MARKET) is None


def test_market_mid_is_the_mid_of_the_view_without_own_orders():
    own = mine(("YES", Side.BUY, "0.37", "10"), ("NO", Side.BUY, "0.52", "10"))
    for b in (
        book([("0.37", "10"), ("0.30", "50")], [("0.48", "10"), ("0.50", "5")]),  # both move
        book([("0.37", "10")], [("0.46", "500"), ("0.48", "10")]),  # only its own bid: none
        book([("0.40", "500"), ("0.37", "10")], [("0.44", "500")]),  # own orders deeper
        book([("0.37", "30")], [("0.48", "10"), ("0.49", "1")]),  # others share its price
        BookView(D("0.40"), D("0.44"), D(1), D(1)),  # no levels: the touch as it is
    ):
        view = without_own(b, own, MARKET)
        assert view is not None and market_mid(b, own, MARKET) == view.mid
    assert market_mid(None, own, MARKET) is None


def step(memory, b, now, open_orders=()):
    return decide(
        StrategyInput(now=now, markets=(MARKET,), books={"YES": b}, open_orders=open_orders),
        memory,
        StrategyParams(),
    )


def test_the_bots_own_bid_at_the_touch_never_trips_the_price_jump_guard():
    own = ("YES", Side.BUY), ("NO", Side.BUY)  # its bid, and its ask as a BUY NO
    d = step(StrategyMemory(), book([("0.42", "500")], [("0.46", "500")]), 1.0)
    assert [(o.token_id, o.price) for o in d.new_orders] == [("YES", D("0.37")), ("NO", D("0.48"))]
    assert d.memory.markets["cond"].last_mid == D("0.44")
    quotes = mine((*own[0], "0.37", "10"), (*own[1], "0.48", "10"))
    # The makers' bids are gone for a moment: the best bid is the bot's own 0.37.
    half = book([("0.37", "10")], [("0.46", "500"), ("0.52", "10")])
    d = step(d.memory, half, 1.1, quotes)
    assert d.markets[0].verdict.may_quote
    assert d.memory.markets["cond"].last_mid == D("0.44")  # no market mid: nothing measured
    [bid] = [o for o in d.new_orders if o.token_id == "YES"]  # still anchored to the whole book
    quotes = mine((*own[0], str(bid.price), "10"), (*own[1], "0.48", "10"))
    d = step(
        d.memory, book([("0.40", "500"), (str(bid.price), "10")], [("0.44", "500")]), 1.2, quotes
    )
    assert d.markets[0].verdict.may_quote and d.memory.markets["cond"].last_mid == D("0.42")
    # The makers' bids gone again, the bot's lower bid the touch: its own mid would be 0.385.
    half = book([(str(bid.price), "10")], [("0.44", "500"), ("0.52", "10")])
    d = step(d.memory, half, 1.3, quotes)
    assert d.memory.markets["cond"].last_mid == D("0.42")
    # The new ladder at 0.42 / 0.46: 2 cents from the market's last mid, not 5.5 from the bot's.
    d = step(d.memory, book([("0.42", "500")], [("0.46", "500")]), 1.4, quotes)
    assert d.markets[0].verdict.may_quote, d.markets[0].verdict


def test_an_own_order_just_cancelled_but_still_on_the_feeds_book_never_trips_the_guard():
    """The tick-to-order bench, about 1 run in 7: the feed thread pulled the old ask (a BUY NO at
    0.48, a YES ask at 0.52) on the first update of a maker's ladder move, and the pull's answer
    reached the strategy before the rest of that move's updates: the book it decided on had the
    makers' new bids (0.42) and no makers' asks yet, only that ask, no longer tracked. Measured as
    the market's, the mid was 0.47: 5 cents from the last, and the market paused for 10 s."""
    d = step(StrategyMemory(), book([("0.40", "500")], [("0.44", "500")]), 1.0)
    assert d.memory.markets["cond"].last_mid == D("0.42")
    transient = book([("0.42", "500"), ("0.41", "500")], [("0.52", "10")])
    gone = mine(("NO", Side.BUY, "0.48", "10"))
    tripped = step(d.memory, transient, 1.1)  # what the strategy was given before the fix
    assert str(tripped.markets[0].verdict) == "paused(price_jump)"
    d = decide(
        StrategyInput(now=1.1, markets=(MARKET,), books={"YES": transient}, just_gone=gone),
        d.memory,
        StrategyParams(),
    )
    assert d.markets[0].verdict.may_quote, d.markets[0].verdict
    assert d.memory.markets["cond"].last_mid == D("0.42")  # no market ask: nothing measured
