"""Arbitrage baskets in flight: which legs were sent, what each leg filled, when the basket is done.

Single writer (the strategy thread). A basket opens when the strategy fires an opportunity (all legs
sent together as FOK/FAK). It is *ready* to settle once every leg has been reported by the executor
and either the fills the venue announced (``takingAmount`` of a matched BUY) have all arrived on the
user channel or ``wait_secs`` passed since the last report. Settling (in the engine) hands the
filled sizes to ``strategy.legging.plan_leg_repair``: complete sets become a hedged position, an
uneven remainder is unwound or completed within the configured loss, or reported as naked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Optional, Union

from pmbot.fills import FillChange
from pmbot.model import ZERO, NewOrder, OrderAccepted, OrderRejected, OrderUnknown, Side


@dataclass
class Basket:
    opp: object  # pmbot.strategy.arbitrage.Opportunity
    opened: float
    leg_of_client: dict[str, str]  # client id -> token
    leg_of_order: dict[str, str] = field(default_factory=dict)  # venue order id -> token
    outstanding: set[str] = field(default_factory=set)  # client ids the executor has not reported yet
    filled: dict[str, Decimal] = field(default_factory=dict)  # token -> shares
    cost: dict[str, Decimal] = field(default_factory=dict)  # token -> pUSD paid (fees apart)
    announced: dict[str, Decimal] = field(default_factory=dict)  # token -> shares the POST said matched
    last_report: float = 0.0

    def complete(self) -> bool:
        """Every fill the venue announced has arrived (nothing announced: wait for the timeout)."""
        return bool(self.announced) and all(self.filled.get(tok, ZERO) >= size for tok, size in self.announced.items())


class BasketBook:
    def __init__(self, wait_secs: float = 3.0) -> None:
        self.wait_secs = wait_secs
        self._open: list[Basket] = []
        self._by_client: dict[str, Basket] = {}
        self._by_order: dict[str, Basket] = {}
        # The user channel can report a leg's fill before the executor's report maps its order id
        # to the basket: keep such fills until the mapping arrives (or the basket settles).
        self._early: dict[str, list[FillChange]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open(self, opp, legs: list[NewOrder], now: float) -> Basket:
        b = Basket(opp=opp, opened=now, leg_of_client={o.client_id: o.token_id for o in legs},
                   outstanding={o.client_id for o in legs}, last_report=now)
        for tok in b.leg_of_client.values():
            b.filled[tok] = ZERO
            b.cost[tok] = ZERO
        self._open.append(b)
        for cid in b.leg_of_client:
            self._by_client[cid] = b
        return b

    def on_accepted(self, rep: Union[OrderAccepted, OrderUnknown], now: float) -> None:
        b = self._by_client.pop(rep.client_id, None)
        if b is None:
            return
        token = b.leg_of_client[rep.client_id]
        b.outstanding.discard(rep.client_id)
        b.last_report = now
        if rep.order_id:
            b.leg_of_order[rep.order_id] = token
            self._by_order[rep.order_id] = b
            for change in self._early.pop(rep.order_id, ()):
                self.on_fill(change)
        if isinstance(rep, OrderAccepted) and rep.status == "matched":
            shares = _dec(rep.taking_amount if rep.order.side is Side.BUY else rep.making_amount)
            if shares:
                b.announced[token] = shares

    def on_rejected(self, rep: OrderRejected, now: float) -> None:
        b = self._by_client.pop(rep.client_id, None)
        if b is not None:
            b.outstanding.discard(rep.client_id)
            b.last_report = now

    def on_fill(self, change: FillChange) -> None:
        fill = change.fill
        b = self._by_order.get(fill.order_id)
        if b is None:
            if self._by_client and fill.is_maker is False:  # a leg of an unreported basket order?
                self._early.setdefault(fill.order_id, []).append(change)
            return
        token = b.leg_of_order[fill.order_id]
        sign = {"new": 1, "reversed": -1}.get(change.kind, 0)
        if sign and fill.side is Side.BUY:
            b.filled[token] = b.filled.get(token, ZERO) + sign * fill.size
            b.cost[token] = b.cost.get(token, ZERO) + sign * fill.cost

    def ready(self, now: float) -> list[Basket]:
        done = [b for b in self._open
                if not b.outstanding and (b.complete() or now - b.last_report >= self.wait_secs)]
        for b in done:
            self._open.remove(b)
            for oid in b.leg_of_order:
                self._by_order.pop(oid, None)
        if not self._open:
            self._early.clear()
        return done

    def in_flight_usd(self) -> Decimal:
        return sum((getattr(b.opp, "cost_usd", ZERO) for b in self._open), ZERO)


def _dec(text: str) -> Optional[Decimal]:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return None
    return value if value > 0 else None
