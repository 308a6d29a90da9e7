"""The strategy thread: the single writer of the bot's state.

Loop: block on the inbound queue, drain what else is waiting, keep only the latest ``MarketUpdate``
per token (coalescing under load, so the strategy never falls behind the feed), apply every other
event in order (fills, order events, executor reports, reconcile snapshots), then ask the pure
strategy what to do and put the resulting commands on the executor's queue. After each batch it
publishes a fresh ``StateView`` and the metrics.

Fills are journalled before they change the in-memory inventory, so a crash never loses an
acknowledged fill. Nothing here talks to the network except through the queues.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pmbot import rewards
from pmbot.config import Config
from pmbot.model import (
    ONE,
    ZERO,
    Cancel,
    CancelAll,
    CancelResult,
    Create,
    EventInfo,
    FeedStatus,
    MarketInfo,
    MarketUpdate,
    NewOrder,
    OpenOrdersSnapshot,
    OrderAccepted,
    OrderEvent,
    OrderRejected,
    OrderUnknown,
    PositionsSnapshot,
    Replace,
    Tick,
    TradeEvent,
    TradeStatus,
    VenueMode,
    VenueModeChanged,
)
from pmbot.state import AppState, StateView
from pmbot.strategy.decide import StrategyInput, StrategyMemory, decide
from pmbot.strategy.params import StrategyParams
from pmbot.strategy.position import PositionSplit
from pmbot.strategy.views import BookView, LiveOrder
from pmbot.trading.arbitrage_desk import ArbitrageDesk
from pmbot.trading.fills import FillTracker
from pmbot.trading.inventory import Inventory, Pnl
from pmbot.trading.journal import replay
from pmbot.trading.orders import OrderTracker
from pmbot.venue.positions import PositionReconciler
from pmbot.venue.user_ws import RestCatchUp

log = logging.getLogger(__name__)

_STOP = object()
MAX_BATCH = 5000


def _yes_terms(o: NewOrder, market: MarketInfo) -> tuple[str, Decimal]:
    """An order as a bid or ask on its market's YES book (one unified book: BUY NO @q = YES ask @1-q)."""
    if o.token_id == market.yes_token:
        return ("bid" if o.side.value == "BUY" else "ask"), o.price
    return ("ask" if o.side.value == "BUY" else "bid"), ONE - o.price


def crosses(new: NewOrder, old: NewOrder, market: MarketInfo) -> bool:
    """Would ``new`` trade against ``old`` (same market) if both rested at once?"""
    if new.market != old.market:
        return False
    new_kind, new_px = _yes_terms(new, market)
    old_kind, old_px = _yes_terms(old, market)
    if new_kind == old_kind:
        return False
    return new_px >= old_px if new_kind == "bid" else new_px <= old_px


@dataclass(frozen=True, slots=True)
class Marks:
    """The inventory marked at the current mids, computed once per batch for the strategy input, the
    state view and the metrics alike."""

    mids: dict
    pnl: Pnl
    position_value_usd: Decimal
    split: PositionSplit  # the same total, hedged vs unhedged (issue 19)


