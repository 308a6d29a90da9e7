"""Arbitrage baskets in flight: which legs were sent, what each leg filled, when the basket is done.

Single writer (the strategy thread). A basket opens when the strategy fires an opportunity (all legs
sent together as FOK/FAK). It is *ready* to settle once every leg has been reported by the executor
and either the fills the venue announced (``takingAmount`` of a matched BUY) have all arrived on the
user channel or ``wait_secs`` passed since the last report. Settling (in the engine) hands the
filled sizes to ``strategy.legging.plan_leg_repair``: complete sets become a hedged position, an
uneven remainder is unwound or completed within the configured loss, or reported as naked.

A repair is itself checked: its orders (SELLs of the excess or BUYs of the missing shares) go out as
a *repair basket* (``open_repair``) that starts from the parent's fills, so when it settles the
engine sees the real outcome -- the sets it completed are recorded then, and whatever is still
uneven is planned again from fresh books (the user channel often beats the market channel, so the
first plan may have priced a book that was already gone) or, after the last round, reported as
naked instead of being assumed repaired.

A round whose orders were all reported is complete when every announced fill has arrived and no
order is left whose outcome the venue did not announce (a rejected FAK fills nothing: no wait).
An even basket settles at once; an uneven one only ``repair_grace_secs`` after the last report, so
the market channel has delivered the book changes the legs (and whoever beat them) caused before a
repair is priced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pmbot.model import ZERO, NewOrder, OrderAccepted, OrderRejected, OrderUnknown, Side
from pmbot.strategy.arbitrage import Opportunity
from pmbot.trading.fills import FillChange


@dataclass
class Basket:
    opp: Opportunity
    opened: float
    leg_of_client: dict[str, str]  # client id -> token
    leg_of_order: dict[str, str] = field(default_factory=dict)  # venue order id -> token
    outstanding: set[str] = field(
        default_factory=set
    )  # client ids the executor has not reported yet
    filled: dict[str, Decimal] = field(default_factory=dict)  # token -> shares
    cost: dict[str, Decimal] = field(default_factory=dict)  # token -> pUSD paid (fees apart)
    announced: dict[str, Decimal] = field(
        default_factory=dict
    )  # token -> shares the POST said matched
    last_report: float = 0.0
    received: dict[str, Decimal] = field(
        default_factory=dict
    )  # token -> shares filled by this round's orders
    hedged: Decimal = ZERO  # sets of this basket already recorded as a hedged position
    repair_round: int = (
        0  # 0: the arbitrage legs; n: the n-th round of orders repairing their uneven fills
    )
    planned_loss: Decimal = (
        ZERO  # expected repair losses committed so far (the bound is for all rounds)
    )
    unannounced: int = 0  # orders accepted without a "matched" answer: fills may still come

    def even(self) -> bool:
        return len(set(self.filled.values())) <= 1

    def complete(self) -> bool:
        """Every fill the venue announced has arrived and no accepted order's outcome is open
        (such orders -- unknown outcome, or resting -- are waited for until the timeout)."""
        return self.unannounced == 0 and all(
            self.received.get(tok, ZERO) >= size for tok, size in self.announced.items()
        )


class BasketBook:
    def __init__(self, wait_secs: float = 3.0, repair_grace_secs: float = 0.5) -> None:
        self.wait_secs = wait_secs
        self.repair_grace_secs = repair_grace_secs
        self._open: list[Basket] = []
        self._by_client: dict[str, Basket] = {}
        self._by_order: dict[str, Basket] = {}
        # The user channel can report a leg's fill before the executor's report maps its order id
        # to the basket: keep such fills until the mapping arrives (or the basket settles).
        self._early: dict[str, list[FillChange]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open(self, opp, legs: list[NewOrder], now: float) -> Basket:
        b = Basket(
            opp=opp,
            opened=now,
            leg_of_client={o.client_id: o.token_id for o in legs},
            outstanding={o.client_id for o in legs},
            last_report=now,
        )
        for tok in b.leg_of_client.values():
            b.filled[tok] = ZERO
            b.cost[tok] = ZERO
        self._track(b)
        return b

    def open_repair(self, parent: Basket, orders: list[NewOrder], now: float) -> Basket:
        """Follow the orders repairing ``parent``'s uneven legs, starting from its fills."""
        b = Basket(
            opp=parent.opp,
            opened=parent.opened,
            leg_of_client={o.client_id: o.token_id for o in orders},
            outstanding={o.client_id for o in orders},
            filled=dict(parent.filled),
            cost=dict(parent.cost),
            last_report=now,
            hedged=parent.hedged,
            repair_round=parent.repair_round + 1,
            planned_loss=parent.planned_loss,
        )
        self._track(b)
        return b

    def _track(self, b: Basket) -> None:
        self._open.append(b)
        for cid in b.leg_of_client:
            self._by_client[cid] = b

    def on_accepted(self, rep: OrderAccepted | OrderUnknown, now: float) -> None:
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
        shares = None
        if isinstance(rep, OrderAccepted) and rep.status == "matched":
            shares = _dec(rep.taking_amount if rep.order.side is Side.BUY else rep.making_amount)
        if shares:
            b.announced[token] = b.announced.get(token, ZERO) + shares
        else:
            b.unannounced += 1

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
        if not sign:
            return
        b.received[token] = b.received.get(token, ZERO) + sign * fill.size
        held = b.filled.get(token, ZERO)
        if fill.side is Side.BUY:
            b.filled[token] = held + sign * fill.size
            b.cost[token] = b.cost.get(token, ZERO) + sign * fill.cost
        else:  # an unwind: the shares sold leave at their average cost
            avg = b.cost.get(token, ZERO) / held if held > 0 else ZERO
            b.filled[token] = held - sign * fill.size
            b.cost[token] = b.cost.get(token, ZERO) - sign * fill.size * avg

    def ready(self, now: float) -> list[Basket]:
        done = [b for b in self._open if self._settles(b, now)]
        for b in done:
            self._open.remove(b)
            for oid in b.leg_of_order:
                self._by_order.pop(oid, None)
        if not self._open:
            self._early.clear()
        return done

    def _settles(self, b: Basket, now: float) -> bool:
        if b.outstanding:
            return False
        quiet = now - b.last_report
        if quiet >= self.wait_secs:
            return True
        return b.complete() and (b.even() or quiet >= self.repair_grace_secs)

    def in_flight_usd(self) -> Decimal:
        return sum((getattr(b.opp, "cost_usd", ZERO) for b in self._open), ZERO)


def _dec(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return None
    return value if value > 0 else None
