"""Part of the composition root (with ``pmbot.runner``): what differs between live, sim and paper
mode. Sim mode runs the bundled exchange in this process and points every venue URL at it; paper
mode takes market data from the venue but sends orders to a local exchange that mirrors the live
books. Also: which markets and events to trade (at start-up and when a reload adds some)."""

from __future__ import annotations

import dataclasses
import logging
import queue
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pmbot.config import Config, MarketRef
from pmbot.model import EventInfo, MarketInfo

if TYPE_CHECKING:
    from pmbot.execution.executor import Executor
    from pmbot.trading.engine import Engine

log = logging.getLogger("pmbot.runner")


@dataclass
class LocalExchange:
    """The in-process exchange of sim and paper mode (``sim`` is a ``pmbot.sim.SimServer``)."""

    sim: Any
    paper_mirror: Any = None  # pmbot.sim.paper.PaperMirror in paper mode
    chain: Any = None  # pmbot.sim.chain_bridge.SimChainRun in sim mode with onchain.enabled


def start_local_exchange(cfg: Config) -> tuple[LocalExchange, Config]:
    """Start the bundled exchange; returns it and the config to run with (sim mode points the venue
    URLs at it). The caller stops ``sim`` (and closes ``paper_mirror``) at exit."""
    from pmbot.sim import SimServer
    from pmbot.sim.markets import load_sim_config

    sim_cfg = load_sim_config(cfg.sim.config or None)
    sim_cfg = dataclasses.replace(sim_cfg, seed=cfg.sim.seed)
    if cfg.mode == "paper":
        # Only the live markets (added when markets are resolved); the sim's own ones could even
        # share their ids with a venue that is itself a pmbot.sim.
        sim_cfg = dataclasses.replace(sim_cfg, background=False, markets=(), events=())
    sim = SimServer(sim_cfg, host=cfg.sim.host, port=cfg.sim.port, chain_id=cfg.venue.chain_id)
    sim.start()
    local = LocalExchange(sim)
    if cfg.mode == "paper":
        from pmbot.sim.paper import PaperMirror

        local.paper_mirror = PaperMirror(sim.exchange)
        log.info(
            "paper: market data from %s; orders go to the local exchange on %s "
            "(nothing reaches the venue)",
            cfg.venue.market_ws_url,
            sim.urls["clob_url"],
        )
        return local, cfg
    venue = cfg.venue.at_local(sim.urls)
    log.info("sim exchange on %s", sim.urls["clob_url"])
    cfg = cfg.replace(venue=venue)
    if cfg.onchain.enabled:
        try:
            local.chain, cfg = _start_sim_chain(cfg, sim)
        except Exception:
            sim.stop()  # not yet handed to the runner
            raise
    return local, cfg


def _start_sim_chain(cfg: Config, sim: Any) -> tuple[Any, Config]:
    """Sim mode with ``onchain.enabled``: the in-process chain with the sim's markets prepared, and
    the config's ``onchain`` addresses pointed at it (issue 18)."""
    from pmbot.errors import ConfigError

    if cfg.wallet.signature_type != 0:
        raise ConfigError("wallet.signature_type", "the sim chain serves EOA wallets (0) only")
    try:
        from pmbot.sim.chain_bridge import SimChainRun
    except ImportError as exc:
        raise ConfigError(
            "onchain.enabled", f"sim mode's chain needs requirements-onchain.txt ({exc.name})"
        ) from exc
    from pmbot.sim.chain_artifacts import ArtifactsUnavailable

    try:
        run = SimChainRun(sim.exchange, host=cfg.sim.host)
    except ArtifactsUnavailable as exc:
        raise ConfigError("onchain.enabled", f"sim mode's chain: {exc}") from exc
    return run, cfg.replace(onchain=run.onchain_config(cfg.onchain))


def exec_url(cfg: Config, local: LocalExchange | None, key: str) -> str:
    """Where orders go (``clob_url``), the user channel (``user_ws_url``) and positions
    (``data_api_url``) come from: the local exchange in paper mode, else the configured venue."""
    if cfg.mode == "paper" and local is not None:
        return str(local.sim.urls[key])
    return str(getattr(cfg.venue, key))


