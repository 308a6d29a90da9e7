"""Desired quotes vs the bot's open orders -> (order ids to cancel, orders to place).

Orders match by ``(token, side, price, size)`` -- size is the remaining size, so a partly filled
quote no longer matches and is replaced. Matching is a multiset match: two identical desired orders
need two identical open ones. Pending (sent, not yet acknowledged) orders count as present and
are never duplicated; an unwanted pending order cannot be cancelled by id yet, so it is left for
the next round. Orders whose cancel was already sent (``cancel_pending``) count as gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pmbot.strategy.views import DesiredOrder, LiveOrder, QuoteKey


@dataclass(frozen=True, slots=True)
class Reconciliation:
    cancel_ids: tuple[str, ...] = ()
    new_orders: tuple[DesiredOrder, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.cancel_ids and not self.new_orders


def reconcile(desired: Sequence[DesiredOrder], open_orders: Iterable[LiveOrder]) -> Reconciliation:
    wanted: Counter[QuoteKey] = Counter(d.key for d in desired)
    cancel_ids: list[str] = []
    for order in open_orders:
        if order.cancel_pending:
            continue
        if wanted[order.key] > 0:
            wanted[order.key] -= 1
        elif not order.pending:
            cancel_ids.append(order.order_id)
    new_orders: list[DesiredOrder] = []
    for d in desired:
        if wanted[d.key] > 0:
            wanted[d.key] -= 1
            new_orders.append(d)
    return Reconciliation(cancel_ids=tuple(cancel_ids), new_orders=tuple(new_orders))


def resting_keys(open_orders: Iterable[LiveOrder]) -> Counter[QuoteKey]:
    """What is (or will be) resting: open and pending orders, minus those being cancelled."""
    return Counter(o.key for o in open_orders if not o.cancel_pending)
