"""What the strategy thread knows besides its orders, inventory and fills: the markets it trades,
the newest book of every token, and the venue's and feeds' status. Plain data with small queries;
the strategy thread is the only writer (the engine's handlers), its deciders and publishers read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pmbot.model import ZERO, EventInfo, MarketInfo, MarketUpdate, VenueMode
from pmbot.strategy.position import PositionSplit
from pmbot.strategy.views import BookView
from pmbot.trading.inventory import Pnl


@dataclass(slots=True)
class MarketIndex:
    """The quoted markets, the events (multi-outcome), every market by condition and by token.
    One object shared by the strategy thread's rooms; only a reload changes it (``set_quoted``)."""

    markets: tuple[MarketInfo, ...]
    events: tuple[EventInfo, ...]
    by_cid: dict[str, MarketInfo]
    by_token: dict[str, MarketInfo]

    @classmethod
    def build(cls, markets: tuple[MarketInfo, ...], events: tuple[EventInfo, ...]) -> MarketIndex:
        by_cid = {m.condition_id: m for m in list(markets) + [m for e in events for m in e.markets]}
        by_token: dict[str, MarketInfo] = {}
        for m in by_cid.values():
            by_token[m.yes_token] = m
            by_token[m.no_token] = m
        return cls(markets, events, by_cid, by_token)

    def set_quoted(self, markets: tuple[MarketInfo, ...]) -> None:
        """Quote ``markets`` from now on. Markets no longer quoted stay in the maps, so their late
        fills and positions still land; new ones are added."""
        for m in markets:
            self.by_cid[m.condition_id] = m
            self.by_token[m.yes_token] = m
            self.by_token[m.no_token] = m
        self.markets = markets


class Books:
    """The newest ``MarketUpdate`` of each token and when the strategy thread applied it."""

    def __init__(self) -> None:
        self.latest: dict[str, MarketUpdate] = {}
        self.applied_ts: dict[str, float] = {}

    def apply(self, updates: Iterable[MarketUpdate], now: float) -> int:
        """Store ``updates`` (one per token, already coalesced); returns the newest ``recv_ns``."""
        origin_ns = 0
        for upd in updates:
            self.latest[upd.token_id] = upd
            self.applied_ts[upd.token_id] = now
            origin_ns = max(origin_ns, upd.recv_ns)
        return origin_ns

    def views(self, now: float) -> dict[str, BookView]:
        return {
            tok: BookView.from_update(u, age_secs=now - self.applied_ts.get(tok, now))
            for tok, u in self.latest.items()
        }

    def mids(self) -> dict[str, Decimal]:
        return {
            tok: (u.best_bid + u.best_ask) / 2
            for tok, u in self.latest.items()
            if u.best_bid is not None and u.best_ask is not None
        }

    def live_count(self) -> int:
        return sum(1 for u in self.latest.values() if u.live)


@dataclass(slots=True)
class VenueStatus:
    """The venue's and the feeds' state as the strategy thread last heard it, plus its counters."""

    feeds_up: dict[str, bool] = field(default_factory=dict)  # connection -> up
    venue_mode: VenueMode = VenueMode.NORMAL
    recent_rejects: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    last_trade_ts: float = 0.0  # newest fill seen: where a REST trades catch-up starts
    fill_count: int = 0
    events_processed: int = 0
    # the funder's pUSD (balance capped by allowance) at the venue's last answer, before the bot's
    # open orders; None until read (then nothing is capped). ``collateral_cash``: the inventory's
    # cash flow when it was read, so the fills since then move the figure (``collateral_now``)
    collateral_usd: Decimal | None = None
    collateral_cash: Decimal = ZERO

    def set_collateral(self, free_usd: Decimal, cash_flow: Decimal) -> None:
        self.collateral_usd = free_usd
        self.collateral_cash = cash_flow

    def collateral_now(self, cash_flow: Decimal) -> Decimal | None:
        """The last read figure moved by the pUSD the bot's fills spent or received since."""
        if self.collateral_usd is None:
            return None
        return self.collateral_usd + cash_flow - self.collateral_cash

    @property
    def user_feed_up(self) -> bool:
        return self.feeds_up.get("user", False)

    @property
    def market_feed_up(self) -> bool:
        return any(up for conn, up in self.feeds_up.items() if conn != "user")


@dataclass(frozen=True, slots=True)
class Marks:
    """The inventory marked at the current mids, computed once per batch for the strategy input, the
    state view and the metrics alike."""

    mids: Mapping[str, Decimal]
    pnl: Pnl
    position_value_usd: Decimal
    split: PositionSplit  # the same total, hedged vs unhedged (issue 19)
