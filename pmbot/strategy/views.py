"""Plain values the strategy reads and writes: book view, live order, desired order, verdict.

These are the strategy's own input/output shapes (frozen, slotted). The strategy thread builds
``BookView`` from the latest ``MarketUpdate`` of each token and ``LiveOrder`` from its order
tracker; it turns ``DesiredOrder`` into ``pmbot.model.NewOrder`` with
:meth:`DesiredOrder.to_new_order` once it has picked a client id.

Venue quirk (protocol 6.1): a binary market has ONE unified book. The NO token's book is the mirror
of the YES book (NO bid q == YES ask 1-q). :meth:`BookView.mirrored` builds that view when only the
YES side is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ONE, ZERO, Level, MarketInfo, MarketUpdate, NewOrder, OrderType, Side

QuoteKey = tuple[str, Side, Decimal, Decimal]  # (token, side, price, size)


@dataclass(frozen=True, slots=True)
class BookView:
    """Top of book plus a few levels of one token, best first. ``age_secs`` is the time since the
    token's last book event; ``live`` is False while the feed is resyncing or down."""

    best_bid: Decimal | None
    best_ask: Decimal | None
    bid_size: Decimal = ZERO
    ask_size: Decimal = ZERO
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    tick: Decimal = Decimal("0.01")
    live: bool = True
    age_secs: float = 0.0

    @classmethod
    def from_update(cls, update: MarketUpdate, age_secs: float = 0.0) -> BookView:
        return cls(
            best_bid=update.best_bid,
            best_ask=update.best_ask,
            bid_size=update.bid_size,
            ask_size=update.ask_size,
            bids=update.bids,
            asks=update.asks,
            tick=update.tick,
            live=update.live,
            age_secs=age_secs,
        )

    @property
    def two_sided(self) -> bool:
        return self.best_bid is not None and self.best_ask is not None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2

    @property
    def microprice(self) -> Decimal | None:
        """Size-weighted mid: leans toward the side with less size (likelier to give way)."""
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        total = self.bid_size + self.ask_size
        if total <= ZERO:
            return (bid + ask) / 2
        return (bid * self.ask_size + ask * self.bid_size) / total

    def bid_levels(self) -> tuple[Level, ...]:
        if self.bids:
            return self.bids
        return ((self.best_bid, self.bid_size),) if self.best_bid is not None else ()

    def ask_levels(self) -> tuple[Level, ...]:
        if self.asks:
            return self.asks
        return ((self.best_ask, self.ask_size),) if self.best_ask is not None else ()

    def mirrored(self) -> BookView:
        """The complementary token's view of the same unified book: bids become asks at 1 - p."""
        bids = tuple((ONE - p, s) for p, s in self.ask_levels())
        asks = tuple((ONE - p, s) for p, s in self.bid_levels())
        return BookView(
            best_bid=bids[0][0] if bids else None,
            best_ask=asks[0][0] if asks else None,
            bid_size=bids[0][1] if bids else ZERO,
            ask_size=asks[0][1] if asks else ZERO,
            bids=bids,
            asks=asks,
            tick=self.tick,
            live=self.live,
            age_secs=self.age_secs,
        )


def book_for(
    token_id: str, books: Mapping[str, BookView], complement: str | None
) -> BookView | None:
    """The token's own book, else the mirror of its complement's (one unified book per market)."""
    book = books.get(token_id)
    if book is None and complement is not None and complement in books:
        book = books[complement].mirrored()
    return book


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """One of the bot's orders that may rest on the book. ``pending`` means sent but not yet
    acknowledged: it counts as present (never placed twice) but cannot be cancelled by id yet."""

    order_id: str
    token_id: str
    side: Side
    price: Decimal
    size_remaining: Decimal
    tag: str = "quote"
    pending: bool = False
    market: str = ""
    cancel_pending: bool = False  # a cancel was sent: treat as gone, never cancel twice

    @property
    def key(self) -> QuoteKey:
        return (self.token_id, self.side, self.price, self.size_remaining)


def orders_by_market(
    markets: Iterable[MarketInfo], orders: Iterable[LiveOrder]
) -> dict[str, list[LiveOrder]]:
    """Each market's ``orders`` by condition id, in input order (one pass, not one per market)."""
    cid_of = {t: m.condition_id for m in markets for t in (m.yes_token, m.no_token)}
    out: dict[str, list[LiveOrder]] = {}
    for o in orders:
        cid = cid_of.get(o.token_id)
        if cid is not None:
            out.setdefault(cid, []).append(o)
    return out


@dataclass(frozen=True, slots=True)
class DesiredOrder:
    """An order the strategy wants resting (tag ``quote``) or sent now (``arb``, ``unwind``)."""

    market: str
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    post_only: bool = True
    order_type: OrderType = OrderType.GTC
    tag: str = "quote"

    @property
    def key(self) -> QuoteKey:
        return (self.token_id, self.side, self.price, self.size)

    def to_new_order(
        self, client_id: str, *, neg_risk: bool = False, tick: Decimal = Decimal("0.01")
    ) -> NewOrder:
        return NewOrder(
            client_id=client_id,
            market=self.market,
            token_id=self.token_id,
            side=self.side,
            price=self.price,
            size=self.size,
            order_type=self.order_type,
            post_only=self.post_only,
            neg_risk=neg_risk,
            tick=tick,
            tag=self.tag,
        )


QUOTING = "quoting"
REDUCE_ONLY = "reduce_only"
PAUSED = "paused"
HALTED = "halted"


@dataclass(frozen=True, slots=True)
class Verdict:
    """``quoting`` | ``reduce_only(reason)`` | ``paused(reason)`` | ``halted(reason)``."""

    state: str = QUOTING
    reason: str = ""

    @property
    def may_quote(self) -> bool:
        return self.state in (QUOTING, REDUCE_ONLY)

    def __str__(self) -> str:
        return f"{self.state}({self.reason})" if self.reason else self.state


QUOTING_VERDICT = Verdict()
