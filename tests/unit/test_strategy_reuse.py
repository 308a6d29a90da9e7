"""``decide`` reuses a market's last decision when nothing it reads has changed (the cost of many
markets per process): the reused decision and memory equal a full recomputation, through random
books, inventories, resting orders, time steps across the guards' clocks, and both reward modes."""

from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import MarketInfo
from pmbot.strategy import BookView, StrategyInput, StrategyMemory, StrategyParams, decide
from pmbot.strategy.decide import MarketMemory
from pmbot.strategy.params import QuotingParams, RiskParams
from pmbot.strategy.views import LiveOrder

MARKETS = (
    MarketInfo("c1", "Y1", "N1", rewards_max_spread=D("3.5"), rewards_min_size=D(50)),
    MarketInfo("c2", "Y2", "N2", end_date_ts=1000.0 + 3600 + 50),  # near_end after 50 s
)


def strip(memory: StrategyMemory) -> StrategyMemory:
    """The memory without its reuse entries: ``decide`` on it recomputes every market."""
    return replace(memory, markets={k: replace(m, reuse=None) for k, m in memory.markets.items()})


def resting(decision, acked: bool, before: tuple[LiveOrder, ...] = ()) -> tuple[LiveOrder, ...]:
    """The open orders after the engine carried ``decision`` out (cancels gone, new ones added)."""
    gone = set(decision.cancel_ids) | (
        {o.order_id for o in before} if decision.cancel_all else set()
    )
    kept = tuple(o for o in before if o.order_id not in gone)
    n = len(before)
    return kept + tuple(
        LiveOrder(
            f"o{n + i}", o.token_id, o.side, o.price, o.size, pending=not acked, market=o.market
        )
        for i, o in enumerate(decision.new_orders)
    )


@st.composite
def books(draw):
    out = {}
    for m in MARKETS:
        bid = draw(st.integers(5, 90))
        ask = bid + draw(st.integers(1, 6))
        out[m.yes_token] = BookView(bid * D("0.01"), ask * D("0.01"), D(100), D(100))
    return out


@settings(max_examples=200, deadline=None)
@given(
    books(),
    st.sampled_from(["off", "stay_in_band"]),
    st.integers(-200, 200),
    st.booleans(),
    st.lists(st.sampled_from([0.5, 5.0, 40.0, 70.0, 200.0]), min_size=1, max_size=4),
    st.booleans(),
)
def test_a_reused_decision_equals_the_full_computation(bks, mode, net, acked, steps, move):
    params = StrategyParams(
        quoting=QuotingParams(rewards=mode), risk=RiskParams(jump_threshold=D("0.03"))
    )
    inv = {"Y1": D(net)} if net > 0 else {"N1": D(-net)}
    inp = StrategyInput(now=1000.0, markets=MARKETS, books=bks, inventory=inv)
    first = decide(inp, StrategyMemory(), params)
    memory = first.memory
    orders = resting(first, acked)
    now = 1000.0
    for i, dt in enumerate(steps):
        now += dt
        if move and i == 0:  # a jump in market 1: the cool-off clock starts
            b = bks["Y1"]
            bks = {
                **bks,
                "Y1": replace(b, best_bid=b.best_bid + D("0.04"), best_ask=b.best_ask + D("0.04")),
            }
        aged = {t: replace(b, age_secs=now - 1000.0) for t, b in bks.items()}
        step = replace(inp, now=now, books=aged, open_orders=orders)
        fast = decide(step, memory, params)
        full = decide(step, strip(memory), params)
        assert fast.markets == full.markets
        assert strip(fast.memory) == strip(full.memory)
        memory = fast.memory
        orders = resting(fast, acked, orders)


def test_the_same_inputs_reuse_and_a_changed_book_does_not():
    params = StrategyParams()
    bks = {m.yes_token: BookView(D("0.50"), D("0.54"), D(100), D(100)) for m in MARKETS}
    inp = StrategyInput(now=1000.0, markets=MARKETS, books=bks)
    first = decide(inp, StrategyMemory(), params)
    orders = resting(first, True)
    settled = decide(replace(inp, now=1001.0, open_orders=orders), first.memory, params)
    assert all(m.reuse is not None for m in settled.memory.markets.values())
    again = decide(replace(inp, now=1002.0, open_orders=orders), settled.memory, params)
    assert again.markets == settled.markets
    moved = {**bks, "Y1": BookView(D("0.52"), D("0.56"), D(100), D(100))}
    after = decide(
        replace(inp, now=1003.0, books=moved, open_orders=orders), settled.memory, params
    )
    assert after.markets[0].requote_reason == "mid_bucket"
    assert after.memory.markets["c1"].reuse is None  # re-quoted: never reused next time
    assert isinstance(after.memory.markets["c2"], MarketMemory)


def run_steps(steps, *, jump_at=None, fill_at=None):
    """Decide through ``steps`` (dt, seconds) applying each decision's orders; at ``jump_at`` the
    first market's book moves 4 cents (a price jump), at ``fill_at`` one of its orders is filled.
    Every step asserts the reused decision equals the full computation; returns the verdicts."""
    params = StrategyParams(risk=RiskParams(jump_threshold=D("0.03")))
    bks = {m.yes_token: BookView(D("0.50"), D("0.54"), D(100), D(100)) for m in MARKETS}
    inp = StrategyInput(now=1000.0, markets=MARKETS, books=bks)
    first = decide(inp, StrategyMemory(), params)
    memory, orders, now, verdicts = first.memory, resting(first, True), 1000.0, []
    for i, dt in enumerate(steps):
        now += dt
        if i == jump_at:
            b = bks["Y1"]
            bks = {**bks, "Y1": replace(b, best_bid=D("0.54"), best_ask=D("0.58"))}
        if i == fill_at:
            orders = tuple(o for o in orders if o.order_id != "o0")
        step = replace(inp, now=now, books=bks, open_orders=orders)
        fast = decide(step, memory, params)
        assert fast.markets == decide(step, strip(memory), params).markets, i
        verdicts.append(str(fast.markets[0].verdict))
        memory, orders = fast.memory, resting(fast, True, orders)
    return verdicts


def test_reuse_never_outlives_a_price_jump_cool_off():
    verdicts = run_steps([0.5, 0.5, 5.0, 40.0], jump_at=0)
    assert verdicts == ["paused(price_jump)"] * 3 + ["quoting"]


def test_reuse_never_hides_a_fill():
    run_steps([0.5, 0.5, 0.5, 0.5], fill_at=2)
