"""Background traders that make the simulated market live: a latent fair value per market that
walks (Gaussian steps, occasional jumps, a weak pull back to its start), makers that keep a
ladder of levels around it, and takers that hit the book now and then.

They are internal accounts that go through the exchange's one order path (``Exchange._submit``),
so they produce the same market and user events as anybody and can fill the bot. Makers post
asks as BUY NO when they hold no YES (the unified book makes that a YES ask), so they only need
collateral; takers sell what they hold and otherwise buy the other token, which exercises
NORMAL, MINT and MERGE matches.

Multi-outcome (neg-risk) events: the outcomes' fair values are renormalised to sum to
``1 + dislocation``, where the dislocation jumps now and then and decays, so the sum of YES asks
sometimes drops below 1 (a basket) or the sum of bids rises above 1.

Deterministic under the seed given the same sequence of calls. Runs under the exchange lock.
"""

from __future__ import annotations

import hashlib
import logging
import random
from decimal import Decimal
from typing import Protocol

from pmbot.model import round_down, round_up
from pmbot.sim.ledger import Account
from pmbot.sim.markets import SimConfig, SimEvent, SimMarket
from pmbot.sim.order_checks import SimReject
from pmbot.sim.orderbook import SimOrder, UnifiedBook

log = logging.getLogger(__name__)

ZERO, ONE = Decimal(0), Decimal(1)
MICRO = Decimal("0.000001")
MAKER_OWNER, MAKER_ADDRESS = "sim-background-maker", "0x000000000000000000000000000000000000b0b1"
TAKER_OWNER, TAKER_ADDRESS = "sim-background-taker", "0x000000000000000000000000000000000000b0b2"
FAIR_MIN, FAIR_MAX = Decimal("0.005"), Decimal("0.995")
TICK_BAND_LOW, TICK_BAND_HIGH = Decimal("0.04"), Decimal("0.96")
TICK_BACK_LOW, TICK_BACK_HIGH = Decimal("0.05"), Decimal("0.95")  # hysteresis
DISLOCATION_DECAY = Decimal("0.97")


class TraderVenue(Protocol):
    """What the traders use of the exchange; every call is made with its lock held."""

    markets: dict[str, SimMarket]
    events: dict[str, SimEvent]

    @property
    def internal_owners(self) -> set[str]: ...
    def account(self, address: str) -> Account: ...
    def book(self, condition_id: str) -> UnifiedBook: ...
    def order(self, order_id: str) -> SimOrder | None: ...
    def cancel(self, order: SimOrder, now: float) -> None: ...
    def set_tick_size(self, token_id: str, tick: Decimal) -> None: ...
    def submit(
        self,
        *,
        owner: str,
        address: str,
        token_id: str,
        side: str,
        price: Decimal,
        size: Decimal,
        order_type: str,
        post_only: bool,
        order_id: str,
        expiration: int,
        now: float,
    ) -> dict: ...


def _d(x: float) -> Decimal:
    return Decimal(repr(round(x, 6)))


def _clamp(x: Decimal, lo: Decimal, hi: Decimal) -> Decimal:
    return max(lo, min(hi, x))


def ladder_prices(
    fair: Decimal, tick: Decimal, half_spread_ticks: int, levels: int
) -> tuple[list, list]:
    """YES bid and ask prices (best first) of a ladder around ``fair``: the spread is
    ``2*h - 1`` ticks (``2*h`` when fair sits on a tick), ``levels`` deep, inside [tick, 1-tick]."""
    lo, hi = round_down(fair, tick), round_up(fair, tick)
    h = max(1, half_spread_ticks)
    if lo == hi:
        bid0, ask0 = lo - h * tick, hi + h * tick
    else:
        bid0, ask0 = lo - (h - 1) * tick, hi + (h - 1) * tick
    bid0 = min(bid0, ONE - 2 * tick)
    ask0 = max(ask0, 2 * tick, bid0 + tick)
    bids = [bid0 - k * tick for k in range(levels) if bid0 - k * tick >= tick]
    asks = [ask0 + k * tick for k in range(levels) if ask0 + k * tick <= ONE - tick]
    return bids, asks


