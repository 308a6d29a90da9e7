"""Part of the composition root (with ``pmbot.runner``): builds the venue clients, the strategy
thread's engine, the executor and the feeds, and hands each the venue objects it needs. Nothing here
starts a thread."""

from __future__ import annotations

import errno
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pmbot.config import Config
from pmbot.errors import ConfigError, FatalError, PmbotError, RejectedError, TransientError
from pmbot.model import BotCommand, EventInfo, MarketInfo, PositionsSnapshot
from pmbot.runner_modes import LocalExchange, exec_url, market_out
from pmbot.state import AppState, StateView

if TYPE_CHECKING:
    from pmbot.execution.executor import Executor
    from pmbot.metrics import Metrics
    from pmbot.onchain.metrics import OnchainMetrics
    from pmbot.onchain.worker import OnchainWorker
    from pmbot.trading.engine import Engine
    from pmbot.trading.ports import Commands
    from pmbot.venue.auth import ApiCreds
    from pmbot.venue.rest import ClobRest
    from pmbot.venue.signer import OrderSigner

log = logging.getLogger("pmbot.runner")


def build_rest(
    cfg: Config, local: LocalExchange | None, key: str, signer: OrderSigner, metrics: Metrics
) -> tuple[ApiCreds, ClobRest, ClobRest]:
    """(API credentials, the order REST client, the market-data REST client). A deposit wallet's
    API key may be bound to the wallet rather than the signer: its address goes in L2 headers.
    The runner reads the venue's start-up facts (``check_venue_at_start``) with the first."""
    from pmbot.ratelimit import RateBudget
    from pmbot.venue.deposit_wallet import derive_creds
    from pmbot.venue.rest import ClobRest

    url = exec_url(cfg, local, "clob_url")
    creds = derive_creds(url, key, signer, nonce=cfg.wallet.api_key_nonce)
    address = creds.address or signer.address
    timeout = (float(cfg.execution.connect_timeout_secs), float(cfg.execution.read_timeout_secs))
    budget = RateBudget(fraction=float(cfg.execution.rate_budget_fraction))
    rest = ClobRest(
        url, creds=creds, address=address, timeout=timeout, metrics=metrics, rate_budget=budget
    )
    if url == cfg.venue.clob_url:
        return creds, rest, rest
    data = ClobRest(
        cfg.venue.clob_url, creds=None, address=address, timeout=timeout, metrics=metrics
    )
    return creds, rest, data


def build_engine(
    cfg: Config,
    local: LocalExchange | None,
    markets: list[MarketInfo],
    events: list[EventInfo],
    queues: tuple[queue.Queue[Any], Commands],
    creds: ApiCreds,
    funder: str,
    state: AppState,
    journal: Any,
    metrics: Metrics,
    onchain: OnchainParts | None = None,
) -> Engine:
    from pmbot.trading.engine import Engine
    from pmbot.venue.positions import fetch_positions

    data_api = exec_url(cfg, local, "data_api_url")

    def positions() -> PositionsSnapshot:
        return PositionsSnapshot(
            positions=tuple(fetch_positions(data_api, funder)), taken_ts=time.time()
        )

    inbound, commands = queues
    engine = Engine(
        cfg=cfg,
        markets=tuple(markets),
        events=tuple(events),
        inbound=inbound,
        commands=commands,
        state=state,
        journal=journal,
        metrics=metrics,
        api_key=creds.api_key,
        funder=funder,
        positions_source=positions,
        onchain=onchain.worker if onchain is not None else None,
        onchain_metrics=onchain.metrics if onchain is not None else None,
    )
    log.info("seeded %d position(s) from the Data API", engine.seed_positions())
    if onchain is not None:
        prime_onchain(cfg, engine)
    return engine


@dataclass(frozen=True, slots=True)
class OnchainParts:
    worker: OnchainWorker  # thread "onchain": start after the engine, stop before it
    metrics: OnchainMetrics


def build_onchain(
    cfg: Config,
    key: str,
    inbound: queue.Queue[Any],
    metrics: Metrics,
    local: LocalExchange | None = None,
) -> OnchainParts | None:
    """The on-chain worker (merges, redemptions), not started; None unless ``onchain.enabled``.
    Its settlements and failures come back on the strategy thread's inbound queue. In sim mode the
    wallet is first funded and mirrored on the in-process chain."""
    if not cfg.onchain.enabled:
        return None
    if local is not None and local.chain is not None:
        local.chain.attach(key)
    from pmbot.onchain.metrics import OnchainMetrics
    from pmbot.onchain.setup import build_worker

    return OnchainParts(build_worker(cfg, key, inbound.put), OnchainMetrics(metrics.registry))


