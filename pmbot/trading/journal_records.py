"""The journal's records as the strategy thread reads them back, the row -> record conversions (one
place each, column lists beside them), and ``replay``, which rebuilds the inventory from them.

Restart recovery (``replay``): fills and position adjustments (Data API seeds, venue adoptions after
a reconcile) carry one global sequence number; replaying them in order rebuilds positions, average
costs, realized P&L and fees exactly as they were, the FillTracker learns every (trade, order) pair
already counted, and unreleased hedged sets come back. FAILED fills stay in the journal (so their
re-sends are recognised) but are not applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from pmbot.model import Fill, Side, TradeStatus
from pmbot.trading.inventory import HedgedSet, Inventory

Row = Sequence[Any]


@dataclass(frozen=True, slots=True)
class JournalOrder:
    order_id: str
    client_id: str
    market: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    size_matched: Decimal
    order_type: str
    tag: str
    status: str
    created_ts: float
    updated_ts: float


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A position set from venue truth: ``seed`` (whole book from the Data API; ``token_id`` ''
    marks an empty seed) or ``adopt`` (one token after a persistent reconcile mismatch)."""

    seq: int
    kind: str
    token_id: str
    size: Decimal
    avg_price: Decimal | None
    ts: float


@dataclass(frozen=True, slots=True)
class PnlRow:
    ts: float
    realized: Decimal
    unrealized: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class JournalState:
    orders: tuple[JournalOrder, ...]
    fills: tuple[Fill, ...]  # in the order they were recorded, every status (FAILED included)
    fill_seqs: tuple[int, ...]
    adjustments: tuple[Adjustment, ...]
    hedged_sets: tuple[HedgedSet, ...]  # not released
    last_trade_ts: float  # newest fill time: where a REST /data/trades catch-up starts
    last_pnl: PnlRow | None

    @property
    def realized_pnl(self) -> Decimal:
        return self.last_pnl.realized if self.last_pnl else Decimal(0)

    @property
    def fees(self) -> Decimal:
        return self.last_pnl.fees if self.last_pnl else Decimal(0)


# --------------------------------------------------------------------------- rows -> records

LOAD_ORDERS = (
    "SELECT order_id, client_id, market, token_id, side, price, size, size_matched, order_type,"
    " tag, status, created_ts, updated_ts FROM orders ORDER BY created_ts, order_id"
)
LOAD_FILLS = (
    "SELECT seq, trade_id, order_id, market, token_id, side, price, size, notional, fee_usd,"
    " is_maker, status, ts FROM fills ORDER BY seq"
)
LOAD_ADJUSTMENTS = (
    "SELECT seq, kind, token_id, size, avg_price, ts FROM adjustments ORDER BY seq, rowid"
)
LOAD_HEDGED_SETS = (
    "SELECT set_id, kind, legs, cost_usd, payout_usd, ts FROM hedged_sets"
    " WHERE released_ts IS NULL ORDER BY ts, set_id"
)
LOAD_LAST_PNL = "SELECT ts, realized, unrealized, fees FROM pnl ORDER BY id DESC LIMIT 1"


def _dec_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def order_from_row(r: Row) -> JournalOrder:
    return JournalOrder(
        order_id=r[0],
        client_id=r[1],
        market=r[2],
        token_id=r[3],
        side=Side(r[4]),
        price=Decimal(r[5]),
        size=Decimal(r[6]),
        size_matched=Decimal(r[7]),
        order_type=r[8],
        tag=r[9],
        status=r[10],
        created_ts=r[11],
        updated_ts=r[12],
    )


def fill_from_row(r: Row) -> Fill:
    """A ``LOAD_FILLS`` row (its first column, ``seq``, is not part of the fill)."""
    return Fill(
        trade_id=r[1],
        order_id=r[2],
        market=r[3],
        token_id=r[4],
        side=Side(r[5]),
        price=Decimal(r[6]),
        size=Decimal(r[7]),
        fee_usd=Decimal(r[9]),
        is_maker=bool(r[10]),
        status=TradeStatus(r[11]),
        ts=r[12],
        notional=_dec_or_none(r[8]),
    )


def adjustment_from_row(r: Row) -> Adjustment:
    return Adjustment(r[0], r[1], r[2], Decimal(r[3]), _dec_or_none(r[4]), r[5])


def hedged_set_from_row(r: Row) -> HedgedSet:
    legs = tuple((t, Decimal(s)) for t, s in json.loads(r[2]))
    return HedgedSet(r[0], r[1], legs, Decimal(r[3]), Decimal(r[4]), r[5])


def pnl_from_row(r: Row) -> PnlRow:
    return PnlRow(r[0], Decimal(r[1]), Decimal(r[2]), Decimal(r[3]))


# --------------------------------------------------------------------------- replay


class FillDedupe(Protocol):
    """The FillTracker's memory of fills already counted."""

    def restore(self, fills: Iterable[Fill]) -> None: ...


def replay(state: JournalState, inventory: Inventory, tracker: FillDedupe | None = None) -> None:
    """Rebuild ``inventory`` (and the FillTracker's dedupe set) from a loaded journal."""
    events: list[tuple[int, int, Fill | Adjustment | dict[str, tuple[Decimal, Decimal]]]] = [
        (seq, 1, f) for seq, f in zip(state.fill_seqs, state.fills, strict=True)
    ]
    seeds: dict[int, dict[str, tuple[Decimal, Decimal]]] = {}
    for adj in state.adjustments:
        if adj.kind == "seed":
            group = seeds.setdefault(adj.seq, {})
            if adj.token_id:
                group[adj.token_id] = (adj.size, adj.avg_price or Decimal(0))
        else:
            events.append((adj.seq, 0, adj))
    events.extend((seq, 0, group) for seq, group in seeds.items())
    for _, _, ev in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(ev, Fill):
            if ev.status is not TradeStatus.FAILED:
                inventory.apply_fill(ev)
        elif isinstance(ev, Adjustment):
            inventory.set_position(ev.token_id, ev.size, ev.avg_price)
        else:
            inventory.seed(ev)
    for hs in state.hedged_sets:
        inventory.restore_hedged_set(hs)
    if tracker is not None:
        tracker.restore(state.fills)