class BackgroundTraders:
    def __init__(self, exchange: TraderVenue, config: SimConfig, rng: random.Random) -> None:
        self.x = exchange
        self.config = config
        self.rng = rng
        self.frozen: set[str] = set()
        self.fair: dict[str, Decimal] = {m.condition_id: m.fair_value for m in config.markets}
        self.ladder: dict[str, list[str]] = {}  # condition id -> maker order ids
        self.dislocation: dict[str, Decimal] = {e.slug: ZERO for e in config.events}
        self._n = 0
        exchange.internal_owners.update((MAKER_OWNER, TAKER_OWNER))
        for address in (MAKER_ADDRESS, TAKER_ADDRESS):
            exchange.account(address).collateral = config.background_balance

    # ------------------------------------------------------------------ order plumbing

    def _place(
        self,
        owner: str,
        address: str,
        token: str,
        side: str,
        price: Decimal,
        size: Decimal,
        order_type: str,
        now: float,
    ) -> str | None:

        self._n += 1
        order_id = (
            "0x"
            + hashlib.sha256(
                f"pmbot.sim.background:{self.config.seed}:{self._n}".encode()
            ).hexdigest()
        )
        try:
            self.x.submit(
                owner=owner,
                address=address,
                token_id=token,
                side=side,
                price=price,
                size=size,
                order_type=order_type,
                post_only=False,
                order_id=order_id,
                expiration=0,
                now=now,
            )
        except SimReject as exc:
            log.debug("background %s order refused: %s", owner, exc.message)
            return None
        return order_id

    def _maker_orders(self, cid: str) -> list:
        orders = (self.x.order(oid) for oid in self.ladder.get(cid, []))
        live = [o for o in orders if o is not None and o.resting]
        self.ladder[cid] = [o.id for o in live]
        return live

    def _place_level(
        self, market: SimMarket, yes_side: str, yes_price: Decimal, size: Decimal, now: float
    ) -> None:
        """A YES bid is BUY YES; a YES ask is SELL YES if the maker holds shares, else BUY NO."""
        if yes_side == "BUY":
            oid = self._place(
                MAKER_OWNER, MAKER_ADDRESS, market.yes_token, "BUY", yes_price, size, "GTC", now
            )
        else:
            acct = self.x.account(MAKER_ADDRESS)
            free = acct.positions.get(market.yes_token, ZERO) - acct.reserved_shares.get(
                market.yes_token, ZERO
            )
            if free >= size:
                oid = self._place(
                    MAKER_OWNER,
                    MAKER_ADDRESS,
                    market.yes_token,
                    "SELL",
                    yes_price,
                    size,
                    "GTC",
                    now,
                )
            else:
                oid = self._place(
                    MAKER_OWNER,
                    MAKER_ADDRESS,
                    market.no_token,
                    "BUY",
                    ONE - yes_price,
                    size,
                    "GTC",
                    now,
                )
        placed = self.x.order(oid) if oid is not None else None
        if placed is not None and placed.resting:
            self.ladder.setdefault(market.condition_id, []).append(placed.id)

    def _level_size(self, market: SimMarket) -> Decimal:
        return max(Decimal(self.rng.randint(20, 300)), market.min_size)

    # ------------------------------------------------------------------ ladders

    def seed_ladders(self, now: float) -> None:
        for market in list(self.x.markets.values()):
            if market.condition_id not in self.frozen:
                self.refresh(market.condition_id, now)

    def add_market(self, market: SimMarket, now: float) -> None:
        self.fair[market.condition_id] = market.fair_value
        self.refresh(market.condition_id, now)

    def set_ladder(self, market: SimMarket, yes_bids: list, yes_asks: list, now: float) -> None:
        """Replace the maker's orders on this market with exactly these YES levels."""
        for order in self._maker_orders(market.condition_id):
            self.x.cancel(order, now)
        self.ladder[market.condition_id] = []
        for price, size in sorted(yes_bids, reverse=True):
            self._place_level(market, "BUY", price, size, now)
        for price, size in sorted(yes_asks):
            self._place_level(market, "SELL", price, size, now)
        bids, asks = [p for p, _ in yes_bids], [p for p, _ in yes_asks]
        if bids and asks:
            self.fair[market.condition_id] = (max(bids) + min(asks)) / 2

    def refresh(self, cid: str, now: float) -> None:
        """Move the ladder to the current fair value, touching only the levels that differ."""
        market = self.x.markets[cid]
        bids, asks = ladder_prices(
            self.fair[cid], market.tick, market.half_spread_ticks, market.ladder_levels
        )
        want = {("BUY", p) for p in bids} | {("SELL", p) for p in asks}
        have = set()
        for order in self._maker_orders(cid):
            key = (order.yes_side, order.yes_price)
            if key in want and key not in have and order.remaining >= market.min_size:
                have.add(key)
            else:
                self.x.cancel(order, now)
        self._maker_orders(cid)
        for p in bids:
            if ("BUY", p) not in have:
                self._place_level(market, "BUY", p, self._level_size(market), now)
        for p in asks:
            if ("SELL", p) not in have:
                self._place_level(market, "SELL", p, self._level_size(market), now)

    # ------------------------------------------------------------------ the clock

    def step(self, now: float) -> None:
        live = [
            m for m in self.x.markets.values() if m.condition_id not in self.frozen and not m.closed
        ]
        for market in live:
            self._walk(market)
        for event in self.x.events.values():
            self._drift_event(event)
        for market in live:
            cid = market.condition_id
            self._maybe_change_tick(market)
            market = self.x.markets[cid]
            if self.rng.random() < self.config.maker_refresh_prob:
                self.refresh(cid, now)
            if self.rng.random() < self.config.taker_prob:
                self._take(market, now)

    def _walk(self, market: SimMarket) -> None:
        cid = market.condition_id
        fv = self.fair.setdefault(cid, market.fair_value)
        step = self.rng.gauss(0.0, float(market.volatility))
        if self.rng.random() < self.config.jump_prob:
            step += self.rng.choice((-1.0, 1.0)) * self.rng.uniform(
                0.02, float(self.config.jump_max)
            )
            log.debug("fair value jump on %s", market.slug)
        step += 0.001 * float(market.fair_value - fv)
        self.fair[cid] = _clamp(fv + _d(step), FAIR_MIN, FAIR_MAX)

    def _drift_event(self, event) -> None:
        if any(cid in self.frozen for cid in event.condition_ids):
            return
        dis = (self.dislocation.get(event.slug, ZERO) * DISLOCATION_DECAY).quantize(MICRO)
        if self.rng.random() < event.dislocation_prob:
            m = float(event.dislocation_max)
            dis = _d(self.rng.uniform(-m, m))
        self.dislocation[event.slug] = dis
        total = sum((self.fair[cid] for cid in event.condition_ids), ZERO)
        if total <= 0:
            return
        target = ONE + dis
        for cid in event.condition_ids:
            self.fair[cid] = _clamp(
                (self.fair[cid] * target / total).quantize(MICRO), FAIR_MIN, FAIR_MAX
            )

    def _maybe_change_tick(self, market: SimMarket) -> None:
        """The venue tightens the tick when the price leaves the 0.04..0.96 band (ref. 1.11)."""
        if market.base_tick not in (Decimal("0.1"), Decimal("0.01")):
            return
        fv = self.fair[market.condition_id]
        fine = market.base_tick / 10
        if market.tick == market.base_tick and (fv > TICK_BAND_HIGH or fv < TICK_BAND_LOW):
            self.x.set_tick_size(market.yes_token, fine)
        elif market.tick != market.base_tick and TICK_BACK_LOW <= fv <= TICK_BACK_HIGH:
            self.x.set_tick_size(market.yes_token, market.base_tick)

    def _take(self, market: SimMarket, now: float) -> None:
        """A FAK that lifts the ask or hits the bid, leaning towards the fair value."""
        book = self.x.book(market.condition_id)
        bb, ba = book.best_bid(), book.best_ask()
        if bb is None or ba is None:
            return
        fv = self.fair[market.condition_id]
        p_buy = min(0.85, max(0.15, 0.5 + float(fv - (bb + ba) / 2) * 10))
        tick = market.tick
        size = max(Decimal(self.rng.randint(5, 60)), market.min_size)
        acct = self.x.account(TAKER_ADDRESS)
        if self.rng.random() < p_buy:  # buy YES (or sell NO we hold) up to the ask plus a tick
            yes_limit = min(ba + tick * self.rng.randint(0, 1), ONE - tick)
            if acct.positions.get(market.no_token, ZERO) >= size:
                self._place(
                    TAKER_OWNER,
                    TAKER_ADDRESS,
                    market.no_token,
                    "SELL",
                    ONE - yes_limit,
                    size,
                    "FAK",
                    now,
                )
            else:
                size = max(size, (ONE / yes_limit).to_integral_value() + 1)
                self._place(
                    TAKER_OWNER, TAKER_ADDRESS, market.yes_token, "BUY", yes_limit, size, "FAK", now
                )
        else:  # sell YES (or buy NO) down to the bid minus a tick
            yes_limit = max(bb - tick * self.rng.randint(0, 1), tick)
            if acct.positions.get(market.yes_token, ZERO) >= size:
                self._place(
                    TAKER_OWNER,
                    TAKER_ADDRESS,
                    market.yes_token,
                    "SELL",
                    yes_limit,
                    size,
                    "FAK",
                    now,
                )
            else:
                size = max(size, (ONE / (ONE - yes_limit)).to_integral_value() + 1)
                self._place(
                    TAKER_OWNER,
                    TAKER_ADDRESS,
                    market.no_token,
                    "BUY",
                    ONE - yes_limit,
                    size,
                    "FAK",
                    now,
                )