def prime_onchain(cfg: Config, engine: Engine) -> None:
    """Before the strategy thread starts: the intents still open in the worker's journal are in
    flight, and held markets already resolved on chain are to be redeemed. A failing RPC is logged;
    the worker retries its own intents and a resolution is also learnt from the market channel."""
    from pmbot.errors import PmbotError
    from pmbot.onchain.journal import IntentJournal
    from pmbot.onchain.resolution import resolved_conditions
    from pmbot.onchain.rpc import JsonRpc
    from pmbot.onchain.setup import journal_path

    link = engine.onchain
    if link is None:
        return
    intents = IntentJournal(journal_path(cfg))
    link.desk.restore_pending(intents.open_intents())
    intents.close()
    held = [
        m
        for m in engine.market_by_cid.values()
        if engine.inventory.shares(m.yes_token) or engine.inventory.shares(m.no_token)
    ]
    rpc = JsonRpc(cfg.onchain.rpc_url, timeout_secs=float(cfg.execution.read_timeout_secs))
    try:
        by_cid = {m.condition_id: m for m in held}
        for res in resolved_conditions(rpc, cfg.onchain.ctf_address, list(by_cid)):
            m, won = by_cid[res.condition_id], res.winner_index
            link.on_resolved(
                m.condition_id, None if won is None else (m.yes_token, m.no_token)[won]
            )
    except (PmbotError, ValueError) as exc:
        log.warning("onchain: could not check which held markets are resolved: %s", exc)
    finally:
        rpc.close()


def build_executor(
    cfg: Config,
    rest: ClobRest,
    signer: Any,
    creds: ApiCreds,
    queues: tuple[queue.Queue[Any], queue.Queue[BotCommand]],
    stop: threading.Event,
    metrics: Metrics,
) -> Executor:
    """The executor gets the venue's REST client, order signing and open-orders parser."""
    from pmbot.execution.executor import Executor
    from pmbot.venue.order_signing import OrderSigning
    from pmbot.venue.rest import MAX_BATCH_ORDERS
    from pmbot.venue.wire_user import parse_open_order

    inbound, commands = queues
    return Executor(
        rest,
        OrderSigning(signer, creds.api_key, rest=rest),
        commands,
        inbound,
        stop=stop,
        parse_open_order=parse_open_order,
        metrics=metrics,
        heartbeat_enabled=cfg.heartbeat_enabled,
        heartbeat_secs=float(cfg.execution.heartbeat_secs),
        reconcile_secs=float(cfg.execution.reconcile_secs),
        max_retries=cfg.execution.max_retries,
        max_batch=MAX_BATCH_ORDERS,
    )


def build_feeds(
    cfg: Config,
    local: LocalExchange | None,
    markets: list[MarketInfo],
    inbound: queue.Queue[Any],
    clients: tuple[ApiCreds, ClobRest, ClobRest],
    funder: str,
    engine: Engine,
    stop: threading.Event,
    metrics: Metrics,
) -> tuple[Any, Any, Any]:
    """(market feed, user feed, positions poller) for ``markets`` (quoted and arbitrage ones)."""
    from pmbot.venue.market_ws import MarketFeed
    from pmbot.venue.positions import PositionsPoller
    from pmbot.venue.user_ws import RestCatchUp, UserFeed

    creds, rest, data_rest = clients
    market_feed = MarketFeed(
        cfg.venue.market_ws_url,
        markets,
        market_out(cfg, local, inbound),
        stop=stop,
        get_book=data_rest.get_book,
        shard_size=cfg.feed.shard_size,
        metrics=metrics,
        spot_check_secs=float(cfg.feed.spot_check_secs),
        spot_check_tokens=cfg.feed.spot_check_tokens,
        ping_interval=float(cfg.feed.ping_interval_secs),
    )
    user_feed = UserFeed(
        exec_url(cfg, local, "user_ws_url"),
        creds,
        [m.condition_id for m in markets],
        inbound,
        stop=stop,
        # after every (re)connect: open orders, and the trades since the newest one known
        reconcile=RestCatchUp(
            rest.open_orders,
            lambda after: rest.trades(after=after),
            since=engine.catch_up_since(),
        ),
        metrics=metrics,
        ping_interval=float(cfg.feed.ping_interval_secs),
    )
    positions = PositionsPoller(
        exec_url(cfg, local, "data_api_url"),
        funder,
        inbound,
        stop=stop,
        interval_secs=float(cfg.feed.positions_reconcile_secs),
        metrics=metrics,
    )
    return market_feed, user_feed, with_collateral_poller(cfg, rest, inbound, stop, positions)


