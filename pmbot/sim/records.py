"""The exchange's orders and trades, their queries, and the retention that bounds their memory.

Open (resting) orders are kept for as long as they rest. A finished order (filled, cancelled,
expired, killed) and a trade in a final state (CONFIRMED or FAILED) are kept for
``retention_secs`` after they finished, then forgotten, so the sim and a sim-mode bot run for
days in bounded memory. What the venue's readers need stays exact:

- the user channel is live (events are sent when things happen, nothing is read back);
- ``GET /data/orders`` lists open orders only, which are never pruned;
- ``GET /data/order/{id}`` and ``GET /data/trades`` (also with its ``after`` cursor) answer
  everything that finished within the window; older records read as unknown;
- the Data API positions are aggregates in the ledger, never pruned.

One difference from the venue follows: an order id is refused as ``Duplicated`` only while the
exchange still knows it (open, or finished within the window).

``retention_secs`` 0 keeps everything (the behaviour before pruning). Not thread-safe on its own:
the exchange's lock guards it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from pmbot.sim.matching import SimTrade
from pmbot.sim.orderbook import SimOrder

FINAL_TRADE_STATUSES = ("CONFIRMED", "FAILED")


@dataclass(frozen=True, slots=True)
class RecordCounts:
    """How many records the exchange holds (the memory benchmark prints these)."""

    orders: int  # every order still known, open or finished
    open_orders: int
    trades: int
    pruned_orders: int  # forgotten since start
    pruned_trades: int


class Records:
    def __init__(self, retention_secs: float) -> None:
        self.retention_secs = retention_secs
        self._orders: dict[str, SimOrder] = {}
        self._open_by_owner: dict[str, dict[str, SimOrder]] = {}
        self._trades: dict[str, SimTrade] = {}
        self._trades_by_owner: dict[str, deque[str]] = {}
        self._finished_orders: deque[tuple[float, str]] = deque()  # (finished at, order id)
        self._final_trades: deque[tuple[float, str]] = deque()  # (final at, trade id)
        self._pruned_orders = 0
        self._pruned_trades = 0

    # ------------------------------------------------------------------ orders

    def has_order(self, order_id: str) -> bool:
        return order_id in self._orders

    def order(self, order_id: str) -> SimOrder | None:
        return self._orders.get(order_id)

    def add_order(self, order: SimOrder) -> None:
        self._orders[order.id] = order

    def rest(self, order: SimOrder) -> None:
        """The order now rests on the book: it is open until ``finish``."""
        self._open_by_owner.setdefault(order.owner, {})[order.id] = order

    def finish(self, order: SimOrder, now: float) -> None:
        """The order will never rest again (filled, cancelled, expired or killed)."""
        open_orders = self._open_by_owner.get(order.owner)
        if open_orders is not None:
            open_orders.pop(order.id, None)
            if not open_orders:
                del self._open_by_owner[order.owner]
        if self.retention_secs > 0:
            self._finished_orders.append((now, order.id))

    def open_orders(self, owner: str) -> list[SimOrder]:
        """The owner's resting orders, oldest first."""
        return sorted(self._open_by_owner.get(owner, {}).values(), key=lambda o: o.seq)

    def open_order_ids(self, owner: str) -> list[str]:
        return list(self._open_by_owner.get(owner, {}))

    def find_open(
        self, owner: str, order_id: str | None, market: str | None, asset_id: str | None
    ) -> list[SimOrder]:
        """``GET /data/orders``: the owner's open orders matching every filter given."""
        return [
            o
            for o in self.open_orders(owner)
            if (not order_id or o.id == order_id)
            and (not market or o.market == market)
            and (not asset_id or o.token_id == asset_id)
        ]

    # ------------------------------------------------------------------ trades

    def add_trade(self, trade: SimTrade) -> None:
        self._trades[trade.id] = trade
        for owner in trade.owners():
            self._trades_by_owner.setdefault(owner, deque()).append(trade.id)

    def trade(self, trade_id: str) -> SimTrade | None:
        return self._trades.get(trade_id)

    def trade_settled(self, trade: SimTrade, now: float) -> None:
        """Called after each status change; a final status starts the trade's retention."""
        if trade.status in FINAL_TRADE_STATUSES and self.retention_secs > 0:
            self._final_trades.append((now, trade.id))

    def trades_of(self, owner: str) -> Iterator[SimTrade]:
        """The owner's trades still kept, in match order."""
        for trade_id in self._trades_by_owner.get(owner, ()):
            trade = self._trades.get(trade_id)
            if trade is not None:
                yield trade

    def find_trades(
        self,
        owner: str,
        *,
        trade_id: str | None,
        market: str | None,
        asset_id: str | None,
        after: int | None,
        before: int | None,
    ) -> list[SimTrade]:
        """``GET /data/trades``: the owner's kept trades matching every filter given; ``after``
        and ``before`` are inclusive epoch seconds of the match."""
        return [
            t
            for t in self.trades_of(owner)
            if (not trade_id or t.id == trade_id)
            and (not market or t.market == market)
            and (not asset_id or _touches(t, asset_id))
            and (after is None or int(t.matched_at) >= after)
            and (before is None or int(t.matched_at) <= before)
        ]

    # ------------------------------------------------------------------ retention

    def prune(self, now: float) -> None:
        """Forget the finished orders and final trades older than the retention window."""
        if self.retention_secs <= 0:
            return
        horizon = now - self.retention_secs
        while self._finished_orders and self._finished_orders[0][0] <= horizon:
            _, order_id = self._finished_orders.popleft()
            order = self._orders.get(order_id)
            if order is not None and not order.resting:
                del self._orders[order_id]
                self._pruned_orders += 1
        owners: set[str] = set()
        while self._final_trades and self._final_trades[0][0] <= horizon:
            _, trade_id = self._final_trades.popleft()
            trade = self._trades.pop(trade_id, None)
            if trade is not None:
                self._pruned_trades += 1
                owners.update(trade.owners())
        for owner in owners:
            self._drop_pruned_ids(owner)

    def _drop_pruned_ids(self, owner: str) -> None:
        """Trade ids leave an owner's list from the front: trades become final in about the
        order they matched, so a pruned id behind a kept one waits a settlement period at most."""
        ids = self._trades_by_owner.get(owner)
        if ids is None:
            return
        while ids and ids[0] not in self._trades:
            ids.popleft()
        if not ids:
            del self._trades_by_owner[owner]

    def counts(self) -> RecordCounts:
        return RecordCounts(
            orders=len(self._orders),
            open_orders=sum(len(o) for o in self._open_by_owner.values()),
            trades=len(self._trades),
            pruned_orders=self._pruned_orders,
            pruned_trades=self._pruned_trades,
        )


def _touches(trade: SimTrade, asset_id: str) -> bool:
    return trade.taker.token_id == asset_id or any(
        e["asset_id"] == asset_id for e in trade.maker_entries
    )
