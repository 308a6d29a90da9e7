"""UserFeed + FillTracker + Inventory + Journal against the bundled exchange over loopback.

Background traders are off; a second wallet ("counterparty") trades against the bot, so every fill
is known. A tiny stand-in for the strategy thread drains the feed's queue and applies the rules the
lead's engine follows: journal first, then FillTracker -> Inventory.
"""

import queue
import random
import threading
import time
from decimal import Decimal as D

import coincurve
import pytest

from pmbot.model import (
    FeedStatus,
    MarketInfo,
    OpenOrdersSnapshot,
    OrderType,
    Side,
    TradeEvent,
    TradeStatus,
)
from pmbot.trading.fills import FillTracker
from pmbot.trading.inventory import Inventory
from pmbot.trading.journal import Journal, replay
from pmbot.trading.position_check import PositionReconciler
from pmbot.venue.auth import derive_api_creds
from pmbot.venue.positions import fetch_positions
from pmbot.venue.rest import ClobRest
from pmbot.venue.signer import OrderSigner, order_payload
from pmbot.venue.user_ws import RestCatchUp, UserFeed
from tests.integration.sim_support import start_sim


class MaxBackoff:
    """rng whose jitter always picks the cap: a reconnect delay long enough to trade in the gap."""

    def uniform(self, a, b):
        return b


class Wallet:
    def __init__(self, sim, seed):
        key = "0x" + coincurve.PrivateKey(random.Random(seed).randbytes(32)).to_hex()
        self.signer = OrderSigner(key)
        self.address = self.signer.address
        self.creds = derive_api_creds(sim.urls["clob_url"], key, 137)
        self.rest = ClobRest(
            sim.urls["clob_url"], creds=self.creds, address=self.address, timeout=(2.0, 5.0)
        )

    def order(self, market, token, side, price, size, *, order_type=OrderType.GTC, post_only=False):
        signed = self.signer.build(
            token, side, D(price), D(size), neg_risk=market.neg_risk, tick=market.tick
        )
        res = self.rest.post_order(order_payload(signed, self.creds.api_key, order_type, post_only))
        assert res.get("success", True), res
        return signed.order_id


