"""The replay loop: records in, decisions on a virtual clock, fills, inventory, statistics.

Single-threaded and sleep-free: the clock is the receive time of the record being replayed. For
each record: orders and cancels that became due are applied, the record goes through the bot's own
feed (``ReplayFeed``), replayed trades and book changes move queue positions and fill orders, the
fills go into the bot's own ``Inventory`` (as ``pmbot.model.Fill``), then, if a quoted market's
book changed, the pure ``decide()`` runs and its decision becomes placements and cancels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ONE, ZERO, Fill, MarketInfo, MarketUpdate, Side, TradeStatus
from pmbot.strategy.decide import Decision, StrategyMemory, decide
from pmbot.strategy.params import StrategyParams
from pmbot.strategy.views import DesiredOrder
from pmbot.trading.inventory import Inventory
from pmbot.venue.book import OrderBook
from pmbot.venue.wire_market import (
    LastTradeEvent,
    MarketResolvedEvent,
    ParseError,
    parse_frame,
)

from . import strategy_io
from .fill_model import ASK, BID, FillModel, SimFill, Trade, yes_terms
from .records import MarketMeta, Record
from .replay_feed import ReplayFeed
from .stats import EQUITY_STEP_MS, MarketStats


@dataclass(frozen=True, slots=True)
class SimSettings:
    queue_mode: str = "pro_rata"  # pro_rata | worst
    place_latency_ms: int = 50
    cancel_latency_ms: int = 50
    depth: int = 5  # levels per side the strategy sees (as the live feed's default)
    full_decide_ms: int = 1000  # every market re-decided at least this often (virtual time)


class Backtest:
    def __init__(
        self, metas: Iterable[MarketMeta], params: StrategyParams, settings: SimSettings
    ) -> None:
        self.metas = {m.info.condition_id: m for m in metas}
        self.markets: tuple[MarketInfo, ...] = tuple(m.info for m in self.metas.values())
        self.params, self.settings = params, settings
        self.feed = ReplayFeed(self.markets, depth=settings.depth)
        self.by_token = {t: m for m in self.markets for t in (m.yes_token, m.no_token)}
        self.models = {
            m.condition_id: FillModel(
                m,
                queue_mode=settings.queue_mode,
                place_latency_ms=settings.place_latency_ms,
                cancel_latency_ms=settings.cancel_latency_ms,
            )
            for m in self.markets
        }
        self.inventory = Inventory()
        self.market_inv = {m.condition_id: Inventory() for m in self.markets}
        self.stats = {m.condition_id: MarketStats() for m in self.markets}
        self.updates: dict[str, MarketUpdate] = {}
        self.marks: dict[str, Decimal] = {}
        self.last_event_s: dict[str, float] = {}
        self.memory = StrategyMemory()
        self.equity: list[tuple[int, Decimal]] = []
        self._unsettled = sorted(
            (int(m.info.end_date_ts * 1000), cid)
            for cid, m in self.metas.items()
            if m.payout_yes is not None and m.info.end_date_ts is not None
        )
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._next_equity_ms: int | None = None
        self._day = ""
        self._day_start = ZERO
        self.decisions = 0
        self._next_full_ms = 0
        self.rewards_on = params.quoting.rewards_max_spread_cents > ZERO
        self.records = 0
        self.now_ms = 0

    # ------------------------------------------------------------------ main loop

    def run(self, records: Iterable[Record]) -> None:
        for rec in records:
            self.step(rec)
        self.finish()

    def step(self, rec: Record) -> None:
        self.records += 1
        t = rec.t_ms
        self.now_ms = t
        if self._unsettled and t >= self._unsettled[0][0]:
            self._settle_due(t)
        for cid, fm in self.models.items():
            if fm.due_ms is not None and fm.due_ms <= t:
                book = self._yes_book(cid)
                if book is not None:
                    self._apply_fills(fm.advance(t, book))
        for cid, st in self.stats.items():
            if st.pending:  # markouts whose horizon passed before this event: the mid until now
                st.on_mid(t, self._yes_mid(cid), before_event=True)
        updates = self.feed.apply(rec)
        trades = self._trades(rec) if "last_trade_price" in rec.text else {}
        if "market_resolved" in rec.text:
            self._resolutions(rec)
        touched = {self.by_token[u.token_id].condition_id for u in updates} | set(trades)
        for u in updates:
            self.updates[u.token_id] = u
            self.last_event_s[u.token_id] = t / 1000
            if u.best_bid is not None and u.best_ask is not None:
                self.marks[u.token_id] = (u.best_bid + u.best_ask) / 2
        for cid in sorted(touched):
            book = self._yes_book(cid)
            fm = self.models[cid]
            if book is not None and fm.orders:
                self._apply_fills(fm.on_book(t, book, trades.get(cid, [])))
            self.stats[cid].on_mid(t, self._yes_mid(cid))
        self._sample_equity(t)
        if updates:
            self._decide(t, touched)

    def finish(self) -> None:
        for st in self.stats.values():
            st.close(self.now_ms)
        self._sample_equity(self.now_ms, force=True)

    # ------------------------------------------------------------------ pieces

    def _settle_due(self, t: int) -> None:
        """Markets past their end with a known payout: every held share is redeemed at the payout
        (a zero-fee SELL through the same inventory code), so their capital is free again."""
        while self._unsettled and t >= self._unsettled[0][0]:
            _end, cid = self._unsettled.pop(0)
            meta = self.metas[cid]
            m, payout = meta.info, meta.payout_yes
            assert payout is not None
            fm = self.models[cid]
            for oid in list(fm.orders):
                del fm.orders[oid]  # the venue cancels everything at resolution
            for tok, px in ((m.yes_token, payout), (m.no_token, 1 - payout)):
                shares = self.inventory.shares(tok)
                if shares > ZERO:
                    d = DesiredOrder(cid, tok, Side.SELL, px, shares, post_only=False, tag="settle")
                    self._apply_fills(
                        [SimFill("settle", d, t, px, shares, ZERO, False, px * shares)]
                    )

    def _resolutions(self, rec: Record) -> None:
        """A replayed ``market_resolved`` names the winner: the market settles now."""
        try:
            events = parse_frame(rec.text, [])
        except ParseError:
            return
        for ev in events:
            if type(ev) is not MarketResolvedEvent or ev.market not in self.metas:
                continue
            info = self.metas[ev.market].info
            if ev.winning_asset_id not in (info.yes_token, info.no_token):
                continue
            payout = ONE if ev.winning_asset_id == info.yes_token else ZERO
            self.metas[ev.market] = MarketMeta(info, payout)
            self._unsettled = [u for u in self._unsettled if u[1] != ev.market]
            self._unsettled.insert(0, (rec.t_ms, ev.market))
            self._settle_due(rec.t_ms)

    def _yes_book(self, cid: str) -> OrderBook | None:
        return self.feed.book(self.metas[cid].info.yes_token)

    def _yes_mid(self, cid: str) -> Decimal | None:
        u = self.updates.get(self.metas[cid].info.yes_token)
        if u is None or u.best_bid is None or u.best_ask is None or not u.live:
            return None
        return (u.best_bid + u.best_ask) / 2

    def _trades(self, rec: Record) -> dict[str, list[Trade]]:
        """Replayed trades (``last_trade_price`` with a size), in YES terms, by market."""
        if rec.kind != "ws":
            return {}
        try:
            events = parse_frame(rec.text, [])
        except ParseError:
            return {}
        out: dict[str, list[Trade]] = {}
        for ev in events:
            if type(ev) is not LastTradeEvent or ev.size is None or ev.side is None:
                continue
            m = self.by_token.get(ev.asset_id)
            if m is None:
                continue
            yes = ev.asset_id == m.yes_token
            px = ev.price if yes else 1 - ev.price
            taker_buys_yes = (ev.side.value == "BUY") == yes
            out.setdefault(m.condition_id, []).append(
                Trade(px, ev.size, ASK if taker_buys_yes else BID)
            )
        return out

    def _apply_fills(self, fills: list[SimFill]) -> None:
        for f in fills:
            o = f.order
            fill = Fill(
                trade_id=f"bt{next(self._trade_ids)}",
                order_id=f.order_id,
                market=o.market,
                token_id=o.token_id,
                side=o.side,
                price=f.price,
                size=f.size,
                fee_usd=f.fee,
                is_maker=f.is_maker,
                status=TradeStatus.CONFIRMED,
                ts=f.t_ms / 1000,
                notional=f.notional,
            )
            m = self.metas[o.market].info
            self.inventory.apply_fill(fill, m)
            self.market_inv[o.market].apply_fill(fill, m)
            st = self.stats[o.market]
            if o.tag != "settle":
                yes = o.token_id == m.yes_token
                st.on_fill(f.order_id, f.t_ms, yes, o.side, f.price, f.size, f.is_maker)
            st.on_inventory(f.t_ms, self.inventory.exposure(m, None).net_yes_shares)

    def _active_markets(self, now: float) -> tuple[MarketInfo, ...]:
        """Markets with a recent book event or open orders: the others would only be re-evaluated
        as stale (nothing to cancel), which costs time and changes nothing."""
        horizon = 2 * float(self.params.risk.stale_book_secs)
        return tuple(
            m
            for m in self.markets
            if self.models[m.condition_id].orders
            or now - self.last_event_s.get(m.yes_token, -1e18) <= horizon
        )

    def _sample_equity(self, t: int, force: bool = False) -> None:
        if self._next_equity_ms is None:
            self._next_equity_ms = t
        if t < self._next_equity_ms and not force:
            return
        self.equity.append((t, self.inventory.pnl(self.marks).total))
        self._next_equity_ms = t + EQUITY_STEP_MS

    def _decide(self, t: int, touched: set[str]) -> None:
        """``decide()`` for the markets this event touched, and for every active market once per
        ``full_decide_ms`` (time-based guards: stale books, end dates, cool-offs). Markets whose
        book did not change would only repeat their previous decision in between."""
        now = t / 1000
        active = self._active_markets(now)
        if t >= self._next_full_ms:
            self._next_full_ms = t + self.settings.full_decide_ms
        else:
            active = tuple(m for m in active if m.condition_id in touched)
            if not active:
                return
        marks = self.marks
        day = strategy_io.trading_day(now)
        if day != self._day:
            pnl = self.inventory.pnl(marks)
            self._day, self._day_start = day, pnl.realized + pnl.unrealized
        orders = [so for fm in self.models.values() for so in fm.orders.values()]
        tokens = [t for m in active for t in (m.yes_token, m.no_token)]
        inp = strategy_io.strategy_input(
            now=now,
            markets=active,
            views=strategy_io.book_views(
                {t: self.updates[t] for t in tokens if t in self.updates}, self.last_event_s, now
            ),
            inventory=self.inventory,
            marks=marks,
            day_start_pnl=self._day_start,
            orders=strategy_io.live_orders(orders),
        )
        decision = decide(inp, self.memory, self.params)
        self.memory = decision.memory
        self.decisions += 1
        self._emit(decision, t)

    def _in_rewards_band(self, cid: str, desired: tuple[DesiredOrder, ...]) -> bool:
        """Both a bid and an ask wanted within ``rewards_max_spread_cents`` of the mid (YES
        terms)."""
        band = self.params.quoting.rewards_max_spread_cents / 100
        mid = self._yes_mid(cid)
        if band <= ZERO or mid is None or not desired:
            return False
        sides = set()
        for d in desired:
            side, px = yes_terms(d, self.metas[cid].info)
            if abs(px - mid) <= band:
                sides.add(side)
        return len(sides) == 2

    def _emit(self, decision: Decision, t: int) -> None:
        if decision.cancel_all:
            for fm in self.models.values():
                for oid in list(fm.orders):
                    fm.cancel(oid, t)
        for md in decision.markets:
            in_band = self._in_rewards_band(md.condition_id, md.desired)
            self.stats[md.condition_id].on_verdict(t, str(md.verdict), in_band)
            fm = self.models[md.condition_id]
            for oid in md.cancel_ids:
                fm.cancel(oid, t)
            for d in md.new_orders:
                fm.place(f"o{next(self._ids):09d}", d, t)
                self.stats[md.condition_id].quote_orders += 1
        for d in decision.arb_orders:
            self.models[d.market].place(f"o{next(self._ids):09d}", d, t)
