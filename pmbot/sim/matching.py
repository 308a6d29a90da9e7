"""Price-time matching of a taker against the unified YES book, and the trades it produces.

Three match types follow from the two parties' tokens and sides (reference 6.1):

- NORMAL: BUY A vs SELL A (shares and collateral change hands);
- MINT:   BUY YES vs BUY NO (their collateral is split into one YES + one NO per unit);
- MERGE:  SELL YES vs SELL NO (one YES + one NO are merged back into one unit of collateral).

Fills happen at the MAKER's price with price-time priority; the taker pays
``shares * fee_rate * (p * (1 - p)) ** fee_exponent`` (the CLOB's ``fd.r``, ``fd.e``) in pUSD
rounded to 5 dp (never rounded to zero), makers pay nothing. Cash legs are rounded DOWN to 1e-6;
in MINT/MERGE the YES and NO legs add up to exactly the shares matched, so collateral is conserved.
A market (FAK/FOK) BUY with a ``budget`` fills by amount: it spends its pUSD at the limit or
better and can get more shares than its size (py-clob-client-v2 #89).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import partial

from pmbot.sim.ledger import Ledger
from pmbot.sim.markets import SimMarket
from pmbot.sim.orderbook import BUY, MATCHED, MICRO, ONE, SELL, ZERO, SimOrder, UnifiedBook
from pmbot.sim.payloads import fmt

FEE_QUANTUM = Decimal("0.00001")


@dataclass(slots=True, eq=False)
class SimTrade:
    id: str
    market: str
    taker: SimOrder
    size: Decimal
    price: Decimal  # first fill, in the taker's token terms
    fee: Decimal
    fee_rate_bps: int
    matched_at: float
    tx_hash: str
    maker_entries: list  # dicts, wire shape (plus the private "_cash" the taker's counterpart paid)
    maker_owners: list  # distinct, in order
    deltas: list  # (address, d_collateral, token, d_shares) for a FAILED reversal
    will_fail: bool
    status: str = "MATCHED"
    last_update: float = 0.0

    def owners(self) -> list[str]:
        """Every party, taker first, each once."""
        return [self.taker.owner] + [o for o in self.maker_owners if o != self.taker.owner]

    def last_fill_price(self) -> Decimal:
        """The last fill's price in the taker's token terms."""
        entry = self.maker_entries[-1]
        p = Decimal(entry["price"])
        return p if entry["asset_id"] == self.taker.token_id else ONE - p

    def last_yes_price(self) -> Decimal:
        p = self.last_fill_price()
        return p if self.taker.is_yes else ONE - p


def new_trade(
    market: SimMarket,
    taker: SimOrder,
    yes_price: Decimal,
    now: float,
    rng: random.Random,
    fail_share: Decimal,
) -> SimTrade:
    """A trade id from ``rng`` (reproducible runs) and its fate: FAILED with ``fail_share``."""
    trade_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    will_fail = fail_share > 0 and Decimal(str(rng.random())) < fail_share
    return SimTrade(
        id=trade_id,
        market=market.condition_id,
        taker=taker,
        size=ZERO,
        price=yes_price if taker.is_yes else ONE - yes_price,
        fee=ZERO,
        fee_rate_bps=market.fee_rate_bps,
        matched_at=now,
        tx_hash="0x" + hashlib.sha256(trade_id.encode()).hexdigest(),
        maker_entries=[],
        maker_owners=[],
        deltas=[],
        will_fail=will_fail,
        last_update=now,
    )


def round_fee(fee_raw: Decimal) -> Decimal:
    """Half-up to 5 dp, but a positive fee never rounds to zero."""
    fee = fee_raw.quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)
    if fee_raw > 0 and fee == 0:
        fee = FEE_QUANTUM
    return fee


def fill(
    ledger: Ledger,
    market: SimMarket,
    trade: SimTrade,
    taker: SimOrder,
    maker: SimOrder,
    q: Decimal,
    yes_price: Decimal,
) -> Decimal:
    """Move shares and collateral for ``q`` shares at the maker's YES price; returns the
    taker's unrounded fee for this fill."""
    if taker.token_id == maker.token_id:  # NORMAL
        x = yes_price if taker.is_yes else ONE - yes_price
        cash = (q * x).quantize(MICRO, rounding=ROUND_DOWN)
        taker_cash = maker_cash = cash
    else:  # MINT (both BUY) or MERGE (both SELL): YES and NO cash add up to exactly q
        yes_cash = (q * yes_price).quantize(MICRO, rounding=ROUND_DOWN)
        taker_cash, maker_cash = (
            (yes_cash, q - yes_cash) if taker.is_yes else (q - yes_cash, yes_cash)
        )
    for order, cash in ((taker, taker_cash), (maker, maker_cash)):
        ledger.transfer(trade.deltas, order, q, cash)
    ledger.release(maker, q)
    taker.size_matched += q
    maker.size_matched += q
    for order in (taker, maker):
        if trade.id not in order.associate_trades:
            order.associate_trades.append(trade.id)
    if maker.owner not in trade.maker_owners:
        trade.maker_owners.append(maker.owner)
    trade.maker_entries.append(
        {
            "order_id": maker.id,
            "owner": maker.owner,
            "maker_address": maker.address,
            "asset_id": maker.token_id,
            "matched_amount": fmt(q),
            "price": fmt(maker.price),
            "outcome": maker.outcome,
            "side": maker.side,
            "fee_rate_bps": "0",
            "outcome_index": 0 if maker.is_yes else 1,
            "_cash": taker_cash,
        }
    )
    x_t = yes_price if taker.is_yes else ONE - yes_price
    return q * market.fee_rate * (x_t * (ONE - x_t)) ** market.fee_exponent


