"""The strategy thread's side of issue 20's pulls (pmbot.trading.pull_link via Engine.use_pulls):
after a decision the engine arms a guard per market with its acknowledged quotes and their mid
bucket; a ``QuotesPulled`` marks those quotes cancelling (the strategy does not cancel them again)
and settles those orders; a decision that cancels a market's quotes disarms it first and leaves out
the orders pulled meanwhile; a create that would cross a pulled order still being cancelled waits
for that cancel's answer (the decision after it posts it), and the order is not cancelled twice."""

from __future__ import annotations

import queue
import threading
from decimal import Decimal as D

import pytest
from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import (
    Cancel,
    CancelResult,
    Create,
    FeedStatus,
    MarketInfo,
    MarketUpdate,
    OrderAccepted,
    QuotesPulled,
    Replace,
    Tick,
)
from pmbot.state import AppState
from pmbot.strategy.pull_rule import QuoteGuard
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal
from tests.waiting import wait_for

WALLET = "0x" + "cd" * 20
A = MarketInfo("cA", "YA", "NA", slug="a-market")


def book(bid: str, ask: str) -> list[MarketUpdate]:
    """Both tokens' books for a YES touch ``bid``/``ask``."""
    out = []
    for token, b, a in (("YA", D(bid), D(ask)), ("NA", 1 - D(ask), 1 - D(bid))):
        out.append(
            MarketUpdate(
                token,
                "cA",
                b,
                a,
                D(100),
                D(100),
                D("0.01"),
                True,
                1,
                ((b, D(100)),),
                ((a, D(100)),),
            )  # fmt: skip
        )
    return out


class FakeDesk:
    """Records the PullPort calls; ``seen_at_disarm``: the commands queued and the orders' states
    when ``disarm`` was called (it must come before the cancel is sent); ``pulled_meanwhile``: what
    ``disarm`` answers (orders the feed thread pulled after the decision was taken)."""

    def __init__(self, engine=None):
        self.engine = engine
        self.armed: list[list[QuoteGuard]] = []
        self.disarmed: list[tuple[str, ...]] = []
        self.settled: list[tuple[str, ...]] = []
        self.pulled_meanwhile: tuple[str, ...] = ()
        self.seen_at_disarm: list[tuple[int, dict[str, str]]] = []
        self.lock = threading.Lock()

    def arm(self, guards):
        with self.lock:
            self.armed.append(list(guards))

    def disarm(self, markets):
        self.disarmed.append(tuple(markets))
        if self.engine is not None:
            states = {t.key: t.state for t in self.engine.tracker.all()}
            self.seen_at_disarm.append((self.engine.commands.qsize(), states))
        return self.pulled_meanwhile

    def settle(self, order_ids):
        self.settled.append(tuple(order_ids))

    def last_guards(self):
        with self.lock:
            return self.armed[-1] if self.armed else None


@pytest.fixture
def engine(tmp_path):
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    eng = Engine(
        cfg=parse_config(
            {
                "mode": "live",
                "arbitrage": {"enabled": False},
                "state_dir": str(tmp_path),
                "markets": [{"yes_token": "YA", "no_token": "NA"}],
                "risk": {"jump_threshold": "0.5"},  # a big move re-quotes instead of pausing
            }
        ),
        markets=(A,),
        events=(),
        inbound=queue.Queue(),
        commands=queue.Queue(),
        state=AppState(),
        journal=journal,
        metrics=Metrics(CollectorRegistry(), process_collector=False),
        api_key="key",
        funder=WALLET,
        clock=lambda: 1000.0,
    )
    eng.use_pulls(desk := FakeDesk(eng))
    eng.desk_fake = desk  # type: ignore[attr-defined]
    yield eng
    eng.request_stop()
    eng.join(5)
    journal.close()


def loop_once(engine: Engine, *events: object) -> list:
    """One pass of the strategy loop (apply, decide, arm), then every create acknowledged live."""
    engine._apply_batch([FeedStatus("user", True), *events])
    engine._decide(0, engine._marks())
    assert engine.pull_link is not None
    engine.pull_link.arm(engine.decider.memory)
    sent = []
    while not engine.commands.empty():
        sent.append(cmd := engine.commands.get_nowait())
        creates = cmd.orders if isinstance(cmd, Create) else getattr(cmd, "creates", ())
        for o in creates:
            engine._apply(OrderAccepted(o.client_id, "id-" + o.client_id, "live", o))
    return sent