class Engine:
    def __init__(
        self,
        *,
        cfg: Config,
        markets: tuple[MarketInfo, ...],
        events: tuple[EventInfo, ...],
        inbound: queue.Queue,
        commands: queue.Queue,
        state: AppState,
        journal,
        metrics,
        api_key: str,
        funder: str,
        clock: Callable[[], float] = time.time,
        positions_source: Callable[[], PositionsSnapshot] | None = None,
    ) -> None:
        self.cfg = cfg
        self.markets = markets
        self.events = events
        self.inbound = inbound
        self.commands = commands
        self.state = state
        self.journal = journal
        self.metrics = metrics
        self.api_key = api_key
        self.funder = funder
        self.clock = clock
        self.params = StrategyParams.from_sections(cfg.strategy, cfg.risk, cfg.arbitrage)
        self.memory = StrategyMemory()
        self.tracker = OrderTracker()
        self.inventory = Inventory()
        self.fills = FillTracker(api_key, own_order_ids=self.tracker.live_ids)
        self._positions_source = positions_source
        self.position_reconciler = PositionReconciler(
            settlement_lag_secs=float(cfg.feed.settlement_lag_secs)
        )
        self.arb = ArbitrageDesk(
            tracker=self.tracker,
            inventory=self.inventory,
            journal=journal,
            metrics=metrics,
            commands=commands,
            params=self.params,
            new_order=self._new_order,
            book_views=self._book_views,
        )
        self._ever_quoted: set[str] = (
            set()
        )  # "bot" and condition ids that have quoted at least once
        self._last_decision = None  # the previous Decision (verdict changes, state view, metrics)
        self._pnl_day = ""  # the UTC day _pnl_day_start belongs to
        self._pnl_day_start = ZERO

        self.market_by_cid: dict[str, MarketInfo] = {}
        for m in list(markets) + [m for e in events for m in e.markets]:
            self.market_by_cid[m.condition_id] = m
        self.market_by_token: dict[str, MarketInfo] = {}
        for m in self.market_by_cid.values():
            self.market_by_token[m.yes_token] = m
            self.market_by_token[m.no_token] = m

        self.books: dict[str, MarketUpdate] = {}
        self.book_ts: dict[str, float] = {}
        self.feeds_up: dict[str, bool] = {}
        self.venue_mode = VenueMode.NORMAL
        self.recent_rejects: deque[float] = deque(maxlen=1000)
        self.last_trade_ts = 0.0
        self.fill_count = 0
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._quoting_enabled = True
        self._last_metrics = 0.0
        self._last_rewards = 0.0  # the reward estimate is refreshed once a second (venue: 1/min)
        self._events_processed = 0
        self._last_loop = time.monotonic()
        self._restore_from_journal()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="strategy", daemon=False)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop deciding. The runner then cancels everything through the executor."""
        self._quoting_enabled = False
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

    # ------------------------------------------------------------------ start-up helpers

    def _restore_from_journal(self) -> None:
        restored = self.journal.load()
        replay(restored, self.inventory, tracker=self.fills)
        self.fill_count = sum(1 for f in restored.fills if f.status is not TradeStatus.FAILED)
        self._restored_anything = bool(
            restored.fills or restored.adjustments or restored.hedged_sets
        )
        self.last_trade_ts = restored.last_trade_ts or 0.0
        if restored.fills:
            log.info(
                "journal: restored %d fill(s), %d hedged set(s); realized P&L %s",
                len(restored.fills),
                len(restored.hedged_sets),
                self.inventory.pnl({}).realized,
            )

    def seed_positions(self) -> int:
        """Seed inventory from the venue (Data API) so positions persist across restarts."""
        if self._positions_source is None:
            return 0
        if self._restored_anything:
            # The journal already holds positions and history; the Data API lags the CLOB, so a
            # re-seed could drop the newest fills. The periodic reconcile settles any real difference.
            log.info(
                "positions restored from the journal; the Data API reconciles them periodically"
            )
            return 0
        snap = self._positions_source()
        ours = {
            r.token_id: (r.size, r.avg_price)
            for r in snap.positions
            if r.token_id in self.market_by_token and r.size != 0
        }
        self.journal.record_seed(ours)
        self.inventory.seed(ours)
        return len(ours)

    def user_reconcile_source(self, rest) -> Callable[[], list]:
        """For the user channel: after every (re)connect, what REST says about open orders and the
        trades since the newest one already known (the journal's on a restart, else start-up time)."""
        return RestCatchUp(
            rest.open_orders,
            lambda after: rest.trades(after=after),
            since=self.last_trade_ts or self.clock(),
        )

    # ------------------------------------------------------------------ loop

    def _run(self) -> None:
        log.info(
            "strategy thread started (%s, %d markets)", self.params.quoting.name, len(self.markets)
        )
        tick_every = 1.0
        next_tick = time.monotonic() + tick_every
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                first = self.inbound.get(timeout=timeout)
            except queue.Empty:
                first = None
            self._last_loop = time.monotonic()
            batch = [] if first is None else [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self.inbound.get_nowait())
                except queue.Empty:
                    break
            if any(ev is _STOP for ev in batch) or self._stop.is_set():
                break
            try:
                origin_ns = self._apply_batch(batch)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + tick_every
                    self.tracker.forget_done_before(self.clock() - 600)
                marks = self._marks()
                self._decide(origin_ns, marks)
                self._publish(marks)
            except Exception:
                # A bug must not leave orders unmanaged: cancel everything and stop quoting (fail closed).
                # The thread keeps running so fills and order events are still recorded.
                log.exception("strategy thread error: cancelling all and halting quoting")
                if self._quoting_enabled:
                    self._quoting_enabled = False
                    self.commands.put(CancelAll(reason="strategy error"))
        log.info("strategy thread stopped")

    def _apply_batch(self, batch: list) -> int:
        latest: dict[str, MarketUpdate] = {}
        origin_ns = 0
        for ev in batch:
            self._events_processed += 1
            if isinstance(ev, MarketUpdate):
                latest[ev.token_id] = ev  # coalesce: only the newest state per token matters
                continue
            self._apply(ev)
        now = self.clock()
        for tok, upd in latest.items():
            self.books[tok] = upd
            self.book_ts[tok] = now
            origin_ns = max(origin_ns, upd.recv_ns)
        return origin_ns

    def _apply(self, ev) -> None:
        now = self.clock()
        if isinstance(ev, TradeEvent):
            self._on_trade(ev)
        elif isinstance(ev, OrderEvent):
            self.tracker.on_order_event(ev, now)
        elif isinstance(ev, OrderAccepted):
            self.tracker.on_accepted(ev, now)
            self.journal.record_order(ev.order_id, ev.order, status=ev.status.upper())
            self.arb.baskets.on_accepted(ev, now)
            self.metrics.orders_created_total.labels(market=ev.order.market).inc()
        elif isinstance(ev, OrderRejected):
            self.tracker.on_rejected(ev)
            self.arb.baskets.on_rejected(ev, now)
            if ev.kind in ("rejected", "transient"):
                # The error-rate breaker is about orders the venue refused or could not take; refusals
                # by a venue mode (cancel-only probes) or local supersession are not errors of ours.
                self.recent_rejects.append(now)
            self.metrics.count_rejection(ev.kind)
            log.warning(
                "order rejected (%s): %s %s %s @ %s: %s",
                ev.kind,
                ev.order.side.value,
                ev.order.size,
                ev.order.token_id[-8:],
                ev.order.price,
                ev.reason,
            )
        elif isinstance(ev, OrderUnknown):
            self.tracker.on_unknown(ev, now)
            self.arb.baskets.on_accepted(ev, now)
            log.warning(
                "order %s outcome unknown (%s): treated as live until reconciled",
                ev.order_id[:12],
                ev.reason,
            )
        elif isinstance(ev, CancelResult):
            for t in self.tracker.on_cancel_result(ev, now):
                self.metrics.orders_cancelled_total.labels(market=t.order.market).inc()
        elif isinstance(ev, OpenOrdersSnapshot):
            self._on_open_orders(ev, now)
        elif isinstance(ev, VenueModeChanged):
            if ev.mode is not self.venue_mode:
                log.warning(
                    "venue mode %s -> %s (%s)", self.venue_mode.value, ev.mode.value, ev.reason
                )
            self.venue_mode = ev.mode
            self.metrics.set_venue_mode(ev.mode)
        elif isinstance(ev, FeedStatus):
            if self.feeds_up.get(ev.connection) != ev.up:
                log.info("feed %s %s %s", ev.connection, "up" if ev.up else "DOWN", ev.reason)
            self.feeds_up[ev.connection] = ev.up
        elif isinstance(ev, PositionsSnapshot):
            self._on_positions(ev)
        elif isinstance(ev, Tick):
            pass
        else:
            log.warning("strategy thread: ignoring unexpected %s", type(ev).__name__)

    # ------------------------------------------------------------------ fills

    def _on_trade(self, trade: TradeEvent) -> None:
        for change in self.fills.on_trade(trade, self.market_by_cid):
            fill = change.fill
            market = self.market_by_token.get(fill.token_id)
            if change.kind == "new":
                if not self.journal.record_fill(fill):
                    continue  # already journalled (e.g. replayed by a reconcile after restart)
                if market is not None:
                    self.inventory.apply_fill(fill, market)
                self.fill_count += 1
                self.metrics.count_fill(fill.market, fill.side, fill.size, fill.price)
                log.info(
                    "fill %s %s %s @ %s on %s (%s, %s)",
                    fill.side.value,
                    fill.size,
                    market.outcome_of(fill.token_id).value if market else "?",
                    fill.price,
                    fill.market[:10],
                    "maker" if fill.is_maker else "taker",
                    fill.status.value,
                )
            elif change.kind == "reversed":
                self.journal.update_fill_status(fill.trade_id, fill.order_id, fill.status)
                self.inventory.reverse_fill(fill, market)
                self.fill_count -= 1
                log.warning(
                    "fill reversed (trade %s FAILED): %s %s @ %s",
                    fill.trade_id[:12],
                    fill.side.value,
                    fill.size,
                    fill.price,
                )
            else:
                self.journal.update_fill_status(fill.trade_id, fill.order_id, fill.status)
                self.inventory.update_status(fill)
            self.arb.baskets.on_fill(change)
            self.last_trade_ts = max(self.last_trade_ts, fill.ts)

    def _on_positions(self, snap: PositionsSnapshot) -> None:
        local = {tok: self.inventory.shares(tok) for tok in self.market_by_token}
        for act in self.position_reconciler.compare(
            local, snap.positions, self.clock(), tokens=self.market_by_token
        ):
            if act.kind == "mismatch":
                self.metrics.inventory_mismatch_total.inc()
                log.warning(
                    "position mismatch on %s: local %s, venue %s (resolved for the venue if it persists)",
                    act.token_id[-8:],
                    act.local,
                    act.venue,
                )
            elif act.kind == "adopt":
                self.journal.record_adoption(act.token_id, act.venue, act.avg_price)
                self.inventory.set_position(act.token_id, act.venue, act.avg_price)
                log.warning(
                    "position on %s set to the venue's %s (was %s for %.0fs)",
                    act.token_id[-8:],
                    act.venue,
                    act.local,
                    self.clock() - act.since,
                )
            else:
                log.info("position on %s agrees with the venue again", act.token_id[-8:])

    def _on_open_orders(self, snap: OpenOrdersSnapshot, now: float) -> None:
        diff = self.tracker.reconcile(
            snap.orders, now, taken_at=now - (time.monotonic_ns() - snap.taken_ns) / 1e9
        )
        if diff.orphans:
            ids = tuple(o.order_id for o in diff.orphans)
            log.warning(
                "reconcile: %d order(s) on the venue unknown to the bot: cancelling", len(ids)
            )
            self.metrics.reconcile_diffs_total.labels(cause="unknown_on_venue").inc(len(ids))
            self.commands.put(Cancel(order_ids=ids))
        for t, cause in diff.dropped:
            log.warning("reconcile: order %s no longer on the venue (%s)", t.order_id[:12], cause)
            self.metrics.reconcile_diffs_total.labels(cause="missing_on_venue").inc()

    # ------------------------------------------------------------------ decisions

    def _marks(self) -> Marks:
        mids = self._mids()
        split = self.inventory.position_split(self.market_by_cid.values(), mids)
        return Marks(mids, self.inventory.pnl(mids), split.total_usd, split)

    def _decide(self, origin_ns: int, marks: Marks) -> None:
        if not self._quoting_enabled:
            return
        inp = self._strategy_input(marks)
        decision = decide(inp, self.memory, self.params)
        self.memory = decision.memory
        self._log_verdict_changes(decision)
        self._emit(decision, origin_ns)
        self._last_decision = decision

    def _log_verdict_changes(self, decision) -> None:
        """One log line per risk-state change, with its reason (the metric carries the current state)."""
        previous = self._last_decision
        before = (
            {md.condition_id: str(md.verdict) for md in previous.markets}
            if previous is not None
            else {}
        )
        quoted = self._ever_quoted
        if previous is None or str(previous.verdict) != str(decision.verdict):
            # Start-up states (no book yet, user channel connecting) are expected: INFO until first quoting.
            level = (
                logging.INFO
                if decision.verdict.may_quote or "bot" not in quoted
                else logging.WARNING
            )
            log.log(level, "risk: bot %s", decision.verdict)
        if decision.verdict.may_quote:
            quoted.add("bot")
        for md in decision.markets:
            now_v = str(md.verdict)
            if before.get(md.condition_id, "quoting") != now_v:
                market = self.market_by_cid.get(md.condition_id)
                name = (market.slug or market.question) if market is not None else ""
                level = (
                    logging.INFO
                    if md.verdict.may_quote or md.condition_id not in quoted
                    else logging.WARNING
                )
                log.log(level, "risk: market %s %s %s", md.condition_id[:10], name[:40], now_v)
            if md.verdict.may_quote and md.desired:
                quoted.add(md.condition_id)

    def _strategy_input(self, marks: Marks):
        now = self.clock()
        books = self._book_views(now)
        inventory = {tok: self.inventory.shares(tok) for tok in self.market_by_token}
        live = tuple(
            LiveOrder(
                order_id=t.order_id or t.order.client_id,
                token_id=t.order.token_id,
                side=t.order.side,
                price=t.order.price,
                size_remaining=t.remaining,
                tag=t.order.tag,
                pending=not t.order_id,
                market=t.order.market,
                cancel_pending=t.state == "cancelling",
            )
            for t in self.tracker.all()
        )
        pnl = marks.pnl
        hedged = {tok: self.inventory.hedged_shares(tok) for tok in self.market_by_token}
        return StrategyInput(
            now=now,
            markets=self.markets,
            events=self.events,
            books=books,
            inventory=inventory,
            position_value_usd=marks.position_value_usd,
            unhedged_position_usd=marks.split.unhedged_usd,
            hedged_position_usd=marks.split.hedged_usd,
            daily_pnl_usd=pnl.realized + pnl.unrealized - self._day_start_pnl(pnl, now),
            open_orders=live,
            user_feed_up=self.feeds_up.get("user", False),
            venue_mode=self.venue_mode,
            recent_rejects=tuple(self.recent_rejects),
            hedged={t: s for t, s in hedged.items() if s},
            trading_day=time.strftime("%Y-%m-%d", time.gmtime(now)),
            arb_exposure_usd=sum((hs.cost_usd for hs in self.inventory.hedged_sets()), ZERO)
            + self.arb.baskets.in_flight_usd(),
        )

    def _day_start_pnl(self, pnl, now: float) -> Decimal:
        """P&L at the start of the UTC day, so the daily loss limit measures today's loss only."""
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        if self._pnl_day != day:
            self._pnl_day = day
            self._pnl_day_start = pnl.realized + pnl.unrealized
        return self._pnl_day_start

    def _book_views(self, now: float) -> dict:
        return {
            tok: BookView.from_update(u, age_secs=now - self.book_ts.get(tok, now))
            for tok, u in self.books.items()
        }

    def _mids(self) -> dict[str, Decimal]:
        mids = {}
        for tok, u in self.books.items():
            if u.best_bid is not None and u.best_ask is not None:
                mids[tok] = (u.best_bid + u.best_ask) / 2
        return mids

    def _new_order(self, d, origin_ns: int) -> NewOrder:
        m = self.market_by_cid.get(d.market) or self.market_by_token[d.token_id]
        book = self.books.get(d.token_id)
        tick = book.tick if book is not None else m.tick
        o = d.to_new_order(f"c{next(self._ids)}", neg_risk=m.neg_risk, tick=tick)
        if origin_ns:
            from dataclasses import replace

            o = replace(o, origin_ns=origin_ns)
        return o

    def _emit(self, decision, origin_ns: int) -> None:
        now = self.clock()
        if decision.cancel_all:
            log.warning("risk: cancel all (%s)", decision.cancel_all_reason)
            self.commands.put(CancelAll(reason=decision.cancel_all_reason))
            self.tracker.on_cancel_sent(list(self.tracker.live_ids()), now)
        live_ids = self.tracker.live_ids()
        cancel_ids = [i for i in decision.cancel_ids if i in live_ids]
        creates = [self._new_order(d, origin_ns) for d in decision.new_orders]
        for md in decision.markets:
            if md.requote_reason:
                log.debug("re-quote %s: %s", md.condition_id[:10], md.requote_reason)
        if cancel_ids or creates:
            for o in creates:
                self.tracker.on_sent(o, now)
            self.tracker.on_cancel_sent(cancel_ids, now)
            if cancel_ids and creates:
                cancelling = [
                    t.order for t in (self.tracker.get(i) for i in cancel_ids) if t is not None
                ]
                self.commands.put(
                    Replace(
                        cancel_ids=tuple(cancel_ids),
                        creates=tuple(creates),
                        post_first=not any(
                            crosses(c, o, self.market_by_cid[c.market])
                            for c in creates
                            for o in cancelling
                        ),
                    )
                )
            elif creates:
                self.commands.put(Create(orders=tuple(creates)))
            else:
                self.commands.put(Cancel(order_ids=tuple(cancel_ids)))
        self.arb.on_decision(decision, origin_ns, now)

    # ------------------------------------------------------------------ publishing

    def _publish(self, marks: Marks) -> None:
        now = self.clock()
        pnl = marks.pnl
        live_tokens = sum(1 for u in self.books.values() if u.live)
        by_market = self.tracker.count_by_market()
        decision = self._last_decision
        paused = {}
        halted = ""
        if decision is not None:
            for md in decision.markets:
                if not md.verdict.may_quote:
                    paused[md.condition_id] = md.verdict.reason
            if not decision.verdict.may_quote:
                halted = decision.verdict.reason
        self.state.publish(
            StateView(
                started=True,
                quoting=self._quoting_enabled,
                venue_mode=self.venue_mode,
                market_feed_up=any(up for c, up in self.feeds_up.items() if c != "user"),
                user_feed_up=self.feeds_up.get("user", False),
                live_tokens=live_tokens,
                total_tokens=len(self.market_by_token),
                open_orders=len(self.tracker),
                open_orders_by_market=by_market,
                inventory={tok: self.inventory.shares(tok) for tok in self.market_by_token},
                position_value_usd=marks.position_value_usd,
                realized_pnl_usd=pnl.realized,
                unrealized_pnl_usd=pnl.unrealized,
                fees_usd=pnl.fees,
                fills=self.fill_count,
                paused=paused,
                halted_reason=halted,
                last_decision_ts=now,
                events_processed=self._events_processed,
            )
        )
        if time.monotonic() - self._last_metrics >= 0.25:
            self._last_metrics = time.monotonic()
            self._publish_metrics(marks, by_market, decision)

    def _publish_metrics(self, marks: Marks, by_market, decision) -> None:
        m = self.metrics
        mids, pnl = marks.mids, marks.pnl
        for cid, market in self.market_by_cid.items():
            mid = mids.get(market.yes_token)
            exp = self.inventory.exposure(market, mid)
            for tok, outcome in ((market.yes_token, "YES"), (market.no_token, "NO")):
                shares = self.inventory.shares(tok)
                tok_mid = mids.get(tok)
                m.inventory_shares.labels(market=cid, token=tok, outcome=outcome).set(float(shares))
                m.inventory_usd.labels(market=cid, token=tok, outcome=outcome).set(
                    float(shares * tok_mid) if tok_mid is not None else 0.0
                )
            m.exposure_shares.labels(market=cid).set(float(exp.net_yes_shares))
            if exp.net_yes_usd is not None:  # None until the market has a mid to mark at
                m.exposure_usd.labels(market=cid).set(float(exp.net_yes_usd))
                m.imbalance_usd.labels(market=cid).set(float(exp.imbalance_usd))
            m.open_orders.labels(market=cid).set(by_market.get(cid, 0))
        if decision is not None:
            for md in decision.markets:
                m.set_risk_state(
                    md.condition_id,
                    None
                    if md.verdict.state == "quoting"
                    else md.verdict.reason or md.verdict.state,
                )
        quotes: dict[tuple[str, str], int] = {}
        for t in self.tracker.all():
            if t.order.tag == "quote":
                key = (t.order.market, t.order.side.value)
                quotes[key] = quotes.get(key, 0) + 1
        for cid in self.market_by_cid:
            for side in ("BUY", "SELL"):
                m.quotes.labels(market=cid, side=side).set(quotes.get((cid, side), 0))
        self._publish_rewards()
        m.position_value_usd.set(float(marks.position_value_usd))
        m.position_value_by_kind_usd.labels(kind="hedged").set(float(marks.split.hedged_usd))
        m.position_value_by_kind_usd.labels(kind="unhedged").set(float(marks.split.unhedged_usd))
        if decision is not None:
            reducing = decision.verdict.reason if decision.verdict.state == "reduce_only" else ""
            m.risk_reduce_only.clear()
            m.risk_reduce_only.labels(reason=reducing).set(1 if reducing else 0)
        m.set_pnl(realized=pnl.realized, unrealized=pnl.unrealized, fees=pnl.fees)
        if decision is not None:
            m.set_halted(None if decision.verdict.may_quote else decision.verdict.reason)

    def _publish_rewards(self) -> None:
        """The bot's own reward score and share estimate per reward market (pmbot.rewards)."""
        if time.monotonic() - self._last_rewards < 1.0:
            return
        self._last_rewards = time.monotonic()
        own: dict[str, list[rewards.Quote]] = {}
        for t in self.tracker.all():
            mk = self.market_by_cid.get(t.order.market)
            if mk is not None and t.order_id:  # acknowledged: resting on the venue's book
                is_yes = t.order.token_id == mk.yes_token
                q = rewards.yes_terms(is_yes, t.order.side.value, t.order.price, t.remaining)
                own.setdefault(mk.condition_id, []).append(q)
        for cid, mk in self.market_by_cid.items():
            book = self.books.get(mk.yes_token)
            if mk.rewards_max_spread <= ZERO or book is None:
                continue
            est = rewards.own_estimate(mk, book.bids, book.asks, own.get(cid, ()))
            self.metrics.reward_score.labels(market=cid).set(float(est.score) if est else 0.0)
            share = float(est.share) if est else 0.0
            self.metrics.reward_share_estimate.labels(market=cid).set(share)

    def clear_order_metrics(self) -> None:
        """After the kill switch verified that nothing rests, the resting-order gauges read zero."""
        for cid in self.market_by_cid:
            self.metrics.open_orders.labels(market=cid).set(0)
            for side in ("BUY", "SELL"):
                self.metrics.quotes.labels(market=cid, side=side).set(0)
