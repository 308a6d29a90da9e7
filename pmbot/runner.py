"""BotRunner, the composition root (with ``pmbot.runner_modes``): builds every part for the
configured mode, wires the venue objects into the strategy thread and the executor, runs until a
stop signal, shuts down in order.

Threads (all named, all joined): ``market-ws-N`` (one per shard), ``user-ws``, ``strategy``,
``executor`` (the command loop) with ``exec-cancels`` and ``exec-creates`` (the two lanes),
``heartbeat``, ``reconcile`` (the one open-orders poller), ``positions``, ``metrics-http``,
``control`` and ``reload`` (``pmbot.runner_control``), in sim mode the simulator's own threads.
The main thread waits for the stop event, pings the systemd watchdog while healthy, logs a summary.

Start-up order: metrics, (local exchange), wallet lock, REST, markets, journal, strategy thread's
engine, executor; then the orders this key already has resting are adopted by the engine's order
tracker or cancelled (``execution.orphan_policy``) *before* the first quote; then the threads start,
the operator's control socket and SIGHUP reload last (they are stopped first).
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import shutil
import signal
import tempfile
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pmbot import __version__, sdnotify
from pmbot.config import Config
from pmbot.errors import FatalError
from pmbot.execution.commands import StrategyCommands
from pmbot.lockfile import WalletLock
from pmbot.model import BotCommand, EventInfo, MarketInfo
from pmbot.runner_control import ControlPlane, ReloadFeeds, ReloadSource, start_control_plane
from pmbot.runner_modes import (
    AddedMarkets,
    LocalExchange,
    exec_url,
    resolve_markets,
    start_local_exchange,
    wire_market_feed,
)
from pmbot.runner_parts import (
    OnchainParts,
    build_engine,
    build_executor,
    build_feeds,
    build_onchain,
    build_rest,
    check_venue_at_start,
    kill_switch,
    startup_failure,
    summary_line,
)
from pmbot.state import AppState

if TYPE_CHECKING:
    from pmbot.execution.executor import Executor
    from pmbot.metrics import Metrics
    from pmbot.trading.engine import Engine
    from pmbot.trading.journal import Journal
    from pmbot.venue.rest import ClobRest
    from pmbot.venue.signer import OrderSigner

log = logging.getLogger("pmbot.runner")


def venue_name(clob_url: str) -> str:
    return urlparse(clob_url).netloc.replace(":", "_") or "venue"


def generated_key() -> str:
    """A throw-away key for sim and paper mode: never funded, never leaves the machine."""
    return "0x" + secrets.token_hex(32)


class BotRunner:
    def __init__(
        self, cfg: Config, *, private_key: str | None, reload_from: ReloadSource | None = None
    ) -> None:
        self.cfg = self.loaded_cfg = cfg  # loaded_cfg: as read from the file, what reloads diff
        self.reload_from = reload_from or ReloadSource()
        self.control: ControlPlane | None = None  # the ctl socket and SIGHUP reload
        self._key = private_key
        self.stop = threading.Event()
        self.state = AppState()
        self._sigint_count = 0
        self._started: list = []  # (name, closer) in start order, closed in reverse
        self.local: LocalExchange | None = None
        self.sim: Any = None  # the local exchange's SimServer (sim and paper mode)
        self.metrics: Metrics | None = None
        self.executor: Executor | None = None
        self.engine: Engine | None = None
        self.market_feed: Any = None
        self.user_feed: Any = None
        self.positions_poller: Any = None
        self.lock: WalletLock | None = None
        self.journal: Journal | None = None
        self.onchain: OnchainParts | None = None
        self.exec_stop = threading.Event()
        self.feed_stop = threading.Event()
        self._exit_code: int | None = None

    # ------------------------------------------------------------------ signals

    def _install_signals(self) -> None:
        def on_term(signum: int, _frame: FrameType | None) -> None:
            if signum == signal.SIGINT:
                self._sigint_count += 1
                if self._sigint_count >= 2:
                    log.error("second SIGINT: forced exit without verifying cancels")
                    os._exit(130)
            log.info(
                "signal %s received: stopping (cancel all, verify, exit)",
                signal.Signals(signum).name,
            )
            self.stop.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)

    # ------------------------------------------------------------------ run

    def run(self) -> int:
        self._install_signals()
        try:
            self._start()
            self._start_control()  # the ctl socket and SIGHUP reload, before READY=1
        except Exception as exc:  # noqa: BLE001 - one line and an exit code (issue 14 item 3)
            self._teardown(cancel=self.executor is not None)
            return startup_failure(exc, self.cfg.log_level)
        sdnotify.notify("READY=1\nSTATUS=quoting")
        watchdog = sdnotify.watchdog_interval_secs()
        ping_every = max(0.5, watchdog / 2) if watchdog else 1.0
        next_summary = time.monotonic() + float(self.cfg.metrics.summary_secs)
        while not self.stop.wait(ping_every):
            healthy, why = self.health()
            if watchdog and healthy:
                sdnotify.notify("WATCHDOG=1")
            elif watchdog:
                log.warning("unhealthy, withholding the watchdog ping: %s", why)
            if time.monotonic() >= next_summary:
                next_summary = time.monotonic() + float(self.cfg.metrics.summary_secs)
                log.info("summary: %s", self.summary())
        sdnotify.notify("STOPPING=1")
        return self._teardown(cancel=True)

    # ------------------------------------------------------------------ health and summary

    def health(self) -> tuple[bool, str]:
        view = self.state.view()
        if self.engine is None or not self.engine.alive():
            return False, "strategy thread not running"
        if self.executor is None or not self.executor.alive():
            return False, "executor not running"
        if not view.market_feed_up:
            return False, "market feed down"
        if self.cfg.heartbeat_enabled and self.executor.heartbeat_age() > 3 * float(
            self.cfg.execution.heartbeat_secs
        ):
            return False, "heartbeats failing"
        return True, ""

    def summary(self) -> str:
        return summary_line(self.cfg.mode, self.state.view(), self.executor)

    # ------------------------------------------------------------------ start-up

    def _start_metrics(self) -> Metrics:
        from pmbot.metrics import Metrics

        cfg = self.cfg
        metrics = Metrics()
        self.metrics = metrics
        metrics.set_build_info(__version__, cfg.mode)
        metrics.set_limits(
            position_limit_usd=cfg.risk.max_position_size_usd,
            imbalance_limit_usd=cfg.risk.max_inventory_imbalance_usd,
        )
        if cfg.metrics.enabled:
            server = metrics.serve(cfg.metrics.host, cfg.metrics.port)
            self._started.append(("metrics", server.shutdown))
            log.info("metrics on http://%s:%s/metrics", cfg.metrics.host, server.port)
        return metrics

    def _start_local_exchange(self) -> None:
        local, self.cfg = start_local_exchange(self.cfg)
        self.local, self.sim = local, local.sim
        self._started.append(("sim", local.sim.stop))
        if local.chain is not None:  # sim mode with onchain.enabled (issue 18)
            self._started.append(("sim chain", local.chain.stop))
        if local.paper_mirror is not None:
            self._started.append(("paper-mirror", local.paper_mirror.close))

    def _state_dir(self) -> str:
        if self._key is not None:
            return self.cfg.resolved_state_dir
        # A generated throw-away wallet (sim and paper): its journal can never be reopened, so keep
        # it in a temporary directory removed at exit instead of piling files up in state_dir.
        state_dir = tempfile.mkdtemp(prefix=f"pmbot-{self.cfg.mode}-")
        self._started.append(
            ("throw-away state", lambda: shutil.rmtree(state_dir, ignore_errors=True))
        )
        log.info(
            "%s mode with a generated wallet: journal in %s (removed at exit)",
            self.cfg.mode,
            state_dir,
        )
        return state_dir

    def _lock_wallet(self, state_dir: str, funder: str) -> None:
        self.lock = WalletLock(state_dir, funder)
        self.lock.acquire()
        self._started.append(("lock", self.lock.release))

    def _open_journal(self, state_dir: str, funder: str) -> Journal:
        from pmbot.trading.journal import Journal

        venue = venue_name(exec_url(self.cfg, self.local, "clob_url"))
        journal = Journal(state_dir, venue, funder)
        self.journal = journal
        self._started.append(("journal", journal.close))
        return journal

    def _signer(self, key: str) -> OrderSigner:
        from pmbot.venue.signer import OrderSigner

        wallet = self.cfg.wallet
        return OrderSigner(
            key,
            chain_id=self.cfg.venue.chain_id,
            signature_type=wallet.signature_type,
            funder=wallet.funder or None,
            deposit_signature=wallet.deposit_signature,
        )

    def _start(self) -> None:
        metrics = self._start_metrics()
        if self.cfg.mode in ("sim", "paper"):
            self._start_local_exchange()  # sim mode points the venue URLs at the local exchange
        cfg = self.cfg
        key = self._key or generated_key()
        signer = self.signer = self._signer(key)
        state_dir = self._state_dir()
        self._lock_wallet(state_dir, signer.funder)
        clients = build_rest(cfg, self.local, key, signer, metrics)
        creds, rest, data_rest = clients
        order_version = check_venue_at_start(cfg, rest)  # the one GET /version; the free pUSD
        self.rest, self.data_rest = rest, data_rest
        markets, events = self._markets(data_rest, metrics)
        journal = self._open_journal(state_dir, signer.funder)
        queues: tuple[queue.Queue[Any], queue.Queue[BotCommand]] = (queue.Queue(), queue.Queue())
        to_executor = StrategyCommands(queues[1])  # routed on the strategy thread (issue 20)
        self.onchain = build_onchain(cfg, key, queues[0], metrics, self.local)
        engine = self.engine = build_engine(
            cfg,
            self.local,
            markets,
            events,
            (queues[0], to_executor),
            creds,
            signer.funder,
            self.state,
            journal,
            metrics,
            self.onchain,
        )
        executor = build_executor(cfg, rest, signer, creds, queues, self.exec_stop, metrics)
        self.executor = executor
        to_executor.attach(executor.loop)
        self._take_over_open_orders(engine, executor)
        executor.start(order_version)  # not read again (issue 13)
        everything = markets + [m for e in events for m in e.markets if m not in markets]
        self.market_feed, self.user_feed, self.positions_poller = build_feeds(
            cfg,
            self.local,
            everything,
            queues[0],
            clients,
            signer.funder,
            engine,
            self.feed_stop,
            metrics,
        )
        closer = wire_market_feed(cfg, self.market_feed, engine, executor, metrics)
        if closer is not None:
            self._started.append(("feed recorder", closer))  # closed after the feeds
        engine.start()
        if self.onchain is not None:
            self.onchain.worker.start()
        for part in (self.market_feed, self.user_feed, self.positions_poller):
            part.start()
        metrics.up.set(1)
        metrics.start_time_seconds.set(time.time())

    def _start_control(self) -> None:
        engine = self.engine
        assert engine is not None
        self.control = start_control_plane(
            cfg=self.cfg,
            loaded_cfg=self.loaded_cfg,
            source=self.reload_from,
            inbound=engine.inbound,
            funder=self.signer.funder,
            markets=engine.markets,
            feeds=ReloadFeeds(self.market_feed, self.user_feed, engine.events),
            resolver=AddedMarkets(self.cfg, self.data_rest, self.local, self.metrics),
        )

    def _markets(
        self, data_rest: ClobRest, metrics: Metrics
    ) -> tuple[list[MarketInfo], list[EventInfo]]:
        cfg = self.cfg
        markets, events = resolve_markets(cfg, data_rest, self.local)
        if not markets and not events:
            raise FatalError("no markets to trade: configure markets (or arbitrage.events)")
        for m in markets + [m for e in events for m in e.markets]:
            metrics.declare_market(m.condition_id, ((m.yes_token, "YES"), (m.no_token, "NO")))
        log.info(
            "trading %d markets, watching %d arbitrage events, wallet %s (signature type %d), "
            "mode %s",
            len(markets),
            len(events),
            self.signer.funder,
            cfg.wallet.signature_type,
            cfg.mode,
        )
        return markets, events

    def _take_over_open_orders(self, engine: Engine, executor: Executor) -> None:
        """No orphans: before the first quote, the orders this key has resting are adopted by the
        strategy's order tracker (``orphan_policy: adopt``) or cancelled (``cancel``)."""
        snap = executor.list_open_orders()
        to_cancel = engine.take_over_open_orders(snap.orders, self.cfg.execution.orphan_policy)
        if to_cancel:
            executor.cancel_orphans(to_cancel)
            log.info("start-up: cancelled %d order(s) this bot did not know", len(to_cancel))

    # ------------------------------------------------------------------ shutdown

    def _teardown(self, *, cancel: bool) -> int:
        if self._exit_code is not None:
            return self._exit_code
        self._exit_code = self._teardown_once(cancel=cancel)
        return self._exit_code

    def _teardown_once(self, *, cancel: bool) -> int:
        left: list[str] = []
        if self.control is not None:
            self.control.stop()  # first: no operator command lands on a stopping bot
        if self.onchain is not None:
            self.onchain.worker.stop()  # before the engine: its reports go to the engine
        if self.engine is not None:
            self.engine.request_stop()
            self.engine.join(5.0)
        if self.executor is not None:
            self.exec_stop.set()
            self.executor.join(10.0)
            if cancel:
                left = kill_switch(self.executor, self.engine, self.cfg)
        if self.metrics is not None:
            self.metrics.up.set(0)
            if not left and self.engine is not None:
                self.engine.clear_order_metrics()
        self._close_feeds()
        for name, closer in reversed(self._started):
            try:
                closer()
            except Exception:  # a failing closer must not stop the others from running
                log.exception("closing %s failed", name)
        alive = [
            t.name
            for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon
        ]
        if alive:
            log.warning("threads still alive at exit: %s", ", ".join(alive))
        return 1 if left else 0

    def _close_feeds(self) -> None:
        feeds = [f for f in (self.market_feed, self.user_feed, self.positions_poller) if f]
        for feed in feeds:
            feed.close()
        self.feed_stop.set()
        for feed in feeds:
            feed.join(5.0)