def market_out(cfg: Config, local: LocalExchange | None, inbound: queue.Queue) -> Any:
    """Paper mode tees the live market updates through the local book mirror (which fills resting
    bot orders the live market crosses) before the strategy sees them."""
    if cfg.mode == "paper" and local is not None:
        from pmbot.sim.paper import PaperTee

        return PaperTee(inbound, local.paper_mirror)
    return inbound


def resolve_markets(
    cfg: Config, rest: Any, local: LocalExchange | None
) -> tuple[list[MarketInfo], list[EventInfo]]:
    from pmbot.venue import markets as venue_markets

    markets: list[MarketInfo] = []
    events: list[EventInfo] = []
    if not cfg.markets and cfg.mode == "sim":
        markets = [m for m in venue_markets.list_clob_markets(rest) if not m.neg_risk]
    markets += resolve_refs(cfg, rest, cfg.markets)
    if cfg.arbitrage.enabled:
        slugs = [e.slug for e in cfg.arbitrage.events]
        if not slugs and cfg.mode == "sim" and local is not None:
            slugs = sorted(local.sim.exchange.events)
        events = [
            _with_clob_facts(rest, venue_markets.resolve_event(cfg.venue.gamma_url, s))
            for s in slugs
        ]
    if cfg.mode == "paper" and local is not None:
        for m in markets + [m for e in events for m in e.markets]:
            local.paper_mirror.add_market(m)
    return markets, events


def _with_clob_facts(rest: Any, event: EventInfo) -> EventInfo:
    """Each outcome market of a Gamma event with the CLOB's tick, minimum size and fee."""
    from pmbot.venue import markets as venue_markets

    markets = tuple(venue_markets.with_clob_facts(rest, m) for m in event.markets)
    return dataclasses.replace(event, markets=markets)


def resolve_refs(cfg: Config, rest: Any, refs: Iterable[MarketRef]) -> list[MarketInfo]:
    """Configured market references as markets: a slug via Gamma, a token pair via the CLOB."""
    from pmbot.venue import markets as venue_markets

    # A slug is named by Gamma, but the CLOB's tick and fee (fd) are authoritative (issue 13).
    return [
        venue_markets.with_clob_facts(
            rest, venue_markets.resolve_market_slug(cfg.venue.gamma_url, r.slug)
        )
        if r.slug
        else venue_markets.market_info_from_token(rest, r.yes_token, r.no_token)
        for r in refs
    ]


class AddedMarkets:
    """A reload's added markets (``control.bridge.MarketResolver``), resolved like the configured
    ones at start-up, declared in the metrics and, in paper mode, mirrored locally."""

    def __init__(self, cfg: Config, rest: Any, local: LocalExchange | None, metrics: Any) -> None:
        self.cfg, self.rest, self.local, self.metrics = cfg, rest, local, metrics

    def __call__(self, refs: tuple[MarketRef, ...]) -> tuple[MarketInfo, ...]:
        found = tuple(resolve_refs(self.cfg, self.rest, refs))
        for m in found:
            self.metrics.declare_market(m.condition_id, ((m.yes_token, "YES"), (m.no_token, "NO")))
            if self.cfg.mode == "paper" and self.local is not None:
                self.local.paper_mirror.add_market(m)
        return found


def wire_market_feed(
    cfg: Config, feed: Any, engine: Engine, executor: Executor, metrics: Any
) -> Callable[[], None] | None:
    """Before the market feed starts: the stale-quote pulls on its thread (issue 20) and the
    recorder (``feed.record_dir``: every frame to rotating gzip JSON lines). Returns the recorder's
    closer, if one was started."""
    if cfg.execution.pull_stale_quotes:
        ticks = cfg.execution.presign_ticks
        engine.use_pulls(executor.pulls, executor.presigner, ticks)
        feed.watch = executor.pulls.on_update
        if ticks > 0:  # posts take the orders signed ahead
            executor.creates.presigner = executor.presigner
    if not cfg.feed.record_dir:
        return None
    from pmbot.venue.recorder import FeedRecorder

    recorder = FeedRecorder(cfg.feed.record_dir, metrics=metrics)
    recorder.start()
    feed.recorder = recorder
    return recorder.close