class MiniEngine:
    """Drains the feed queue on the test thread: journal first, then tracker and inventory."""

    def __init__(self, api_key, markets, journal=None):
        self.tracker = FillTracker(api_key)
        self.inventory = Inventory()
        self.markets = markets
        self.journal = journal
        self.changes = []
        self.statuses = []
        self.snapshots = 0

    def handle(self, msg):
        if isinstance(msg, TradeEvent):
            for ch in self.tracker.on_trade(msg, self.markets):
                m = self.markets.get(ch.fill.market)
                if ch.kind == "new":
                    if self.journal is None or self.journal.record_fill(ch.fill):
                        self.inventory.apply_fill(ch.fill, m)
                elif ch.kind == "status":
                    if self.journal:
                        self.journal.update_fill_status(
                            ch.fill.trade_id, ch.fill.order_id, ch.fill.status
                        )
                    self.inventory.update_status(ch.fill)
                else:
                    if self.journal:
                        self.journal.update_fill_status(
                            ch.fill.trade_id, ch.fill.order_id, ch.fill.status
                        )
                    self.inventory.reverse_fill(ch.fill, m)
                self.changes.append(ch)
        elif isinstance(msg, FeedStatus):
            self.statuses.append(msg)
        elif isinstance(msg, OpenOrdersSnapshot):
            self.snapshots += 1

    def drain_until(self, out, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.handle(out.get(timeout=0.05))
            except queue.Empty:
                pass
            if cond():
                # take whatever else is already queued
                while True:
                    try:
                        self.handle(out.get_nowait())
                    except queue.Empty:
                        return True
        return False

    def all_confirmed(self, n):
        fills = [f for f in self.tracker.fills() if f.status is not TradeStatus.FAILED]
        return len(fills) >= n and all(f.status is TradeStatus.CONFIRMED for f in fills)


@pytest.fixture
def sim():
    server = start_sim()
    yield server
    server.stop()


@pytest.fixture
def parties(sim):
    bot, cp = Wallet(sim, 11), Wallet(sim, 22)
    m = next(
        m
        for m in sim.exchange.markets.values()
        if not m.neg_risk and str(m.tick) == "0.01" and m.fee_rate > 0
    )
    info = MarketInfo(
        m.condition_id,
        m.yes_token,
        m.no_token,
        tick=m.tick,
        min_size=m.min_size,
        fee_rate=m.fee_rate,
    )
    sim.exchange.set_position(
        cp.address, m.yes_token, D(1000)
    )  # the counterparty has shares to sell
    yield bot, cp, m, info
    bot.rest.close()
    cp.rest.close()


def make_feed(sim, bot, info, out, stop, *, since, rng=None, backoff=0.05):
    catch_up = RestCatchUp(bot.rest.open_orders, bot.rest.trades, since=since)
    feed = UserFeed(
        sim.urls["user_ws_url"],
        bot.creds,
        [info.condition_id],
        out,
        stop=stop,
        reconcile=catch_up,
        ping_interval=1.0,
        rng=rng or random.Random(3),
        backoff_initial=backoff,
        backoff_max=backoff,
    )
    return feed, catch_up


@pytest.fixture
def feeds():
    made = []
    yield made
    for feed, stop in made:
        stop.set()
        feed.close()
        feed.join(5)
        assert not feed._runner.alive


def ledger_positions(sim, address):
    return {t: D(s) for t, s in sim.exchange.ledger(address)["positions"].items()}


def inventory_positions(inv, tokens):
    return {t: inv.shares(t) for t in tokens if inv.shares(t) != 0}


def trade_all_kinds(bot, cp, m, info):
    """Bot as maker (NORMAL), as taker, and as the maker of a MINT; returns the number of own
    fills."""
    bot.order(info, m.yes_token, Side.BUY, "0.40", "10", post_only=True)
    cp.order(
        info, m.yes_token, Side.SELL, "0.40", "5", order_type=OrderType.FAK
    )  # bot maker BUY 5 YES
    cp.order(
        info, m.yes_token, Side.SELL, "0.38", "5", order_type=OrderType.FAK
    )  # rest of it (maker price 0.40)
    cp.order(info, m.yes_token, Side.SELL, "0.45", "8", post_only=True)
    bot.order(
        info, m.yes_token, Side.BUY, "0.45", "8", order_type=OrderType.FAK
    )  # bot taker BUY 8 @0.45, pays fee
    bot.order(info, m.no_token, Side.BUY, "0.50", "5", post_only=True)
    cp.order(
        info, m.yes_token, Side.BUY, "0.50", "5", order_type=OrderType.FAK
    )  # MINT: bot maker BUY 5 NO
    return 4


def test_real_fills_arrive_once_and_inventory_equals_the_exchange_ledger(sim, parties, feeds):
    bot, cp, m, info = parties
    out, stop = queue.Queue(), threading.Event()
    feed, _ = make_feed(sim, bot, info, out, stop, since=time.time())
    feeds.append((feed, stop))
    engine = MiniEngine(bot.creds.api_key, {info.condition_id: info})
    feed.start()
    assert engine.drain_until(out, lambda: feed.connected and engine.snapshots >= 1)
    start_collateral = D(sim.exchange.ledger(bot.address)["collateral"])

    n = trade_all_kinds(bot, cp, m, info)
    assert engine.drain_until(out, lambda: engine.all_confirmed(n)), engine.tracker.fills()

    news = [c.fill for c in engine.changes if c.kind == "new"]
    assert len(news) == n and len({(f.trade_id, f.order_id) for f in news}) == n
    kinds = sorted((f.is_maker, f.token_id == m.yes_token, f.side.value) for f in news)
    assert kinds == [
        (False, True, "BUY"),
        (True, False, "BUY"),
        (True, True, "BUY"),
        (True, True, "BUY"),
    ]
    assert ledger_positions(sim, bot.address) == inventory_positions(
        engine.inventory, [m.yes_token, m.no_token]
    )
    assert engine.inventory.shares(m.yes_token) == 18 and engine.inventory.shares(m.no_token) == 5
    taker = next(f for f in news if not f.is_maker)
    assert taker.fee_usd == (8 * info.fee_rate * D("0.45") * D("0.55")).quantize(D("0.00001")) > 0
    # collateral moved exactly as the inventory's cash flow says (prices, notional and fee)
    assert (
        D(sim.exchange.ledger(bot.address)["collateral"]) - start_collateral
        == engine.inventory.cash_flow()
    )
    assert any(isinstance(s, FeedStatus) and s.up for s in engine.statuses)
    # and the Data API agrees with the inventory, so the reconciler has nothing to do
    rows = fetch_positions(sim.urls["data_api_url"], bot.address)
    local = {t: engine.inventory.shares(t) for t in (m.yes_token, m.no_token)}
    assert PositionReconciler(settlement_lag_secs=0).compare(local, rows, now=0) == []


def test_user_socket_dropped_during_fills_recovers_every_fill_exactly_once(sim, parties, feeds):
    bot, cp, m, info = parties
    out, stop = queue.Queue(), threading.Event()
    feed, catch_up = make_feed(
        sim, bot, info, out, stop, since=time.time(), rng=MaxBackoff(), backoff=0.8
    )
    feeds.append((feed, stop))
    engine = MiniEngine(bot.creds.api_key, {info.condition_id: info})
    feed.start()
    assert engine.drain_until(out, lambda: feed.connected and engine.snapshots >= 1)

    bot.order(info, m.yes_token, Side.BUY, "0.30", "50", post_only=True)
    expected = 0
    for _round in range(3):
        cp.order(info, m.yes_token, Side.SELL, "0.30", "5", order_type=OrderType.FAK)  # seen live
        expected += 1
        assert engine.drain_until(out, lambda n=expected: len(engine.tracker) >= n)
        sim.faults.ws_drop("user")
        assert engine.drain_until(out, lambda: not feed.connected, timeout=5)
        for _ in range(2):  # while disconnected: only the REST catch-up can bring these
            cp.order(info, m.yes_token, Side.SELL, "0.30", "5", order_type=OrderType.FAK)
            expected += 1
        assert not feed.connected
        assert engine.drain_until(
            out, lambda n=expected: feed.connected and len(engine.tracker) >= n, timeout=10
        )

    assert engine.drain_until(out, lambda: engine.all_confirmed(expected), timeout=10)
    news = [c.fill for c in engine.changes if c.kind == "new"]
    assert len(news) == expected == 9
    assert len({(f.trade_id, f.order_id) for f in news}) == expected
    venue_trades = {t["id"] for t in bot.rest.trades()}
    assert {f.trade_id for f in news} == venue_trades
    assert (
        engine.inventory.shares(m.yes_token)
        == 45
        == ledger_positions(sim, bot.address)[m.yes_token]
    )
    assert feed.reconnects >= 3 and feed.reconciles >= 4


def test_restart_mid_run_continues_inventory_and_pnl_from_the_journal(
    sim, parties, feeds, tmp_path
):
    bot, cp, m, info = parties
    markets = {info.condition_id: info}
    state_dir = str(tmp_path / "state")
    started = time.time()

    # run 1: buy 10 as maker, sell 5 as maker, then stop
    journal = Journal(state_dir, sim.urls["clob_url"], bot.address)
    out, stop = queue.Queue(), threading.Event()
    feed, _ = make_feed(sim, bot, info, out, stop, since=started)
    feeds.append((feed, stop))
    engine = MiniEngine(bot.creds.api_key, markets, journal)
    feed.start()
    assert engine.drain_until(out, lambda: feed.connected and engine.snapshots >= 1)
    bot.order(info, m.yes_token, Side.BUY, "0.40", "10", post_only=True)
    cp.order(info, m.yes_token, Side.SELL, "0.40", "10", order_type=OrderType.FAK)
    assert engine.drain_until(out, lambda: engine.all_confirmed(1))
    bot.order(info, m.yes_token, Side.SELL, "0.60", "5", post_only=True)
    cp.order(info, m.yes_token, Side.BUY, "0.60", "5", order_type=OrderType.FAK)
    assert engine.drain_until(out, lambda: engine.all_confirmed(2))
    before = engine.inventory.pnl({m.yes_token: D("0.5")})
    assert before.realized == D("1.00")  # 5 * (0.60 - 0.40)
    stop.set()
    feed.close()
    feed.join(5)
    journal.close()

    # while the bot is down, it trades again (its resting order is filled)
    bot.order(info, m.yes_token, Side.BUY, "0.35", "5", post_only=True)
    cp.order(info, m.yes_token, Side.SELL, "0.35", "5", order_type=OrderType.FAK)

    # run 2: recover from the journal, catch up from the last journaled trade
    journal = Journal(state_dir, sim.urls["clob_url"], bot.address)
    state = journal.load()
    engine2 = MiniEngine(bot.creds.api_key, markets, journal)
    replay(state, engine2.inventory, engine2.tracker)
    assert engine2.inventory.snapshot() == engine.inventory.snapshot()
    out2, stop2 = queue.Queue(), threading.Event()
    feed2, _ = make_feed(sim, bot, info, out2, stop2, since=state.last_trade_ts)
    feeds.append((feed2, stop2))
    feed2.start()
    assert engine2.drain_until(out2, lambda: engine2.all_confirmed(3))
    assert [c.kind for c in engine2.changes if c.kind == "new"] == [
        "new"
    ]  # only the trade made while down
    assert (
        engine2.inventory.shares(m.yes_token)
        == 10
        == ledger_positions(sim, bot.address)[m.yes_token]
    )
    after = engine2.inventory.pnl({m.yes_token: D("0.5")})
    assert after.realized == before.realized and after.fees == before.fees
    # 5 @ 0.40 + 5 @ 0.35 = 3.75 for 10 shares
    assert engine2.inventory.avg_cost(m.yes_token) == D("0.375")
    journal.close()
