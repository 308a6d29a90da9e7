"""Inventory and P&L: positions per token, average cost, realized/unrealized P&L, fees, exposure.

Pure and single-writer (the strategy thread). Money is Decimal throughout.

Accounting is average cost per token. A token's state is a *baseline* (seeded from the Data API or
set by a reconcile) plus the fills applied since, in order. That makes a FAILED settlement exactly
undoable: the fill is removed and the token is replayed from its baseline, so later fills keep the
average cost they would have had. Fills whose settlement is CONFIRMED at the front of the list can
no longer fail and are folded into the baseline, so the list stays short.

Polymarket never lets a token go short (you cannot sell what you do not hold); the arithmetic still
handles a flip through zero, so a missed fill shows as a negative position instead of nonsense.

Exposure (issue 6 part 5): on a binary market NO mirrors YES, so a market's net YES exposure is
``q_yes - q_no`` shares, ``(q_yes - q_no) * mid`` dollars, and the dollar imbalance the
``max_inventory_imbalance`` rule compares is ``|q_yes - q_no| * mid``. Shares locked in hedged sets
(completed arbitrage baskets and complete sets, held to resolution) are excluded from the net
figures so the market maker's skew treats them as flat; they stay in ``value_usd`` and the total
position value. :meth:`Inventory.position_split` splits that total into hedged and unhedged value
(defined in ``pmbot.strategy.position``); ``risk.max_position_size_usd`` limits the unhedged part.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pmbot.model import ONE, ZERO, Fill, MarketInfo, Side, TradeStatus
from pmbot.strategy.position import PositionSplit, split_position


@dataclass(frozen=True, slots=True)
class Exposure:
    net_yes_shares: Decimal  # (q_yes - hedged_yes) - (q_no - hedged_no)
    net_yes_usd: Decimal | None  # net_yes_shares * mid; None without a mid
    imbalance_usd: Decimal | None  # |net_yes_shares| * mid
    value_usd: Decimal | None  # q_yes * mid + q_no * (1 - mid), hedged shares included
    q_yes: Decimal = ZERO
    q_no: Decimal = ZERO
    hedged_yes: Decimal = ZERO
    hedged_no: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Pnl:
    realized: Decimal
    unrealized: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.realized + self.unrealized - self.fees


@dataclass(frozen=True, slots=True)
class HedgedSet:
    """A completed arbitrage basket or complete set, held to resolution by default.

    ``payout_usd`` is what it pays at resolution whatever the outcome (sets for a YES basket or a
    binary complete set, ``sets * (n - 1)`` for an all-NO basket)."""

    set_id: str
    kind: str  # yes_basket | no_basket | complete_set
    legs: tuple[tuple[str, Decimal], ...]  # (token_id, shares)
    cost_usd: Decimal
    payout_usd: Decimal
    ts: float = 0.0

    @property
    def locked_edge_usd(self) -> Decimal:
        return self.payout_usd - self.cost_usd


@dataclass(frozen=True, slots=True)
class PositionView:
    token_id: str
    shares: Decimal
    avg_cost: Decimal
    cost_basis: Decimal
    realized: Decimal
    cash: Decimal  # pUSD flow from fills since the start (negative = spent), fees included


@dataclass(frozen=True, slots=True)
class InventorySnapshot:
    positions: Mapping[str, PositionView]
    realized: Decimal
    fees: Decimal
    hedged_sets: tuple[HedgedSet, ...]


@dataclass(frozen=True, slots=True)
class Reserved:
    """What resting orders lock: pUSD for bids, shares for asks (the venue checks both)."""

    usd: Decimal
    shares: Mapping[str, Decimal]


# --------------------------------------------------------------------------- per-token arithmetic


@dataclass(slots=True)
class _Book:
    """Mutable average-cost state of one token."""

    shares: Decimal = ZERO
    basis: Decimal = ZERO  # shares * avg cost (negative for a short)
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    cash: Decimal = ZERO

    def copy(self) -> _Book:
        return _Book(self.shares, self.basis, self.realized, self.fees, self.cash)

    def apply(self, side: Side, size: Decimal, cost: Decimal, fee: Decimal) -> None:
        if size <= 0:
            return
        self.fees += fee
        self.cash += (-cost if side is Side.BUY else cost) - fee
        delta = size if side is Side.BUY else -size
        signed_cost = cost if side is Side.BUY else -cost
        if self.shares == 0 or (self.shares > 0) == (delta > 0):
            self.shares += delta
            self.basis += signed_cost
            return
        close = min(size, abs(self.shares))
        close_cost = cost if close == size else cost * close / size
        basis_closed = self.basis * close / abs(self.shares)
        if self.shares > 0:  # selling out of a long
            self.realized += close_cost - basis_closed
        else:  # buying back a short (basis is negative)
            self.realized += -basis_closed - close_cost
        self.shares += close if delta > 0 else -close
        self.basis = ZERO if self.shares == 0 else self.basis - basis_closed
        rest = size - close
        if rest > 0:  # flipped through zero: the rest opens a new position at its own price
            rest_cost = cost - close_cost
            self.shares = delta / size * rest
            self.basis = rest_cost if delta > 0 else -rest_cost

    @property
    def avg_cost(self) -> Decimal:
        return self.basis / self.shares if self.shares else ZERO


@dataclass(slots=True)
class _Token:
    baseline: _Book = field(default_factory=_Book)
    fills: list = field(default_factory=list)  # Fill, in application order
    state: _Book = field(default_factory=_Book)

    def rebuild(self) -> None:
        book = self.baseline.copy()
        for f in self.fills:
            book.apply(f.side, f.size, f.cost, f.fee_usd)
        self.state = book

    def compact(self) -> None:
        """Fold leading CONFIRMED fills (they can no longer fail) into the baseline."""
        n = 0
        while n < len(self.fills) and self.fills[n].status is TradeStatus.CONFIRMED:
            f = self.fills[n]
            self.baseline.apply(f.side, f.size, f.cost, f.fee_usd)
            n += 1
        if n:
            del self.fills[:n]


# --------------------------------------------------------------------------- inventory


class Inventory:
    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._hedged: dict[str, HedgedSet] = {}

    def _token(self, token_id: str) -> _Token:
        tok = self._tokens.get(token_id)
        if tok is None:
            tok = self._tokens[token_id] = _Token()
        return tok

    # ------------------------------------------------------------------ fills

    def apply_fill(self, fill: Fill, market: MarketInfo | None = None) -> None:
        """Count a new fill (FillChange kind ``new``). ``market``, when given, is checked."""
        if market is not None and fill.token_id not in (market.yes_token, market.no_token):
            raise ValueError(f"fill token {fill.token_id} is not in market {market.condition_id}")
        tok = self._token(fill.token_id)
        tok.fills.append(fill)
        tok.state.apply(fill.side, fill.size, fill.cost, fill.fee_usd)
        if fill.status is TradeStatus.CONFIRMED:
            tok.compact()

    def reverse_fill(self, fill: Fill, market: MarketInfo | None = None) -> bool:
        """Undo a fill whose settlement FAILED. False if it was not applied here (no change)."""
        tok = self._tokens.get(fill.token_id)
        if tok is None:
            return False
        key = (fill.trade_id, fill.order_id)
        for i, f in enumerate(tok.fills):
            if (f.trade_id, f.order_id) == key:
                del tok.fills[i]
                tok.rebuild()
                return True
        return False

    def update_status(self, fill: Fill) -> None:
        """Settlement advanced (FillChange kind ``status``); CONFIRMED fills get folded in."""
        tok = self._tokens.get(fill.token_id)
        if tok is None:
            return
        key = (fill.trade_id, fill.order_id)
        for i, f in enumerate(tok.fills):
            if (f.trade_id, f.order_id) == key:
                tok.fills[i] = replace(f, status=fill.status)
                break
        tok.compact()

    # ------------------------------------------------------------------ venue truth

    def seed(self, positions: Mapping[str, tuple[Decimal, Decimal]]) -> None:
        """Start-up positions from the Data API: token -> (size, avg_price).

        Replaces every position (tokens not listed become flat); realized P&L and fees already
        known (e.g. from the journal) are kept."""
        for token_id, tok in self._tokens.items():
            if token_id not in positions:
                self._set(tok, ZERO, ZERO)
        for token_id, (size, avg_price) in positions.items():
            self._set(self._token(token_id), size, avg_price)

    def set_position(self, token_id: str, size: Decimal, avg_price: Decimal | None = None) -> None:
        """Adopt the venue's size for one token (reconcile resolved in favour of the venue).
        Keeps the current average cost unless ``avg_price`` is given."""
        tok = self._token(token_id)
        self._set(tok, size, tok.state.avg_cost if avg_price is None else avg_price)

    @staticmethod
    def _set(tok: _Token, size: Decimal, avg_price: Decimal) -> None:
        cur = tok.state
        tok.baseline = _Book(
            shares=size, basis=size * avg_price, realized=cur.realized, fees=cur.fees, cash=cur.cash
        )
        tok.fills.clear()
        tok.rebuild()

    # ------------------------------------------------------------------ hedged sets

    def record_hedged_set(
        self,
        set_id: str,
        legs: Mapping[str, Decimal],
        *,
        cost_usd: Decimal,
        payout_usd: Decimal,
        kind: str = "yes_basket",
        ts: float = 0.0,
    ) -> HedgedSet:
        if set_id in self._hedged:
            raise ValueError(f"hedged set {set_id} already recorded")
        hs = HedgedSet(set_id, kind, tuple(sorted(legs.items())), cost_usd, payout_usd, ts)
        self._hedged[set_id] = hs
        return hs

    def restore_hedged_set(self, hs: HedgedSet) -> None:
        self._hedged[hs.set_id] = hs

    def release_hedged_set(self, set_id: str) -> HedgedSet | None:
        """The set was merged, redeemed or unwound: its shares count as ordinary inventory again."""
        return self._hedged.pop(set_id, None)

    def hedged_sets(self) -> tuple[HedgedSet, ...]:
        return tuple(self._hedged.values())

    def hedged_shares(self, token_id: str) -> Decimal:
        """Shares of ``token_id`` locked in hedged sets, never more than are actually held."""
        locked = sum(
            (size for hs in self._hedged.values() for tok, size in hs.legs if tok == token_id), ZERO
        )
        return max(ZERO, min(locked, self.shares(token_id)))

    # ------------------------------------------------------------------ queries

    def shares(self, token_id: str) -> Decimal:
        tok = self._tokens.get(token_id)
        return tok.state.shares if tok else ZERO

    def avg_cost(self, token_id: str) -> Decimal:
        tok = self._tokens.get(token_id)
        return tok.state.avg_cost if tok else ZERO

    def tokens(self) -> list[str]:
        return [t for t, tok in self._tokens.items() if tok.state.shares != 0]

    def exposure(self, market: MarketInfo, mid: Decimal | None) -> Exposure:
        q_yes, q_no = self.shares(market.yes_token), self.shares(market.no_token)
        h_yes, h_no = self.hedged_shares(market.yes_token), self.hedged_shares(market.no_token)
        net = (q_yes - h_yes) - (q_no - h_no)
        if mid is None:
            return Exposure(net, None, None, None, q_yes, q_no, h_yes, h_no)
        value = q_yes * mid + q_no * (ONE - mid)
        return Exposure(net, net * mid, abs(net) * mid, value, q_yes, q_no, h_yes, h_no)

    def position_value_usd(self, mids: Mapping[str, Decimal]) -> Decimal:
        """Sum of shares * mid over held tokens; a token with no mid is marked at its cost basis
        (never at an invented price)."""
        total = ZERO
        for token_id, tok in self._tokens.items():
            mid = mids.get(token_id)
            total += tok.state.shares * mid if mid is not None else tok.state.basis
        return total

    def position_split(
        self, markets: Iterable[MarketInfo], mids: Mapping[str, Decimal]
    ) -> PositionSplit:
        """:meth:`position_value_usd` split into hedged and unhedged value (issue 19)."""
        held = {t: tok.state for t, tok in self._tokens.items() if tok.state.shares}
        return split_position(
            markets,
            {t: st.shares for t, st in held.items()},
            {t: self.hedged_shares(t) for t in held},
            mids,
            {t: st.avg_cost for t, st in held.items()},
            self.position_value_usd(mids),
        )

    def pnl(self, mids: Mapping[str, Decimal]) -> Pnl:
        realized = fees = unrealized = ZERO
        for token_id, tok in self._tokens.items():
            st = tok.state
            realized += st.realized
            fees += st.fees
            mid = mids.get(token_id)
            if mid is not None and st.shares:
                unrealized += st.shares * mid - st.basis
        return Pnl(realized, unrealized, fees)

    def cash_flow(self) -> Decimal:
        """pUSD that fills moved (sells - buys - fees): comparable with the venue's collateral."""
        return sum((tok.state.cash for tok in self._tokens.values()), ZERO)

    def snapshot(self) -> InventorySnapshot:
        positions = {
            t: PositionView(
                t,
                tok.state.shares,
                tok.state.avg_cost,
                tok.state.basis,
                tok.state.realized,
                tok.state.cash,
            )
            for t, tok in self._tokens.items()
            if tok.state.shares or tok.state.realized or tok.state.fees or tok.state.cash
        }
        realized = sum((p.realized for p in positions.values()), ZERO)
        fees = sum((tok.state.fees for tok in self._tokens.values()), ZERO)
        return InventorySnapshot(
            types.MappingProxyType(positions), realized, fees, self.hedged_sets()
        )


def reserved_by_orders(orders: Iterable[Any]) -> Reserved:
    """Collateral and shares locked by resting orders.

    Accepts ``OpenOrder`` (remaining = original_size - size_matched) or the order tracker's entries
    (``.order`` is a NewOrder, ``.remaining``). Bids lock ``price * remaining`` pUSD (post-only
    makers pay no fee); asks lock ``remaining`` shares of their token."""
    usd = ZERO
    shares: dict[str, Decimal] = {}
    for o in orders:
        if hasattr(o, "order"):
            side, token, price, remaining = (
                o.order.side,
                o.order.token_id,
                o.order.price,
                o.remaining,
            )
        else:
            side, token, price, remaining = (
                o.side,
                o.token_id,
                o.price,
                o.original_size - o.size_matched,
            )
        if remaining <= 0:
            continue
        if side is Side.BUY:
            usd += price * remaining
        else:
            shares[token] = shares.get(token, ZERO) + remaining
    return Reserved(usd, types.MappingProxyType(shares))
