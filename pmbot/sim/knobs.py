"""The exchange's test knobs: runtime markets, tick changes, books, balances, resolution.

Functions of an :class:`~pmbot.sim.engine.Exchange` that the exchange exposes as locked methods
(``Exchange.set_book`` and so on) and ``Faults`` reaches through ``POST /_sim/control``. Each is
called with the exchange's lock held and emits the venue's messages for what it changed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from pmbot.sim import payloads
from pmbot.sim.markets import SimMarket
from pmbot.sim.orderbook import ONE, ZERO

if TYPE_CHECKING:
    from pmbot.sim.engine import Exchange

log = logging.getLogger(__name__)

Levels = list[tuple[Decimal, Decimal]]  # (price, size)


def add_market(ex: Exchange, market: SimMarket, background: bool) -> SimMarket:
    """Add a market at runtime (benchmarks, new_market tests); emits ``new_market``. Without
    ``background`` it starts with an empty, frozen book (fill it with ``set_book``)."""
    if not market.gamma_id:
        market = replace(market, gamma_id=str(600001 + len(ex.markets)))
    ex.register_market(market)
    now = ex.now()
    if background:
        ex.traders.add_market(market, now)
    else:
        ex.traders.frozen.add(market.condition_id)
    event = ex.events.get(market.event_slug or "")
    ex.emit("market", market.condition_id, payloads.new_market_message(market, event, now))
    return market


def set_tick_size(ex: Exchange, token_id: str, tick: Decimal) -> None:
    market = ex.market_of_token(token_id)
    old = market.tick
    if tick == old:
        return
    ex.markets[market.condition_id] = replace(market, tick=tick)
    now = ex.now()
    for token in market.tokens:
        ex.emit("market", token, payloads.tick_size_change_message(market, token, old, tick, now))
    log.info("tick size of %s changed %s -> %s", market.slug, old, tick)


def set_book(ex: Exchange, token_id: str, bids: Levels, asks: Levels, freeze: bool) -> None:
    """Replace the background makers' ladder on the token's market with these levels (token
    terms; a NO token's levels are mirrored into the YES book). Orders of other owners stay."""
    market = ex.market_of_token(token_id)
    bids = [(Decimal(str(p)), Decimal(str(s))) for p, s in bids]
    asks = [(Decimal(str(p)), Decimal(str(s))) for p, s in asks]
    if token_id == market.no_token:
        bids, asks = [(ONE - p, s) for p, s in asks], [(ONE - p, s) for p, s in bids]
    if bids and asks and max(p for p, _ in bids) >= min(p for p, _ in asks):
        raise ValueError("set_book: bids cross asks")
    if freeze:
        ex.traders.frozen.add(market.condition_id)
    ex.traders.set_ladder(market, bids, asks, ex.now())


def set_position(ex: Exchange, address: str, token_id: str, size: Decimal) -> None:
    """Give ``address`` ``size`` shares, bought at the market's initial fair value."""
    market = ex.market_of_token(token_id)
    acct = ex.account(address)
    size = Decimal(str(size))
    acct.positions[token_id] = size
    fair = market.fair_value if token_id == market.yes_token else ONE - market.fair_value
    acct.cost[token_id] = [size * fair, size, ZERO]


def resolve_market(ex: Exchange, condition_id: str, yes_wins: bool) -> None:
    """Cancel the market's orders, close it, redeem every position (winner pays 1) and emit
    ``market_resolved``."""
    market = ex.markets[condition_id]
    now = ex.now()
    for order in list(ex.book(condition_id).orders()):
        ex.cancel(order, now)
    winner = market.yes_token if yes_wins else market.no_token
    ex.redeem(market.tokens, winner)
    ex.markets[condition_id] = replace(market, closed=True, active=False, accepting_orders=False)
    ex.traders.frozen.add(condition_id)
    msg = payloads.new_market_message(market, ex.events.get(market.event_slug or ""), now)
    msg.update(
        event_type="market_resolved",
        winning_asset_id=winner,
        winning_outcome="Yes" if yes_wins else "No",
    )
    ex.emit("market", condition_id, msg)
