"""BotRunner: builds every part for the configured mode, runs until a stop signal, shuts down in order.

Threads (all named, all joined): ``market-ws-N`` (one per shard), ``user-ws``, ``strategy``,
``executor`` (+ ``heartbeat``), ``metrics-http``, and in sim mode the simulator's own threads. The main
thread only waits for the stop event, pings the systemd watchdog while the bot is healthy and logs a
one-line summary now and then.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import secrets
import shutil
import signal
import tempfile
import threading
import time
from urllib.parse import urlparse

from pmbot import __version__, sdnotify
from pmbot.config import Config
from pmbot.errors import FatalError, PmbotError, TransientError
from pmbot.lockfile import WalletLock
from pmbot.model import EventInfo, MarketInfo
from pmbot.state import AppState

log = logging.getLogger("pmbot.runner")


def venue_name(clob_url: str) -> str:
    return urlparse(clob_url).netloc.replace(":", "_") or "venue"


def generated_key() -> str:
    """A throw-away key for sim and paper mode: never funded, never leaves the machine."""
    return "0x" + secrets.token_hex(32)


class BotRunner:
    def __init__(self, cfg: Config, *, private_key: str | None) -> None:
        self.cfg = cfg
        self._key = private_key
        self.stop = threading.Event()
        self.state = AppState()
        self._sigint_count = 0
        self._started: list = []  # (name, closer) in start order, closed in reverse
        self.sim = None
        self.metrics = None
        self.executor = None
        self.engine = None
        self.market_feed = None
        self.user_feed = None
        self.lock: WalletLock | None = None
        self.journal = None

    # ------------------------------------------------------------------ signals

    def _install_signals(self) -> None:
        def on_term(signum, _frame):
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
        except (FatalError, TransientError) as exc:
            log.error("start-up failed: %s", exc)
            self._teardown(cancel=self.executor is not None)
            return 1
        except Exception:
            log.exception("start-up failed")
            self._teardown(cancel=self.executor is not None)
            return 1
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
        v = self.state.view()
        return (
            f"mode={self.cfg.mode} feed={'up' if v.market_feed_up else 'DOWN'} user={'up' if v.user_feed_up else 'DOWN'} "
            f"live_tokens={v.live_tokens}/{v.total_tokens} open_orders={v.open_orders} fills={v.fills} "
            f"position_usd={v.position_value_usd:.2f} realized={v.realized_pnl_usd:.4f} "
            f"unrealized={v.unrealized_pnl_usd:.4f} fees={v.fees_usd:.4f} venue={v.venue_mode.value} "
            f"paused={len(v.paused)} halted={v.halted_reason or 'no'}"
            + (
                f" heartbeat_age={self.executor.heartbeat_age():.1f}s"
                if self.executor is not None
                else ""
            )
        )

    # ------------------------------------------------------------------ start-up

    def _start(self) -> None:
        cfg = self.cfg
        from pmbot.metrics import Metrics

        self.metrics = Metrics()
        self.metrics.set_build_info(__version__, cfg.mode)
        self.metrics.set_limits(
            position_limit_usd=cfg.risk.max_position_size_usd,
            imbalance_limit_usd=cfg.risk.max_inventory_imbalance_usd,
        )
        if cfg.metrics.enabled:
            server = self.metrics.serve(cfg.metrics.host, cfg.metrics.port)
            self._started.append(("metrics", server.shutdown))
            log.info(
                "metrics on http://%s:%s/metrics",
                cfg.metrics.host,
                server.port if hasattr(server, "port") else cfg.metrics.port,
            )

        if cfg.mode in ("sim", "paper"):
            self._start_sim()
            cfg = self.cfg  # sim mode points the venue URLs at the local exchange
        key = self._key or generated_key()

        from pmbot.ratelimit import RateBudget
        from pmbot.venue.auth import derive_api_creds
        from pmbot.venue.rest import ClobRest
        from pmbot.venue.signer import OrderSigner

        venue = cfg.venue
        exec_url = self._exec_clob_url()
        signer = OrderSigner(
            key,
            chain_id=venue.chain_id,
            signature_type=cfg.wallet.signature_type,
            funder=cfg.wallet.funder or None,
        )
        self.signer = signer
        funder = signer.funder
        state_dir = cfg.resolved_state_dir
        if self._key is None:
            # A generated throw-away wallet (sim and paper): its journal can never be reopened, so keep
            # it in a temporary directory removed at exit instead of piling files up in state_dir.
            state_dir = tempfile.mkdtemp(prefix=f"pmbot-{cfg.mode}-")
            self._started.append(
                ("throw-away state", lambda: shutil.rmtree(state_dir, ignore_errors=True))
            )
            log.info(
                "%s mode with a generated wallet: journal in %s (removed at exit)",
                cfg.mode,
                state_dir,
            )
        self.lock = WalletLock(state_dir, funder)
        self.lock.acquire()
        self._started.append(("lock", self.lock.release))

        creds = derive_api_creds(exec_url, key, venue.chain_id, nonce=cfg.wallet.api_key_nonce)
        timeout = (
            float(cfg.execution.connect_timeout_secs),
            float(cfg.execution.read_timeout_secs),
        )
        budget = RateBudget(fraction=float(cfg.execution.rate_budget_fraction))
        rest = ClobRest(
            exec_url,
            creds=creds,
            address=signer.address,
            timeout=timeout,
            metrics=self.metrics,
            rate_budget=budget,
        )
        data_rest = (
            rest
            if exec_url == venue.clob_url
            else ClobRest(
                venue.clob_url,
                creds=None,
                address=signer.address,
                timeout=timeout,
                metrics=self.metrics,
            )
        )
        self.rest = rest

        markets, events = self._resolve_markets(data_rest)
        if not markets and not events:
            raise FatalError("no markets to trade: configure markets (or arbitrage.events)")
        for m in markets + [m for e in events for m in e.markets]:
            self.metrics.declare_market(m.condition_id, ((m.yes_token, "YES"), (m.no_token, "NO")))
        log.info(
            "trading %d markets, watching %d arbitrage events, wallet %s (signature type %d), mode %s",
            len(markets),
            len(events),
            funder,
            cfg.wallet.signature_type,
            cfg.mode,
        )

        from pmbot.trading.journal import Journal

        self.journal = Journal(state_dir, venue_name(exec_url), funder)
        self._started.append(("journal", self.journal.close))

        inbound: queue.Queue = queue.Queue()
        commands: queue.Queue = queue.Queue()
        self._build_engine(markets, events, inbound, commands, creds, funder)

        from pmbot.execution.executor import Executor

        self.exec_stop = threading.Event()
        self.executor = Executor(
            rest,
            signer,
            creds,
            commands,
            inbound,
            stop=self.exec_stop,
            metrics=self.metrics,
            heartbeat_enabled=cfg.heartbeat_enabled,
            heartbeat_secs=float(cfg.execution.heartbeat_secs),
            reconcile_secs=float(cfg.execution.reconcile_secs),
            max_retries=cfg.execution.max_retries,
        )
        # No orphans: before the first quote, cancel (or adopt) whatever this key has resting.
        orphans = self.executor.cleanup_orphans(set(), adopt=cfg.execution.orphan_policy == "adopt")
        if orphans:
            log.info(
                "start-up: %s %d order(s) this bot did not know",
                "adopted" if cfg.execution.orphan_policy == "adopt" else "cancelled",
                len(orphans),
            )
        self.executor.start()

        from pmbot.venue.market_ws import MarketFeed
        from pmbot.venue.user_ws import UserFeed

        all_markets = markets + [m for e in events for m in e.markets if m not in markets]
        self.feed_stop = threading.Event()
        self.market_feed = MarketFeed(
            venue.market_ws_url,
            all_markets,
            self._market_out(inbound),
            stop=self.feed_stop,
            get_book=data_rest.get_book,
            shard_size=cfg.feed.shard_size,
            metrics=self.metrics,
            spot_check_secs=float(cfg.feed.spot_check_secs),
            spot_check_tokens=cfg.feed.spot_check_tokens,
            ping_interval=float(cfg.feed.ping_interval_secs),
        )
        if cfg.feed.record_dir:  # issue 15: record the market channel for the backtester
            from pmbot.venue.recorder import FeedRecorder

            recorder = FeedRecorder(cfg.feed.record_dir, metrics=self.metrics)
            recorder.start()
            self.market_feed.recorder = recorder  # type: ignore[attr-defined]  # None-typed attr
            self._started.append(("feed recorder", recorder.close))
        self.user_feed = UserFeed(
            self._exec_user_ws_url(),
            creds,
            [m.condition_id for m in all_markets],
            inbound,
            stop=self.feed_stop,
            reconcile=self.engine.user_reconcile_source(rest),
            metrics=self.metrics,
            ping_interval=float(cfg.feed.ping_interval_secs),
        )
        from pmbot.venue.positions import PositionsPoller

        self.positions_poller = PositionsPoller(
            self._data_api_url(),
            funder,
            inbound,
            stop=self.feed_stop,
            interval_secs=float(cfg.feed.positions_reconcile_secs),
            metrics=self.metrics,
        )
        self.engine.start()
        self.market_feed.start()
        self.user_feed.start()
        self.positions_poller.start()
        self.metrics.up.set(1)
        self.metrics.start_time_seconds.set(time.time())

    def _exec_clob_url(self) -> str:
        """Where orders go: the venue in live mode, the local exchange in sim and paper mode."""
        if self.cfg.mode == "paper":
            return self.sim.urls["clob_url"]
        return self.cfg.venue.clob_url

    def _exec_user_ws_url(self) -> str:
        if self.cfg.mode == "paper":
            return self.sim.urls["user_ws_url"]
        return self.cfg.venue.user_ws_url

    def _start_sim(self) -> None:
        from pmbot.sim import SimServer
        from pmbot.sim.markets import load_sim_config

        sim_cfg = load_sim_config(self.cfg.sim.config or None)
        sim_cfg = dataclasses.replace(sim_cfg, seed=self.cfg.sim.seed)
        if self.cfg.mode == "paper":
            # Only the live markets (added in _resolve_markets); the sim's own ones could even share
            # their ids with a venue that is itself a pmbot.sim.
            sim_cfg = dataclasses.replace(sim_cfg, background=False, markets=(), events=())
        self.sim = SimServer(
            sim_cfg,
            host=self.cfg.sim.host,
            port=self.cfg.sim.port,
            chain_id=self.cfg.venue.chain_id,
        )
        self.sim.start()
        self._started.append(("sim", self.sim.stop))
        if self.cfg.mode == "paper":
            from pmbot.sim.paper import PaperMirror

            self.paper_mirror = PaperMirror(self.sim.exchange)
            self._started.append(("paper-mirror", self.paper_mirror.close))
            log.info(
                "paper: market data from %s; orders go to the local exchange on %s (nothing reaches the venue)",
                self.cfg.venue.market_ws_url,
                self.sim.urls["clob_url"],
            )
        if self.cfg.mode == "sim":
            urls = self.sim.urls
            self.cfg = self.cfg.replace(
                venue=dataclasses.replace(
                    self.cfg.venue,
                    **{
                        k: urls[k]
                        for k in (
                            "clob_url",
                            "market_ws_url",
                            "user_ws_url",
                            "data_api_url",
                            "gamma_url",
                        )
                    },
                )
            )
            log.info("sim exchange on %s", urls["clob_url"])

    def _resolve_markets(self, rest) -> tuple[list[MarketInfo], list[EventInfo]]:
        from pmbot.venue import markets as venue_markets

        cfg = self.cfg
        markets: list[MarketInfo] = []
        events: list[EventInfo] = []
        if not cfg.markets and cfg.mode == "sim":
            listed = venue_markets.list_clob_markets(rest)
            markets = [m for m in listed if not m.neg_risk]
        for ref in cfg.markets:
            if ref.slug:
                markets.append(venue_markets.resolve_market_slug(cfg.venue.gamma_url, ref.slug))
            else:
                markets.append(
                    venue_markets.market_info_from_token(rest, ref.yes_token, ref.no_token)
                )
        if cfg.arbitrage.enabled:
            slugs = [e.slug for e in cfg.arbitrage.events]
            if not slugs and cfg.mode == "sim" and self.sim is not None:
                slugs = sorted(self.sim.exchange.events)
            events = [venue_markets.resolve_event(cfg.venue.gamma_url, s) for s in slugs]
        if self.cfg.mode == "paper" and self.sim is not None:
            for m in markets + [m for e in events for m in e.markets]:
                self.paper_mirror.add_market(m)
        return markets, events

    def _market_out(self, inbound: queue.Queue):
        """Paper mode tees the live market updates through the local book mirror (which fills resting
        bot orders the live market crosses) before the strategy sees them."""
        if self.cfg.mode == "paper":
            from pmbot.sim.paper import PaperTee

            return PaperTee(inbound, self.paper_mirror)
        return inbound

    def _data_api_url(self) -> str:
        return (
            self.sim.urls["data_api_url"]
            if self.cfg.mode == "paper"
            else self.cfg.venue.data_api_url
        )

    def _build_engine(self, markets, events, inbound, commands, creds, funder) -> None:
        from pmbot.model import PositionsSnapshot
        from pmbot.trading.engine import Engine
        from pmbot.venue.positions import fetch_positions

        data_api = self._data_api_url()

        def positions() -> PositionsSnapshot:
            return PositionsSnapshot(
                positions=tuple(fetch_positions(data_api, funder)), taken_ts=time.time()
            )

        self.engine = Engine(
            cfg=self.cfg,
            markets=tuple(markets),
            events=tuple(events),
            inbound=inbound,
            commands=commands,
            state=self.state,
            journal=self.journal,
            metrics=self.metrics,
            api_key=creds.api_key,
            funder=funder,
            positions_source=positions,
        )
        seeded = self.engine.seed_positions()
        log.info("seeded %d position(s) from the Data API", seeded)

    # ------------------------------------------------------------------ shutdown

    def _teardown(self, *, cancel: bool) -> int:
        if getattr(self, "_exit_code", None) is not None:
            return self._exit_code
        self._exit_code = self._teardown_once(cancel=cancel)
        return self._exit_code

    def _teardown_once(self, *, cancel: bool) -> int:
        left: list[str] = []
        if self.engine is not None:
            self.engine.request_stop()
            self.engine.join(5.0)
        if self.executor is not None:
            self.exec_stop.set()
            self.executor.join(10.0)
            if cancel:
                deadline = float(self.cfg.execution.cancel_deadline_secs)
                try:
                    left = self.executor.cancel_all_and_verify(deadline)
                except PmbotError as exc:
                    log.error("cancel-all failed: %s", exc)
                    left = ["<unverified>"]
                if left:
                    log.error(
                        "kill switch: %d order(s) LEFT OPEN after %.0fs: %s",
                        len(left),
                        deadline,
                        ", ".join(left),
                    )
                else:
                    log.info("kill switch: every order cancelled and verified on the venue")
        if self.metrics is not None:
            self.metrics.up.set(0)
            if not left and self.engine is not None:
                self.engine.clear_order_metrics()
        feeds = (self.market_feed, self.user_feed, getattr(self, "positions_poller", None))
        for feed in feeds:
            if feed is not None:
                feed.close()
        if getattr(self, "feed_stop", None) is not None:
            self.feed_stop.set()
        for feed in feeds:
            if feed is not None:
                feed.join(5.0)
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
