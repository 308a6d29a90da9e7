"""The strategy thread: the single writer of the bot's state.

Loop: block on the inbound queue, drain what else is waiting, keep only the latest ``MarketUpdate``
per token (coalescing under load, so the strategy never falls behind the feed), apply every other
message in order through the dispatch table (``handlers.Handlers.table``), then ask the pure
strategy what to do (``decisions.Decider``) and put the resulting commands on the executor's queue.
After each batch it publishes a fresh ``StateView`` and the metrics (``publishing.Publisher``).
Start-up (journal restore, position seed, taking over resting orders) is ``startup``.

Fills are journalled before they change the in-memory inventory, so a crash never loses an
acknowledged fill. Nothing here talks to the network except through the queues.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from pmbot.config import Config
from pmbot.control.desk import OperatorDesk
from pmbot.model import (
    CancelAll,
    EventInfo,
    MarketInfo,
    MarketUpdate,
    NewOrder,
    OpenOrder,
    PositionsSnapshot,
)
from pmbot.onchain.desk import IntentSink
from pmbot.strategy.decide import StrategyInput
from pmbot.strategy.params import StrategyParams
from pmbot.strategy.views import BookView, DesiredOrder
from pmbot.trading.arbitrage_desk import ArbitrageDesk
from pmbot.trading.context import Books, MarketIndex, Marks, VenueStatus
from pmbot.trading.decisions import Decider, crosses
from pmbot.trading.fills import FillTracker
from pmbot.trading.handlers import Handler, Handlers
from pmbot.trading.holdings import Holdings
from pmbot.trading.inventory import Inventory
from pmbot.trading.onchain_link import OnchainLink, OnchainMetricsPort
from pmbot.trading.operator_surface import OperatorSurface
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import (
    Commands,
    Inbound,
    PresignPort,
    PullPort,
    StatePublisher,
    TradingJournal,
    TradingMetrics,
)
from pmbot.trading.publishing import Publisher
from pmbot.trading.pull_link import PullLink
from pmbot.trading.startup import restore_from_journal, seed_positions, take_over_open_orders

log = logging.getLogger(__name__)

_STOP = object()
MAX_BATCH = 5000
TICK_SECS = 1.0
DONE_ORDER_MEMORY_SECS = 600.0  # how long finished order ids are remembered (late events ignored)

__all__ = ["Engine", "MAX_BATCH", "crosses"]


class Engine:
    def __init__(
        self,
        *,
        cfg: Config,
        markets: tuple[MarketInfo, ...],
        events: tuple[EventInfo, ...],
        inbound: Inbound,
        commands: Commands,
        state: StatePublisher,
        journal: TradingJournal,
        metrics: TradingMetrics,
        api_key: str,
        funder: str,
        clock: Callable[[], float] = time.time,
        positions_source: Callable[[], PositionsSnapshot] | None = None,
        onchain: IntentSink | None = None,
        onchain_metrics: OnchainMetricsPort | None = None,
    ) -> None:
        self.cfg, self.inbound, self.commands, self.clock = cfg, inbound, commands, clock
        self.journal, self.metrics, self.api_key, self.funder = journal, metrics, api_key, funder
        self.params = StrategyParams.from_sections(cfg.strategy, cfg.risk, cfg.arbitrage)
        self.index = MarketIndex.build(markets, events)
        self.market_by_cid, self.market_by_token = self.index.by_cid, self.index.by_token
        self.status = VenueStatus()
        self.tracker = OrderTracker()
        self.inventory = Inventory()
        self.fills = FillTracker(api_key, own_order_ids=self.tracker.live_ids)
        self._books = Books()
        self.books, self.book_ts = self._books.latest, self._books.applied_ts
        self._positions_source = positions_source
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._quoting_enabled = True
        self._last_loop = time.monotonic()
        self._wire(state, float(cfg.feed.settlement_lag_secs))
        self.onchain = self._wire_onchain(onchain, onchain_metrics)
        self.pull_link: PullLink | None = None
        self._idle_work: Callable[[], bool] | None = None
        self._restored = restore_from_journal(journal, self.inventory, self.fills)
        self.status.fill_count = self._restored.fill_count
        self.status.last_trade_ts = self._restored.last_trade_ts

    def _wire(self, state: StatePublisher, settlement_lag_secs: float) -> None:
        """Build the rooms of the thread; each gets only the collaborators it uses."""
        tracker, inventory, commands = self.tracker, self.inventory, self.commands
        status, journal, metrics, clock = self.status, self.journal, self.metrics, self.clock
        self.decider = Decider(
            params=self.params,
            index=self.index,
            books=self._books,
            status=status,
            tracker=tracker,
            inventory=inventory,
            commands=commands,
            clock=clock,
        )
        self.desk = self._wire_control()
        self.arb = ArbitrageDesk(
            tracker=tracker,
            inventory=inventory,
            journal=journal,
            metrics=metrics,
            commands=commands,
            params=self.params,
            new_order=self._new_order,
            book_views=self._book_views,
        )
        holdings = Holdings(
            index=self.index,
            fills=self.fills,
            inventory=inventory,
            baskets=self.arb.baskets,
            status=status,
            journal=journal,
            metrics=metrics,
            clock=clock,
            settlement_lag_secs=settlement_lag_secs,
        )
        self.handlers = Handlers(
            tracker=tracker,
            baskets=self.arb.baskets,
            holdings=holdings,
            status=status,
            journal=journal,
            metrics=metrics,
            commands=commands,
            clock=clock,
            operator=self.desk.on_command,
        )
        self._dispatch: dict[type, Handler] = self.handlers.table()
        self.publisher = Publisher(
            index=self.index,
            books=self._books,
            status=status,
            tracker=tracker,
            inventory=inventory,
            state=state,
            metrics=metrics,
        )

    def _wire_control(self) -> OperatorDesk:
        """The operator's desk (``ctl`` and SIGHUP reload); its pauses come from the journal."""
        surface = OperatorSurface(
            mode=self.cfg.mode,
            funder=self.funder,
            index=self.index,
            books=self._books,
            tracker=self.tracker,
            inventory=self.inventory,
            decider=self.decider,
            commands=self.commands,
            clock=self.clock,
            apply_config=self._apply_config,
        )
        return OperatorDesk(surface, self.journal, self.clock)

    def _apply_config(self, new: Config) -> None:
        """A reload's runtime-changeable sections in force from the next decision on."""
        self.cfg = self.cfg.replace(
            strategy=new.strategy,
            risk=new.risk,
            arbitrage=new.arbitrage,
            log_level=new.log_level,
            markets=new.markets,
        )
        self.params = StrategyParams.from_sections(new.strategy, new.risk, new.arbitrage)
        self.decider.params = self.arb.params = self.params
        logging.getLogger().setLevel(new.log_level)

    def _wire_onchain(
        self, sink: IntentSink | None, metrics: OnchainMetricsPort | None
    ) -> OnchainLink | None:
        """Merges and redemptions (``onchain.enabled``): none without a worker to send them to."""
        if sink is None:
            return None
        link = OnchainLink(
            sink=sink,
            merge_min_usd=self.cfg.onchain.merge_min_usd,
            index=self.index,
            inventory=self.inventory,
            tracker=self.tracker,
            holdings=self.handlers.holdings,
            journal=self.journal,
            metrics=metrics,
            clock=self.clock,
        )
        self._dispatch.update(link.table())
        self.handlers.holdings.skip_tokens = link.pending_tokens
        self.arb.on_hedged_set = link.on_hedged_set
        return link

    def use_pulls(
        self, pulls: PullPort, presigner: PresignPort | None = None, ticks: int = 0
    ) -> None:
        """Before the thread starts (issue 20): stale quotes are pulled on the market-feed thread,
        guarded after each decision; with ``presigner``, the resting quotes' neighbours within
        ``ticks`` are signed ahead while this thread is idle."""
        link = PullLink(pulls, self.index, self.tracker, self._books, self.clock)
        self._dispatch.update(link.table())
        self.decider.before_cancel = link.disarm
        if presigner is not None and ticks > 0:
            link.presign, link.presign_ticks = presigner, ticks
            self._idle_work = presigner.work_one
        self.pull_link = link

    @property
    def markets(self) -> tuple[MarketInfo, ...]:
        """The quoted markets (a reload may change them)."""
        return self.index.markets

    @property
    def events(self) -> tuple[EventInfo, ...]:
        return self.index.events

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="strategy", daemon=False)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop deciding. The runner then cancels everything through the executor."""
        self._quoting_enabled = False
        if self.pull_link is not None:
            self.pull_link.disarm_all()
        self._stop.set()
        self.inbound.put(_STOP)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return (
            self._thread is not None
            and self._thread.is_alive()
            and time.monotonic() - self._last_loop < 10.0
        )

    # ------------------------------------------------------------------ start-up (no thread yet)

    def seed_positions(self) -> int:
        """Seed inventory from the venue (Data API) unless the journal already had history. The
        trades the seed already holds are not booked again when a catch-up replays them."""
        seeded, taken_ts = seed_positions(
            self._positions_source, self._restored, self.index, self.journal, self.inventory
        )
        self.handlers.holdings.seeded_before = float(math.floor(taken_ts))
        return seeded

    def catch_up_since(self) -> float:
        """Where the user channel's first REST trades catch-up starts: the journal's newest fill on
        a restart, else now (the Data API seed already holds older history)."""
        return self.status.last_trade_ts or self.clock()

    def take_over_open_orders(self, orders: tuple[OpenOrder, ...], policy: str) -> list[str]:
        """Before quoting: ``adopt`` tracks the orders already resting as live; ``cancel`` returns
        their ids for the caller to cancel before the first quote."""
        return take_over_open_orders(self.tracker, orders, policy, self.clock())

    # ------------------------------------------------------------------ after the thread stopped

    def open_order_ids(self) -> list[str]:
        """The tracker's orders that may rest (the kill switch's fallback when it cannot list the
        venue). Call only once the strategy thread has stopped."""
        return self.tracker.open_order_ids()

    def clear_order_metrics(self) -> None:
        """After the kill switch verified that nothing rests, the resting-order gauges read zero."""
        self.publisher.clear_order_metrics()

    # ------------------------------------------------------------------ loop

    def _run(self) -> None:
        log.info(
            "strategy thread started (%s, %d markets)", self.params.quoting.name, len(self.markets)
        )
        next_tick = time.monotonic() + TICK_SECS
        while True:
            batch = self._next_batch(max(0.0, next_tick - time.monotonic()))
            if any(ev is _STOP for ev in batch) or self._stop.is_set():
                break
            try:
                origin_ns = self._apply_batch(batch)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECS
                    self.tracker.forget_done_before(self.clock() - DONE_ORDER_MEMORY_SECS)
                marks = self._marks()
                self._decide(origin_ns, marks)
                if self.pull_link is not None:  # nothing stays guarded once quoting stopped
                    self.pull_link.arm(self.decider.memory, quoting=self._quoting_enabled)
                self.publisher.publish(
                    marks, self.decider.last, quoting=self._quoting_enabled, now=self.clock()
                )
            except Exception:
                # A bug must not leave orders unmanaged: cancel everything and stop quoting (fail
                # closed). The thread keeps running so fills and order events are still recorded.
                log.exception("strategy thread error: cancelling all and halting quoting")
                if self._quoting_enabled:
                    self._quoting_enabled = False
                    self.commands.put(CancelAll(reason="strategy error"))
        if self.pull_link is not None:  # an arm racing request_stop's disarm is undone here
            self.pull_link.disarm_all()
        log.info("strategy thread stopped")

    def _next_batch(self, timeout: float) -> list[Any]:
        """Block up to ``timeout`` for the first message, then take whatever else is waiting.
        While nothing waits, sign ahead one order at a time (the presigner of ``use_pulls``)."""
        work = self._idle_work
        while work is not None and self.inbound.empty() and work():
            pass
        try:
            batch = [self.inbound.get(timeout=timeout)]
        except queue.Empty:
            batch = []
        self._last_loop = time.monotonic()
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.inbound.get_nowait())
            except queue.Empty:
                break
        return batch

    def _apply_batch(self, batch: list[Any]) -> int:
        """Apply a batch; market updates coalesced to the newest per token. Returns the newest
        update's receive time (tick-to-order origin), 0 without one."""
        latest: dict[str, MarketUpdate] = {}
        for ev in batch:
            self.status.events_processed += 1
            if isinstance(ev, MarketUpdate):
                latest[ev.token_id] = ev  # coalesce: only the newest state per token matters
            else:
                self._apply(ev)
        if self.onchain is not None:
            for upd in latest.values():
                self.onchain.on_book_reason(upd.market, upd.reason)
        return self._books.apply(latest.values(), self.clock())

    def _apply(self, ev: object) -> None:
        handler = self._dispatch.get(type(ev))
        if handler is None:
            log.warning("strategy thread: ignoring unexpected %s", type(ev).__name__)
        else:
            handler(ev)

    # ------------------------------------------------------------------ deciding

    def _marks(self) -> Marks:
        return self.decider.marks()

    def _strategy_input(self, marks: Marks) -> StrategyInput:
        return self.decider.strategy_input(
            marks, self.arb.baskets.in_flight_usd(), self.desk.pauses
        )

    def _decide(self, origin_ns: int, marks: Marks) -> None:
        if not self._quoting_enabled:
            return
        decision = self.decider.decide(self._strategy_input(marks))
        self.decider.emit(decision, origin_ns, self.arb)
        if self.onchain is not None:
            self.onchain.tick()

    def _new_order(self, d: DesiredOrder, origin_ns: int) -> NewOrder:
        return self.decider.new_order(d, origin_ns)

    def _book_views(self, now: float) -> dict[str, BookView]:
        return self._books.views(now)
