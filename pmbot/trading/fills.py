"""The bot's own fills, derived from trade events exactly once. Pure state machine, single writer.

Rules (protocol reference 3.4):

- **Taker:** ``taker_order_id`` is one of the bot's orders. The fill is ``size`` of the top-level
  ``asset_id`` on the top-level ``side``. It executes at the *makers'* prices: each maker entry on
  the same token contributes ``matched_amount * price``; an entry on the complementary token (a MINT
  or MERGE match) contributes ``matched_amount * (1 - price)``. That sum is the exact notional; the
  fill's ``price`` is its average. Takers pay the fee ``shares * rate * p * (1 - p)`` in pUSD
  (reference 6.4), summed over the maker entries and rounded to 5 decimals (minimum 0.00001).
- **Maker:** every ``maker_orders[]`` entry that is the bot's: ``matched_amount`` of *that entry's*
  token at *that entry's* price, no fee. The side is the entry's ``side`` if present, else the
  NORMAL/MINT/MERGE rule: same token as the taker means the opposite side; the complementary token
  (MINT: both BUY, MERGE: both SELL) means the same side as the taker.
- **Which orders are the bot's:** order ids from ``own_order_ids()`` plus every id already seen in
  one of its fills, or an ``owner`` equal to the bot's API key. Venue quirk: on the documented
  maker example the top-level ``owner`` is the *maker's* key, so a top-level owner match alone only
  makes the bot the taker when none of the maker entries is its own (or ``trader_side`` says TAKER).
- **Exactly once:** keyed by (trade id, order id). A fill counts when first seen in any status
  except FAILED (normally MATCHED). MINED / CONFIRMED / RETRYING only advance its settlement status
  (never backwards: a stale REST row after a newer WS message changes nothing). FAILED reverses a
  counted fill once; a fill first seen as FAILED never counted. FAILED is final.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from pmbot.model import ONE, ZERO, Fill, MarketInfo, Side, TradeEvent, TradeStatus

FEE_QUANTUM = Decimal("0.00001")
BPS = Decimal(10_000)

# Settlement progress; FAILED is handled apart (terminal, reverses).
_RANK = {
    TradeStatus.MATCHED: 0,
    TradeStatus.RETRYING: 1,
    TradeStatus.MINED: 2,
    TradeStatus.CONFIRMED: 3,
}


@dataclass(frozen=True, slots=True)
class FillChange:
    """What a trade message changed for one of the bot's fills.

    ``kind`` is ``new`` (count it: inventory, journal), ``status`` (settlement advanced; inventory
    unchanged) or ``reversed`` (settlement FAILED: undo the fill).
    """

    fill: Fill
    kind: str
    previous: TradeStatus | None = None


def taker_fee(size: Decimal, price: Decimal, rate: Decimal, exponent: int = 1) -> Decimal:
    """Unrounded taker fee for ``size`` shares at ``price``: ``size * rate * (p*(1-p))**e``."""
    if exponent == 0:
        return size * rate
    return size * rate * (price * (ONE - price)) ** exponent


def round_fee(fee: Decimal) -> Decimal:
    """Venue rounding: 5 decimals, minimum 0.00001 when any fee is due."""
    if fee <= 0:
        return ZERO
    return max(fee.quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP), FEE_QUANTUM)


def maker_side(trade: TradeEvent, entry_token: str, entry_side: Side | None) -> Side:
    """NORMAL (same token): opposite of the taker. MINT/MERGE (complementary token): same side."""
    if entry_side is not None:
        return entry_side
    if entry_token == trade.token_id:
        return trade.side.opposite
    return trade.side


def _fee_terms(trade: TradeEvent, market: MarketInfo | None) -> tuple[Decimal, int]:
    """(rate, exponent) of the fee charged: the market's ``fd`` when known. A trade's
    ``fee_rate_bps`` is not the rate (it can read 0 while a fee is charged, py-clob-client-v2
    #107); it is used only when the market's fee is unknown, else the worst case."""
    if market is not None and market.fee_known:
        return market.fee_terms()
    if trade.fee_rate_bps > 0:
        return trade.fee_rate_bps / BPS, 1
    return market.fee_terms() if market is not None else (ZERO, 1)


class FillTracker:
    def __init__(
        self, api_key: str, own_order_ids: Callable[[], Collection[str]] | None = None
    ) -> None:
        self._api_key = api_key
        self._own_order_ids = own_order_ids or (lambda: ())
        self._fills: dict[tuple[str, str], Fill] = {}
        self._known_orders: set[str] = set()

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._fills)

    def get(self, trade_id: str, order_id: str) -> Fill | None:
        return self._fills.get((trade_id, order_id))

    def fills(self) -> list[Fill]:
        return list(self._fills.values())

    # ------------------------------------------------------------------ state changes

    def restore(self, fills: Iterable[Fill]) -> None:
        """Load fills already counted (from the journal): replays after a restart change nothing."""
        for fill in fills:
            self._fills[(fill.trade_id, fill.order_id)] = fill
            self._known_orders.add(fill.order_id)

    def on_trade(self, trade: TradeEvent, markets: Mapping[str, MarketInfo]) -> list[FillChange]:
        changes: list[FillChange] = []
        for fill in self.derive(trade, markets.get(trade.market)):
            change = self._apply(fill)
            if change is not None:
                changes.append(change)
        return changes

    def derive(self, trade: TradeEvent, market: MarketInfo | None) -> list[Fill]:
        """The bot's fills in this trade message, regardless of what was seen before."""
        own = self._own_order_ids()
        makers = [
            m
            for m in trade.maker_orders
            if self._is_own(m.order_id, own) or m.owner == self._api_key
        ]
        fills = [
            Fill(
                trade_id=trade.trade_id,
                order_id=m.order_id,
                market=trade.market,
                token_id=m.token_id,
                side=maker_side(trade, m.token_id, m.side),
                price=m.price,
                size=m.matched_amount,
                fee_usd=ZERO,
                is_maker=True,
                status=trade.status,
                ts=trade.ts,
            )
            for m in makers
        ]
        if self._is_taker(trade, own, bool(makers)):
            fills.insert(0, self._taker_fill(trade, market))
        return fills

    # ------------------------------------------------------------------ internals

    def _is_own(self, order_id: str, own: Collection[str]) -> bool:
        return bool(order_id) and (order_id in own or order_id in self._known_orders)

    def _is_taker(self, trade: TradeEvent, own: Collection[str], any_own_maker: bool) -> bool:
        if self._is_own(trade.taker_order_id, own):
            return True
        if trade.owner != self._api_key or trade.trader_side == "MAKER":
            return False
        return trade.trader_side == "TAKER" or not any_own_maker

    def _taker_fill(self, trade: TradeEvent, market: MarketInfo | None) -> Fill:
        rate, exponent = _fee_terms(trade, market)
        if trade.maker_orders:
            notional = ZERO
            fee = ZERO
            for m in trade.maker_orders:
                price = m.price if m.token_id == trade.token_id else ONE - m.price
                notional += m.matched_amount * price
                fee += taker_fee(m.matched_amount, price, rate, exponent)
            matched = sum((m.matched_amount for m in trade.maker_orders), ZERO)
            size = trade.size if trade.size > 0 else matched
            price = notional / matched if matched > 0 else trade.price
        else:
            size, price = trade.size, trade.price
            notional = size * price
            fee = taker_fee(size, price, rate, exponent)
        return Fill(
            trade_id=trade.trade_id,
            order_id=trade.taker_order_id or f"taker:{trade.trade_id}",
            market=trade.market,
            token_id=trade.token_id,
            side=trade.side,
            price=price,
            size=size,
            fee_usd=round_fee(fee),
            is_maker=False,
            status=trade.status,
            ts=trade.ts,
            notional=notional,
        )

    def _apply(self, fill: Fill) -> FillChange | None:
        key = (fill.trade_id, fill.order_id)
        seen = self._fills.get(key)
        self._known_orders.add(fill.order_id)
        if seen is None:
            self._fills[key] = fill
            if fill.status is TradeStatus.FAILED:
                return None  # never counted, nothing to undo
            return FillChange(fill, "new")
        if seen.status is TradeStatus.FAILED or fill.status is seen.status:
            return None
        if fill.status is TradeStatus.FAILED:
            reversed_fill = replace(seen, status=TradeStatus.FAILED)
            self._fills[key] = reversed_fill
            return FillChange(reversed_fill, "reversed", seen.status)
        if _RANK[fill.status] <= _RANK[seen.status]:
            return None  # stale replay (e.g. a REST row older than the last WS message)
        advanced = replace(seen, status=fill.status)
        self._fills[key] = advanced
        return FillChange(advanced, "status", seen.status)