def with_collateral_poller(
    cfg: Config, rest: ClobRest, inbound: queue.Queue[Any], stop: threading.Event, positions: Any
) -> Any:
    """The positions poller and, with API credentials, the free-pUSD poller at the same interval
    (one ``GET /balance-allowance`` per period). Its first read happens here, before any feed
    starts, so the strategy sizes its first quotes within the balance."""
    from pmbot.venue.collateral_poll import CollateralPoller, Pollers

    if rest.creds is None:
        return positions
    collateral = CollateralPoller(
        rest,
        int(cfg.wallet.signature_type),
        inbound,
        stop=stop,
        interval_secs=float(cfg.feed.positions_reconcile_secs),
    )
    collateral.poll_once()
    return Pollers(positions, collateral)


def kill_switch(executor: Executor, engine: Engine | None, cfg: Config) -> list[str]:
    """Cancel everything, verify on the venue; the ids left open (empty = verified). The engine's
    tracker names the orders to check when the venue cannot list them."""
    from pmbot.errors import PmbotError

    deadline = float(cfg.execution.cancel_deadline_secs)
    known = engine.open_order_ids if engine is not None else list
    try:
        left = executor.cancel_all_and_verify(deadline, known_open=known)
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
    return left


def summary_line(mode: str, v: StateView, executor: Executor | None) -> str:
    """The periodic one-line summary the main thread logs."""
    heartbeat = f" heartbeat_age={executor.heartbeat_age():.1f}s" if executor else ""
    return (
        f"mode={mode} feed={'up' if v.market_feed_up else 'DOWN'} "
        f"user={'up' if v.user_feed_up else 'DOWN'} "
        f"live_tokens={v.live_tokens}/{v.total_tokens} open_orders={v.open_orders} "
        f"fills={v.fills} position_usd={v.position_value_usd:.2f} "
        f"realized={v.realized_pnl_usd:.4f} unrealized={v.unrealized_pnl_usd:.4f} "
        f"fees={v.fees_usd:.4f} venue={v.venue_mode.value} "
        f"paused={len(v.paused)} halted={v.halted_reason or 'no'}" + heartbeat
    )


# --------------------------------------------------------------------------- start-up checks


def check_venue_at_start(cfg: Config, rest: ClobRest) -> int:
    """Issue 13: refuse to start, with a clear message, when the venue asks for an order version
    this bot cannot sign (``GET /version``); log the funder's free pUSD
    (``GET /balance-allowance``), both read where orders go. A balance that cannot be read is a
    warning, not a stop. Returns the version, which the executor is started with: this is the
    one ``GET /version`` at start-up (the executor re-reads it after ``order_version_mismatch``)."""
    from pmbot.venue.wire_clob import ClobWireError, check_order_version

    try:
        version = check_order_version(rest.order_version())
    except ClobWireError as exc:
        raise FatalError(f"GET {rest.base}/version: {exc}") from None
    if rest.creds is None:
        return version
    try:
        funds = rest.balance_allowance(int(cfg.wallet.signature_type))
    except (TransientError, FatalError, RejectedError, ClobWireError) as exc:
        log.warning(
            "venue: order version %d; could not read the balance and allowance (%s)", version, exc
        )
        return version
    allowance = "unlimited" if funds.allowance is None else str(funds.allowance)
    log.info(
        "venue: order version %d; pUSD balance %s, allowance %s, free %s",
        version,
        funds.balance,
        allowance,
        funds.free,
    )
    if funds.free <= 0 and cfg.mode == "live":
        log.warning(
            "no free pUSD to trade with (balance %s, allowance %s): deposit pUSD to the funder "
            "and approve the exchanges; orders will be refused until then",
            funds.balance,
            allowance,
        )
    return version


def startup_failure(exc: BaseException, log_level: str) -> int:
    """Issue 14 item 3: a start-up failure is one line naming what failed and why; the exit code
    is 2 for a configuration problem (a busy port included), 1 for the venue or anything else; a
    traceback only at ``log_level: DEBUG``."""
    code = 2 if isinstance(exc, ConfigError) else 1
    if isinstance(exc, PmbotError):
        message = str(exc)
    elif isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        code, message = 2, f"config error: a configured port is in use (metrics.port?): {exc}"
    else:
        message = f"{type(exc).__name__}: {exc}"
    debug = str(log_level).upper() == "DEBUG"
    log.error("start-up failed: %s", message, exc_info=exc if debug else None)
    return code
