"""An operator pause through `decide`: the market's quotes go, its verdict reads paused(operator),
other markets quote on, the pause lifts with the input; paused markets are left out of arbitrage."""

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

A = MarketInfo("condA", "YA", "NA")
B = MarketInfo("condB", "YB", "NB")
BOOK = BookView(D("0.50"), D("0.54"), D(100), D(100))
RESTING = (
    LiveOrder("a-bid", "YA", Side.BUY, D("0.45"), D(10), market="condA"),
    LiveOrder("b-bid", "YB", Side.BUY, D("0.45"), D(10), market="condB"),
)


def inp(**kw):
    base = dict(now=1000.0, markets=(A, B), books={"YA": BOOK, "YB": BOOK}, open_orders=RESTING)
    base.update(kw)
    return StrategyInput(**base)


def test_paused_market_cancels_its_quotes_and_the_other_keeps_quoting() -> None:
    first = decide(inp(), StrategyMemory(), StrategyParams())
    d = decide(
        inp(now=1001.0, operator_paused=frozenset({"condA"})), first.memory, StrategyParams()
    )
    assert str(d.verdict_of("condA")) == "paused(operator)"
    assert d.verdict_of("condB").state == "quoting"
    a = next(m for m in d.markets if m.condition_id == "condA")
    assert "a-bid" in a.cancel_ids and a.new_orders == () and a.desired == ()
    lifted = decide(inp(now=1002.0), d.memory, StrategyParams())
    assert lifted.verdict_of("condA").state == "quoting"


def test_paused_markets_are_left_out_of_binary_arbitrage() -> None:
    cheap = BookView(D("0.30"), D("0.40"), D(100), D(100))  # YES ask 0.40 + NO ask 0.40 < 1
    books = {"YA": cheap, "NA": cheap}
    free = decide(
        inp(markets=(A,), books=books, open_orders=()), StrategyMemory(), StrategyParams()
    )
    paused = decide(
        inp(markets=(A,), books=books, open_orders=(), operator_paused=frozenset({"condA"})),
        StrategyMemory(),
        StrategyParams(),
    )
    assert any(o.market == "condA" for o in free.arb_orders)
    assert paused.arb_orders == () and paused.opportunities == ()