def quote_ids(engine: Engine) -> tuple[str, ...]:
    return tuple(sorted(t.key for t in engine.tracker.all() if t.state == "live"))


def placed_and_armed(engine: Engine) -> QuoteGuard:
    [create] = loop_once(engine, *book("0.50", "0.54"))
    assert isinstance(create, Create) and len(create.orders) == 2
    assert engine.desk_fake.armed[-1] == []  # sent, not yet acknowledged: nothing to guard
    assert loop_once(engine) == []  # the acceptances applied; the next pass arms them
    [guard] = engine.desk_fake.armed[-1]
    return guard


def test_acknowledged_quotes_are_armed_with_their_ids_and_mid_bucket(engine):
    guard = placed_and_armed(engine)
    assert (guard.market, guard.yes_token, guard.bucket) == ("cA", "YA", 52)  # mid 0.52
    assert guard.order_ids == quote_ids(engine) and len(guard.order_ids) == 2
    assert guard.bids and guard.asks  # a YES bid and a NO bid (a YES ask)
    assert max(guard.bids)[0] < D("0.52") < min(guard.asks)[0]
    assert (guard.top_bid, guard.top_ask) == (D("0.50"), D("0.54"))  # the touch decided on


def test_a_pull_marks_the_quotes_cancelling_and_settles_them(engine):
    guard = placed_and_armed(engine)
    sent = loop_once(engine, QuotesPulled("cA", guard.order_ids), *book("0.50", "0.56"))
    assert engine.desk_fake.settled == [guard.order_ids]
    assert all(engine.tracker.get(i).state == "cancelling" for i in guard.order_ids)
    cancelled = [
        i for c in sent if isinstance(c, (Cancel, Replace)) for i in c.cancel_ids
    ]  # the move re-quotes the market, but the pulled orders are not cancelled twice
    assert not set(cancelled) & set(guard.order_ids)
    creates = [o for c in sent for o in getattr(c, "orders", getattr(c, "creates", ()))]
    assert creates  # new quotes for the new mid
    assert loop_once(engine) == []  # the new quotes acknowledged: armed on the next pass
    [new_guard] = engine.desk_fake.armed[-1]
    assert new_guard.bucket == 53  # mid 0.53
    assert not set(new_guard.order_ids) & set(guard.order_ids)


def _crosses_ask(o, ask) -> bool:
    """A YES bid at or above the YES ask that ``ask`` (a BUY NO) is (1 - its NO price)."""
    return o.token_id == "YA" and o.side is ask.side and o.price >= 1 - ask.price


def test_a_create_crossing_a_pulled_order_still_cancelling_waits_for_its_answer(engine):
    guard = placed_and_armed(engine)
    [ask_id] = [
        i for i in guard.order_ids if engine.tracker.get(i).order.token_id == "NA"
    ]  # the YES ask (a BUY NO) the new bid would cross
    ask = engine.tracker.get(ask_id).order
    sent = loop_once(engine, QuotesPulled("cA", guard.order_ids), *book("0.70", "0.74"))
    cancelled = [i for c in sent if isinstance(c, (Cancel, Replace)) for i in c.cancel_ids]
    assert ask_id not in cancelled  # not cancelled a second time
    creates = [o for c in sent for o in getattr(c, "orders", getattr(c, "creates", ()))]
    assert creates and not any(_crosses_ask(o, ask) for o in creates)  # the new ask goes now
    # Another pass while the pull is still in flight: the crossing bid still waits.
    sent = loop_once(engine)
    assert not any(
        _crosses_ask(o, ask) for c in sent for o in getattr(c, "orders", getattr(c, "creates", ()))
    )
    # The pull's answer: the ask is gone, and that pass posts the bid the market still lacks.
    sent = loop_once(engine, CancelResult(canceled=guard.order_ids))
    assert engine.tracker.get(ask_id) is None
    creates = [o for c in sent for o in getattr(c, "orders", getattr(c, "creates", ()))]
    assert any(_crosses_ask(o, ask) for o in creates), sent
    assert not [i for c in sent if isinstance(c, (Cancel, Replace)) for i in c.cancel_ids]


