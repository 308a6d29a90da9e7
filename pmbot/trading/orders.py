"""The bot's own view of its orders: pending creates, live orders, pending cancels.

Single writer: the strategy thread. Nothing here does I/O. The rules that keep the bot from ever
losing track of an order:

- A create is *pending* from the moment it is queued until the executor reports it. Pending orders
  count as present so the strategy does not place them twice.
- The user channel may show a new order before the executor's report: it takes over the pending
  create with the same terms, and the report that follows changes nothing (a cancel sent or a part
  filled in between stands).
- ``OrderUnknown`` (timeout after send) makes the order *live* under its hash id: it may be resting,
  and only the user channel or a REST reconcile may remove it.
- A cancel makes the order *cancelling*; it leaves only when the venue says it is cancelled, filled
  or unknown to it. An order that leaves by cancellation is reported once, whichever arrives first:
  the user channel's CANCELLATION or the executor's CancelResult (``pmbot_orders_cancelled_total``).
- An FAK/FOK answered ``matched`` or ``unmatched`` never rests: it is never tracked as live.
- ``adopt`` (start-up, ``orphan_policy: adopt``, before quoting starts) tracks the orders this key
  already has resting as live, tag ``adopted``: never cancelled as orphans, never re-quoted.
- This tracker is the bot's only record of its orders: the unknown-outcome gauge and the kill
  switch's fallback "left open" list are computed from it.
- ``reconcile`` compares with ``GET /data/orders``: venue orders we do not know are orphans (to be
  cancelled); local orders the venue does not list are dropped after a grace period, each difference
  with its cause.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from pmbot.model import (
    ZERO,
    CancelResult,
    NewOrder,
    OpenOrder,
    OrderAccepted,
    OrderEvent,
    OrderEventKind,
    OrderRejected,
    OrderType,
    OrderUnknown,
)
from pmbot.strategy.views import LiveOrder

log = logging.getLogger(__name__)

# How long an order the REST answer or the user channel says is gone may still show on the
# market feed's book: the channels are not ordered with each other (issue 20, tick-to-order bench).
JUST_GONE_SECS = 1.0


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    order: NewOrder
    order_id: str  # "" while pending
    size_matched: Decimal = ZERO
    state: str = "pending"  # pending | live | unknown | cancelling
    since: float = 0.0  # when it entered this state

    @property
    def remaining(self) -> Decimal:
        return self.order.size - self.size_matched

    @property
    def key(self) -> str:
        return self.order_id or self.order.client_id

    def as_live(self) -> LiveOrder:
        """This order as the strategy sees it (the one conversion tracked -> strategy view)."""
        return LiveOrder(
            order_id=self.key,
            token_id=self.order.token_id,
            side=self.order.side,
            price=self.order.price,
            size_remaining=self.remaining,
            tag=self.order.tag,
            pending=not self.order_id,
            market=self.order.market,
            cancel_pending=self.state == "cancelling",
        )


@dataclass(frozen=True, slots=True)
class ReconcileDiff:
    orphans: tuple[OpenOrder, ...]  # on the venue, not known here
    dropped: tuple[tuple[TrackedOrder, str], ...]  # known here, gone from the venue: (order, cause)


class OrderTracker:
    def __init__(self, grace_secs: float = 5.0) -> None:
        self._pending: dict[str, TrackedOrder] = {}  # by client_id
        self._live: dict[str, TrackedOrder] = {}  # by order_id
        self.grace_secs = grace_secs
        self._seen_done: dict[
            str, float
        ] = {}  # order ids known finished (cancel/fill), to ignore late events
        # order id -> (order, when finished): may still rest on the feed's book (``just_gone``)
        self._just_gone: dict[str, tuple[TrackedOrder, float]] = {}

    # ------------------------------------------------------------------ queries

    def all(self) -> list[TrackedOrder]:
        return list(self._pending.values()) + list(self._live.values())

    def live_ids(self) -> set[str]:
        return set(self._live)

    def get(self, order_id: str) -> TrackedOrder | None:
        return self._live.get(order_id)

    def count_by_market(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.all():
            out[t.order.market] = out.get(t.order.market, 0) + 1
        return out

    def __len__(self) -> int:
        return len(self._pending) + len(self._live)

    def just_gone(self, now: float, secs: float = JUST_GONE_SECS) -> list[TrackedOrder]:
        """Orders finished within ``secs``: the market feed may not have shown them gone yet."""
        for oid in [k for k, (_, ts) in self._just_gone.items() if now - ts > secs]:
            del self._just_gone[oid]
        return [t for t, _ in self._just_gone.values()]

    def unknown_count(self) -> int:
        return sum(1 for t in self._live.values() if t.state == "unknown")

    def open_order_ids(self) -> list[str]:
        """Every order that may rest on the venue (live, unknown outcome or being cancelled)."""
        return sorted(self._live)

    # ------------------------------------------------------------------ transitions

    def on_sent(self, order: NewOrder, now: float) -> None:
        self._pending[order.client_id] = TrackedOrder(order=order, order_id="", since=now)

    def on_accepted(self, rep: OrderAccepted, now: float) -> None:
        t = self._pending.pop(rep.client_id, None)
        order = t.order if t is not None else rep.order
        if rep.order_id in self._seen_done:
            return  # a fill or cancel for it already arrived on the user channel
        if rep.order_id in self._live:
            # The user channel showed it first: what happened since (a cancel sent, a part
            # filled) stands; a fresh live record would have the strategy cancel it again.
            return
        immediate = order.order_type in (OrderType.FOK, OrderType.FAK)
        if immediate and rep.status in ("matched", "unmatched"):
            self._seen_done[rep.order_id] = now  # an immediate order never rests on the book
            return
        self._live[rep.order_id] = TrackedOrder(
            order=order, order_id=rep.order_id, state="live", since=now
        )

    def on_rejected(self, rep: OrderRejected) -> None:
        self._pending.pop(rep.client_id, None)

    def on_unknown(self, rep: OrderUnknown, now: float) -> None:
        self._pending.pop(rep.client_id, None)
        if rep.order_id in self._live:
            # The user channel already showed it placed (maybe a cancel is in flight): keep that.
            return
        if rep.order_id and rep.order_id not in self._seen_done:
            self._live[rep.order_id] = TrackedOrder(
                order=rep.order, order_id=rep.order_id, state="unknown", since=now
            )

    def on_cancel_sent(self, order_ids: Iterable[str], now: float) -> None:
        for oid in order_ids:
            t = self._live.get(oid)
            if t is not None:
                self._live[oid] = replace(t, state="cancelling", since=now)

    def on_cancel_result(self, res: CancelResult, now: float) -> list[TrackedOrder]:
        """Returns the orders this result cancelled (not those the user channel already showed
        cancelled: each cancellation is counted once)."""
        cancelled = []
        for oid in res.canceled:
            t = self._finish(oid, now)
            if t is not None:
                cancelled.append(t)
        for oid, _reason in res.not_canceled:
            # "matched orders can't be canceled" / "order not found": either way it no longer rests.
            self._finish(oid, now)
        failed = (
            [oid for oid, t in self._live.items() if t.state == "cancelling"]
            if res.all_failed
            else res.failed
        )
        for oid in failed:
            t = self._live.get(oid)
            if t is not None and t.state == "cancelling":
                self._live[oid] = replace(t, state="live", since=now)  # retry on the next decision
        return cancelled

    def adopt(self, venue_orders: Iterable[OpenOrder], now: float) -> list[TrackedOrder]:
        """Start-up: track orders found resting as live (tag ``adopted``); returns them."""
        adopted = []
        for o in venue_orders:
            if o.order_id in self._live:
                continue
            t = TrackedOrder(
                order=adopted_order(o),
                order_id=o.order_id,
                size_matched=o.size_matched,
                state="live",
                since=now,
            )
            self._live[o.order_id] = t
            adopted.append(t)
        return adopted

    def on_order_event(self, ev: OrderEvent, now: float) -> TrackedOrder | None:
        """Apply a user-channel order event; returns the tracked order it concerned, if ours (for a
        CANCELLATION: the order it took off the book, None if already gone)."""
        t = self._live.get(ev.order_id)
        if t is None:
            if ev.order_id in self._seen_done:
                return None  # a late event of an order already finished
            if ev.kind is OrderEventKind.CANCELLATION:
                # Not ours to adopt: it must not take over a pending create with the same terms (a
                # re-quote at a price just left would be finished at once and sent again). If it is
                # the pending create's own order, its report finds the id done and drops it.
                self._seen_done[ev.order_id] = now
                return None
            t = self._adopt_pending(ev, now)
            if t is None:
                return None
        if ev.kind is OrderEventKind.CANCELLATION:
            self._finish(ev.order_id, now)
            return t
        matched = max(t.size_matched, ev.size_matched)
        t = replace(t, size_matched=matched, state="live" if t.state == "unknown" else t.state)
        if matched >= t.order.size:
            self._finish(ev.order_id, now)
        else:
            self._live[ev.order_id] = t
        return t

    def _adopt_pending(self, ev: OrderEvent, now: float) -> TrackedOrder | None:
        """A user event can beat the executor's report; match it to a pending create."""
        for cid, t in self._pending.items():
            o = t.order
            if (
                o.token_id == ev.token_id
                and o.side is ev.side
                and o.price == ev.price
                and o.size == ev.original_size
            ):
                del self._pending[cid]
                tracked = TrackedOrder(order=o, order_id=ev.order_id, state="live", since=now)
                self._live[ev.order_id] = tracked
                return tracked
        return None

    def _finish(self, order_id: str, now: float) -> TrackedOrder | None:
        self._seen_done[order_id] = now
        t = self._live.pop(order_id, None)
        if t is not None:
            self._just_gone[order_id] = (t, now)
        return t

    def forget_done_before(self, cutoff: float) -> None:
        for oid in [k for k, ts in self._seen_done.items() if ts < cutoff]:
            del self._seen_done[oid]

    def drop_all(self) -> None:
        self._pending.clear()
        self._live.clear()
        self._just_gone.clear()

    # ------------------------------------------------------------------ reconcile

    def reconcile(
        self, venue_orders: Iterable[OpenOrder], now: float, *, taken_at: float
    ) -> ReconcileDiff:
        venue = {o.order_id: o for o in venue_orders}
        pending = {
            (t.order.token_id, t.order.side, t.order.price, t.order.size)
            for t in self._pending.values()
        }
        orphans = tuple(
            o
            for oid, o in venue.items()
            if oid not in self._live
            and oid not in self._seen_done
            and (o.token_id, o.side, o.price, o.original_size)
            not in pending  # report still in flight
        )
        dropped = []
        for oid, t in list(self._live.items()):
            if oid in venue:
                v = venue[oid]
                if v.size_matched > t.size_matched:
                    self._live[oid] = replace(t, size_matched=v.size_matched)
                if t.state == "unknown":
                    self._live[oid] = replace(self._live[oid], state="live", since=now)
                continue
            # Listed before the order was acknowledged, or within the grace period: not evidence.
            if t.since > taken_at - self.grace_secs:
                continue
            cause = {
                "unknown": "unknown_outcome_not_placed",
                "cancelling": "cancel_unconfirmed",
            }.get(t.state, "gone_unseen")
            dropped.append((t, cause))
            self._finish(oid, now)
        return ReconcileDiff(orphans=orphans, dropped=tuple(dropped))


def adopted_order(o: OpenOrder) -> NewOrder:
    """A venue-listed order found resting at start-up, as the order the bot tracks (tag
    ``adopted``)."""
    try:
        order_type = OrderType(o.order_type.upper())
    except ValueError:
        order_type = OrderType.GTC
    return NewOrder(
        client_id=f"adopted:{o.order_id}",
        market=o.market,
        token_id=o.token_id,
        side=o.side,
        price=o.price,
        size=o.original_size,
        order_type=order_type,
        post_only=False,
        tag="adopted",
    )
