"""What the report counts, collected while the replay runs (bounded: per fill and per 10 s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pmbot.model import ZERO, Side

HORIZONS_MS = (1_000, 10_000, 60_000)
EQUITY_STEP_MS = 10_000


@dataclass(slots=True)
class _Pending:
    t_ms: int
    yes_token: bool
    side: Side
    price: Decimal
    size: Decimal
    next_h: int = 0  # index into HORIZONS_MS


@dataclass
class MarketStats:
    fills: int = 0
    maker_fills: int = 0
    taker_fills: int = 0
    filled_size: Decimal = ZERO
    quote_orders: int = 0
    filled_orders: set[str] = field(default_factory=set)
    markout_sum: list[Decimal] = field(default_factory=lambda: [ZERO] * len(HORIZONS_MS))
    markout_size: list[Decimal] = field(default_factory=lambda: [ZERO] * len(HORIZONS_MS))
    pending: list[_Pending] = field(default_factory=list)
    inventory_path: list[tuple[int, Decimal]] = field(default_factory=list)
    peak_abs_inventory: Decimal = ZERO
    verdict_ms: dict[str, int] = field(default_factory=dict)
    last_verdict: str = ""
    last_verdict_ms: int | None = None
    last_in_band: bool = False
    rewards_band_ms: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    def on_fill(self, order_id: str, t_ms: int, yes_token: bool, side: Side, price, size, maker):
        self.fills += 1
        if maker:
            self.maker_fills += 1
        else:
            self.taker_fills += 1
        self.filled_size += size
        self.filled_orders.add(order_id)
        self.pending.append(_Pending(t_ms, yes_token, side, price, size))

    def on_inventory(self, t_ms: int, net_yes: Decimal) -> None:
        self.inventory_path.append((t_ms, net_yes))
        self.peak_abs_inventory = max(self.peak_abs_inventory, abs(net_yes))

    def on_mid(self, t_ms: int, yes_mid: Decimal | None, *, before_event: bool = False) -> None:
        """Markouts: each fill measured against the mid at +1 s, +10 s, +60 s (its own token).

        Called with ``before_event`` and the mid that held until now for horizons that passed
        strictly before ``t_ms``, then after the event for those falling exactly on it."""
        if not before_event:
            if self.first_ms is None:
                self.first_ms = t_ms
            self.last_ms = t_ms
        if yes_mid is None or not self.pending:
            return
        due = t_ms - 1 if before_event else t_ms
        keep = []
        for p in self.pending:
            while p.next_h < len(HORIZONS_MS) and due >= p.t_ms + HORIZONS_MS[p.next_h]:
                mid = yes_mid if p.yes_token else 1 - yes_mid
                sign = 1 if p.side is Side.BUY else -1
                self.markout_sum[p.next_h] += sign * (mid - p.price) * p.size
                self.markout_size[p.next_h] += p.size
                p.next_h += 1
            if p.next_h < len(HORIZONS_MS):
                keep.append(p)
        self.pending = keep

    def on_verdict(self, t_ms: int, verdict: str, in_band: bool = False) -> None:
        """The state until the next call: the verdict and whether both quotes sit in the band."""
        if self.last_verdict_ms is not None:
            key, span = self.last_verdict, t_ms - self.last_verdict_ms
            self.verdict_ms[key] = self.verdict_ms.get(key, 0) + span
            if self.last_in_band:
                self.rewards_band_ms += span
        self.last_verdict, self.last_verdict_ms, self.last_in_band = verdict, t_ms, in_band

    def close(self, t_ms: int) -> None:
        self.on_verdict(t_ms, self.last_verdict, self.last_in_band)
