"""Building ``StrategyInput`` for the pure ``decide()`` from replayed state.

The same fields, from the same sources, as ``pmbot.trading.engine.Engine._strategy_input``: book
views from the latest ``MarketUpdate`` of each token (age since its last event), inventory and
hedged shares from the bot's ``Inventory``, daily P&L measured from the start of the UTC day of the
(virtual) clock, and every open order as a ``LiveOrder`` (``pending`` until it rests, cancel-pending
once a cancel was sent). Kept as plain functions so the live engine could call them too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from decimal import Decimal

from pmbot.model import ZERO, MarketInfo, MarketUpdate
from pmbot.strategy.decide import StrategyInput
from pmbot.strategy.views import BookView, LiveOrder
from pmbot.trading.inventory import Inventory

from .fill_model import SimOrder


def book_views(
    updates: Mapping[str, MarketUpdate], last_event_s: Mapping[str, float], now: float
) -> dict[str, BookView]:
    return {
        tok: BookView.from_update(u, age_secs=now - last_event_s.get(tok, now))
        for tok, u in updates.items()
    }


def live_orders(orders: Iterable[SimOrder]) -> tuple[LiveOrder, ...]:
    return tuple(
        LiveOrder(
            order_id=so.order_id,
            token_id=so.order.token_id,
            side=so.order.side,
            price=so.order.price,
            size_remaining=so.remaining,
            tag=so.order.tag,
            pending=not so.live,
            market=so.order.market,
            cancel_pending=so.cancel_at_ms is not None,
        )
        for so in orders
    )


def mids(updates: Mapping[str, MarketUpdate]) -> dict[str, Decimal]:
    return {
        tok: (u.best_bid + u.best_ask) / 2
        for tok, u in updates.items()
        if u.best_bid is not None and u.best_ask is not None
    }


def trading_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def strategy_input(
    *,
    now: float,
    markets: tuple[MarketInfo, ...],
    views: Mapping[str, BookView],
    inventory: Inventory,
    marks: Mapping[str, Decimal],
    day_start_pnl: Decimal,
    orders: tuple[LiveOrder, ...],
    recent_rejects: tuple[float, ...] = (),
) -> StrategyInput:
    tokens = [t for m in markets for t in (m.yes_token, m.no_token)]
    pnl = inventory.pnl(marks)
    hedged = {tok: inventory.hedged_shares(tok) for tok in tokens}
    return StrategyInput(
        now=now,
        markets=markets,
        books=views,
        inventory={tok: inventory.shares(tok) for tok in tokens},
        position_value_usd=inventory.position_value_usd(marks),
        daily_pnl_usd=pnl.realized + pnl.unrealized - day_start_pnl,
        open_orders=orders,
        user_feed_up=True,
        recent_rejects=recent_rejects,
        hedged={t: s for t, s in hedged.items() if s},
        trading_day=trading_day(now),
        arb_exposure_usd=sum((hs.cost_usd for hs in inventory.hedged_sets()), ZERO),
    )