def _settle_budget(taker: SimOrder, *, spent_all: bool) -> None:
    """A market BUY's size is what its pUSD bought: more than ``size`` at better prices (#89).
    Spent to the last unit: filled. Otherwise an FAK's unfilled part is killed as usual."""
    if spent_all or taker.size_matched > taker.original_size:
        taker.original_size = taker.size_matched


def match(
    ledger: Ledger,
    market: SimMarket,
    book: UnifiedBook,
    taker: SimOrder,
    *,
    start_trade: Callable[[Decimal], SimTrade],
    on_maker_filled: Callable[[SimOrder], None],
    on_level_changed: Callable[[str, Decimal, Decimal], None],
    cap: Decimal | None = None,
) -> SimTrade | None:
    """Match ``taker`` against the book, best level first, FIFO within a level.

    ``start_trade(yes_price)`` makes the trade at the first fill; ``on_maker_filled(maker)`` runs
    after each fill (a fully filled maker is already off the book and MATCHED);
    ``on_level_changed(maker_yes_side, level, new_total)`` runs once per level touched. ``cap``
    (the front_run knob) limits the shares matched. The taker's fee is charged here."""
    if taker.yes_side == BUY:
        levels, prices, totals = book.asks, book.ask_prices, book.ask_total
    else:
        levels, prices, totals = book.bids, book.bid_prices, book.bid_total
    maker_side = SELL if taker.yes_side == BUY else BUY
    trade: SimTrade | None = None
    fee_raw = ZERO
    room = partial(_room, taker, cap)
    while prices:
        level = prices[0] if taker.yes_side == BUY else prices[-1]
        if (level > taker.yes_price) if taker.yes_side == BUY else (level < taker.yes_price):
            break
        if room(level) <= 0:
            break
        queue = levels[level]
        while queue and (q := min(room(level), queue[0].remaining)) > 0:
            maker = queue[0]
            if trade is None:
                trade = start_trade(level)
            fee_raw += fill(ledger, market, trade, taker, maker, q, level)
            taker.spent += q * (level if taker.is_yes else ONE - level)
            totals[level] -= q
            if maker.remaining == 0:
                queue.popleft()
                maker.status = MATCHED
                maker.resting = False
            on_maker_filled(maker)
        book.version += 1
        total = totals[level]
        if not queue:
            del levels[level], totals[level]
            prices.remove(level)
            total = ZERO
        on_level_changed(maker_side, level, total)
    if taker.budget is not None:
        _settle_budget(taker, spent_all=taker.budget - taker.spent < taker.price * MICRO)
    if trade is not None:
        _charge(ledger, trade, taker, fee_raw)
    return trade


def _room(taker: SimOrder, cap: Decimal | None, level: Decimal) -> Decimal:
    """Shares the taker may still take at ``level``: its remaining size, or for a market BUY
    what its pUSD left buys there (floored to 1e-6); never past the front_run ``cap``."""
    if taker.budget is None:
        left = taker.remaining
    else:
        x = level if taker.is_yes else ONE - level
        left = ((taker.budget - taker.spent) / x).quantize(MICRO, rounding=ROUND_DOWN)
    return left if cap is None else min(left, cap - taker.size_matched)


def _charge(ledger: Ledger, trade: SimTrade, taker: SimOrder, fee_raw: Decimal) -> None:
    trade.size = taker.size_matched
    fee = round_fee(fee_raw)
    if fee:
        ledger.charge_fee(trade.deltas, taker.address, fee)
    trade.fee = fee