def test_a_decision_cancelling_a_markets_quotes_disarms_it_before_sending(engine):
    guard = placed_and_armed(engine)
    sent = loop_once(engine, *book("0.50", "0.56"))  # no pull: the strategy re-quotes itself
    cancelled = {i for c in sent if isinstance(c, (Cancel, Replace)) for i in c.cancel_ids}
    assert cancelled and cancelled <= set(guard.order_ids)
    assert engine.desk_fake.disarmed == [("cA",)]
    [(queued, states)] = engine.desk_fake.seen_at_disarm
    assert queued == 0  # nothing sent yet
    assert all(states[i] == "live" for i in cancelled)  # not yet marked cancelling


def test_orders_pulled_after_the_decision_are_not_cancelled_again(engine):
    guard = placed_and_armed(engine)
    [ask] = [i for i in guard.order_ids if engine.tracker.get(i).order.token_id == "NA"]
    engine.desk_fake.pulled_meanwhile = (ask,)  # the feed thread took the ask as it decided
    sent = loop_once(engine, *book("0.52", "0.56"))  # the move re-quotes both sides
    cancelled = [i for c in sent if isinstance(c, (Cancel, Replace)) for i in c.cancel_ids]
    assert ask not in cancelled and cancelled  # the bid is the strategy's to cancel
    assert engine.tracker.get(ask).state == "cancelling"  # its QuotesPulled is on its way
    creates = [o for c in sent for o in getattr(c, "orders", getattr(c, "creates", ()))]
    assert {o.token_id for o in creates} == {"YA", "NA"}


def test_the_strategy_loop_arms_after_its_decisions(engine):
    desk = engine.desk_fake
    engine.inbound.put(FeedStatus("user", True))
    for u in book("0.50", "0.54"):
        engine.inbound.put(u)
    engine.start()
    create = engine.commands.get(timeout=10)
    assert isinstance(create, Create)
    for o in create.orders:
        engine.inbound.put(OrderAccepted(o.client_id, "id-" + o.client_id, "live", o))
    ids = tuple(sorted("id-" + o.client_id for o in create.orders))
    guards = wait_for(
        lambda: [g for g in desk.last_guards() or () if g.order_ids == ids], 10, "armed quotes"
    )
    assert guards[0].bucket == 52
    engine.request_stop()
    engine.join(10)
    assert desk.last_guards() == []  # stopping disarms everything


class FakePresigner:
    """Counts the idle work; ``work`` items say whether each call found something to sign."""

    def __init__(self, work):
        self.work = list(work)
        self.calls = 0
        self.offers: list[list] = []

    def offer(self, candidates):
        self.offers.append(list(candidates))

    def work_one(self):
        self.calls += 1
        return self.work.pop(0) if self.work else False


def test_resting_quotes_offer_their_neighbours_and_the_idle_loop_signs_them(engine):
    presign = FakePresigner([True, True, False])
    engine.use_pulls(engine.desk_fake, presign, 1)
    placed_and_armed(engine)
    [offer] = presign.offers[-1:]
    assert len(offer) == 6  # two quotes, each at its price and one tick either side
    assert sorted({o.token_id for o in offer}) == ["NA", "YA"]
    assert engine._next_batch(0.0) == []  # nothing waiting: signs until no work is left
    assert presign.calls == 3
    presign.work = [True] * 5
    engine.inbound.put(Tick(1.0))
    assert engine._next_batch(0.0) == [Tick(1.0)]  # something waits: no signing first
    assert presign.calls == 3


def test_stopping_quoting_withdraws_the_offer(engine):
    presign = FakePresigner([])
    engine.use_pulls(engine.desk_fake, presign, 2)
    placed_and_armed(engine)
    assert presign.offers[-1]
    engine.pull_link.arm(engine.decider.memory, quoting=False)  # type: ignore[union-attr]
    assert presign.offers[-1] == [] and engine.desk_fake.armed[-1] == []
