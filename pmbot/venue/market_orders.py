"""FAK/FOK orders the venue's way: market-order amounts and the amount-based BUY fill rule.

The venue treats FAK and FOK orders as *market* orders, with amount rules of their own (limit
orders, GTC/GTD, keep ``pmbot.venue.signer.exact_amounts``):

- BUY: ``amount`` is the pUSD to spend. makerAmount = amount rounded down to 2 decimals; takerAmount
  = makerAmount / price rounded down to at most 4 decimals. Anything finer is refused with 400
  ``invalid amounts, the market buy orders maker amount supports a max accuracy of 2 decimals,
  taker amount a max of 4 decimals`` (py-clob-client-v2 #99, rs-clob-client-v2 #59,
  rs-clob-client #114 #164).
- SELL: ``amount`` is the shares to sell. makerAmount = shares rounded down to 2 decimals;
  takerAmount = makerAmount * price rounded down to at most 4 decimals (rs-clob-client #164,
  py-clob-client #121 quotes the sell-side wording of the same refusal).
- The limit price is rounded DOWN to the tick (py_clob_client_v2 1.2.1
  ``OrderBuilder.get_market_order_amounts``: "V2 change: market orders use round_down for price").

Where this differs from py_clob_client_v2 1.2.1, on purpose:

- The SDK rounds takerAmount to ``ROUNDING_CONFIG[tick].amount`` decimals: 3 on tick 0.1, 4 on 0.01,
  but 5 on 0.005/0.001 and 6 on 0.0025/0.0001, which the venue always refuses (#99). Here the
  taker is capped at ``min(that, 4)``: identical to the SDK on 0.1 and 0.01, accepted on fine ticks.
- Exact ``Decimal`` arithmetic instead of floats (the SDK's float ``round_down`` can drop a cent).
- The price is rounded down to a multiple of the tick (on 0.005/0.0025 ticks the SDK rounds to
  the tick's decimals only, which can leave a price off the tick).

Rounding the BUY taker DOWN makes the implied price makerAmount/takerAmount at or a hair above the
limit, so the order still crosses the ask it targets (rounding it up can leave it unable to match
at the ask: Polymarket/py-sdk #291).

A market BUY spends its pUSD at the limit price *or better*, so it can return more shares than
amount/limit (py-clob-client-v2 #89: FAK 5 @ 0.99 filled 5.051019 shares at 0.98).
``sweep_market_buy`` is that rule as a pure function, for the simulator and for cost models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from pmbot.model import BASE_UNITS, Side

# tick -> the SDK's ROUNDING_CONFIG "amount" decimals (py_clob_client_v2 1.2.1 builder.py).
SDK_AMOUNT_DECIMALS: dict[Decimal, int] = {
    Decimal("0.1"): 3,
    Decimal("0.01"): 4,
    Decimal("0.005"): 5,
    Decimal("0.0025"): 6,
    Decimal("0.001"): 5,
    Decimal("0.0001"): 6,
}
MARKET_TICKS = frozenset(SDK_AMOUNT_DECIMALS)
MAKER_DECIMALS = 2  # pUSD for a BUY, shares for a SELL
TAKER_MAX_DECIMALS = 4  # the venue's flat cap on market-order takers, whatever the tick
MIN_MARKETABLE_BUY = Decimal(
    1
)  # pUSD; "invalid amount for a marketable BUY order ($X), min size: $1"

MARKET_BUY_PRECISION_ERROR = (
    "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 decimals, "
    "taker amount a max of 4 decimals"
)
# Same refusal for a SELL; the V2 wording is inferred from the BUY one and py-clob-client #121.
MARKET_SELL_PRECISION_ERROR = (
    "invalid amounts, the market sell orders maker amount supports a max accuracy of 2 decimals, "
    "taker amount a max of 4 decimals"
)


@dataclass(frozen=True, slots=True)
class MarketAmounts:
    """A market order's signed amounts, in 1e-6 base units. ``price`` is the (rounded-down) limit.

    BUY: maker = pUSD offered, taker = least shares wanted.
    SELL: maker = shares offered, taker = least pUSD wanted.
    """

    side: Side
    price: Decimal
    maker_amount: int
    taker_amount: int

    @property
    def pusd(self) -> Decimal:
        """pUSD offered (BUY) or asked at least (SELL)."""
        units = self.maker_amount if self.side is Side.BUY else self.taker_amount
        return Decimal(units) / BASE_UNITS

    @property
    def shares(self) -> Decimal:
        """Shares wanted at least (BUY) or offered (SELL)."""
        units = self.taker_amount if self.side is Side.BUY else self.maker_amount
        return Decimal(units) / BASE_UNITS


def _floor(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_FLOOR)


def _units(value: Decimal) -> int:
    return int(value * BASE_UNITS)


def taker_decimals(tick: Decimal) -> int:
    """How many decimals a market order's taker amount may have on this tick."""
    return min(SDK_AMOUNT_DECIMALS[tick], TAKER_MAX_DECIMALS)


def round_price_down(price: Decimal, tick: Decimal) -> Decimal:
    """``price`` rounded down to a multiple of ``tick``."""
    return (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def market_order_amounts(
    side: Side, amount: Decimal, price: Decimal, tick: Decimal
) -> MarketAmounts:
    """The amounts of a FAK/FOK order, the venue's way.

    ``amount``: pUSD to spend for a BUY, shares to sell for a SELL. ``price``: the worst acceptable
    price (rounded down to the tick here). Raises ValueError for an unsupported tick, a non-Decimal
    or non-finite input, a price outside ``[tick, 1 - tick]`` after rounding, or amounts that
    round to zero.
    """
    for name, value in (("amount", amount), ("price", price), ("tick", tick)):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"{name} must be a finite Decimal")
    if tick not in MARKET_TICKS:
        raise ValueError(f"unsupported tick size {tick}")
    limit = round_price_down(price, tick)
    if not tick <= limit <= 1 - tick:
        raise ValueError(f"invalid price ({price}), min: {tick} - max: {1 - tick}")
    maker = _floor(amount, MAKER_DECIMALS)
    if side is Side.BUY:
        taker = _floor(maker / limit, taker_decimals(tick))
    elif side is Side.SELL:
        taker = _floor(maker * limit, taker_decimals(tick))
    else:
        raise ValueError(f"side must be Side.BUY or Side.SELL, got {side!r}")
    if maker <= 0 or taker <= 0:
        raise ValueError(f"amount {amount} at {limit} rounds to zero")
    return MarketAmounts(side, limit, _units(maker), _units(taker))


def market_buy_for_shares(
    shares: Decimal, price: Decimal, tick: Decimal, *, at_least: bool = False
) -> MarketAmounts:
    """A market BUY sized in shares: spend = shares * limit, to the cent.

    ``at_least=False`` rounds the spend down (never spends more than ``shares * limit``; may ask for
    up to 1/limit hundredths of a share less). ``at_least=True`` rounds it up, so the signed
    takerAmount is ``>= shares`` (when ``shares`` has at most ``taker_decimals(tick)`` decimals):
    what an arbitrage leg needs to complete ``shares`` sets. Better prices give more shares (#89).
    """
    if (
        tick not in MARKET_TICKS
        or not isinstance(shares, Decimal)
        or not isinstance(price, Decimal)
    ):
        raise ValueError("shares, price and tick must be Decimal, tick a supported one")
    notional = shares * round_price_down(price, tick)
    if at_least:
        notional = notional.quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    return market_order_amounts(Side.BUY, notional, price, tick)


def market_amounts_error(side: Side, maker_amount: int, taker_amount: int) -> str | None:
    """The venue's refusal for a market order whose amounts are too precise, or None if they pass.

    What the simulator should answer (400 ``{"error": <this>}``) for a FAK/FOK order.
    """
    maker_ok = maker_amount % (BASE_UNITS // 10**MAKER_DECIMALS) == 0
    taker_ok = taker_amount % (BASE_UNITS // 10**TAKER_MAX_DECIMALS) == 0
    if maker_ok and taker_ok:
        return None
    return MARKET_BUY_PRECISION_ERROR if side is Side.BUY else MARKET_SELL_PRECISION_ERROR


def marketable_buy_minimum_error(maker_amount: int) -> str | None:
    """The venue's refusal for a marketable BUY under $1 (NautilusTrader's Polymarket docs)."""
    spend = Decimal(maker_amount) / BASE_UNITS
    if spend >= MIN_MARKETABLE_BUY:
        return None
    return f"invalid amount for a marketable BUY order (${spend}), min size: $1"


@dataclass(frozen=True, slots=True)
class SweepFill:
    """What a market BUY got: ``shares`` for ``spent`` pUSD; ``levels`` = ``(price, shares)``."""

    shares: Decimal
    spent: Decimal
    levels: tuple[tuple[Decimal, Decimal], ...]

    @property
    def average_price(self) -> Decimal:
        return self.spent / self.shares if self.shares else Decimal(0)


def sweep_market_buy(
    asks: Iterable[tuple[Decimal, Decimal]], spend: Decimal, limit: Decimal
) -> SweepFill:
    """Spend up to ``spend`` pUSD on ``asks`` (``(price, size)``, best first) at ``limit`` or better

    The venue's amount-based BUY: each level gives ``min(size, remaining / price)`` shares, floored
    to 1e-6; the loop stops at the first ask above ``limit`` or when the pUSD is spent. The result
    can hold more shares than ``spend / limit`` whenever a better level fills (#89). FAK keeps the
    result; FOK should be killed when ``spent < spend`` (the caller decides; this is pure).
    """
    remaining = spend
    shares_total = Decimal(0)
    fills: list[tuple[Decimal, Decimal]] = []
    for price, size in asks:
        if price > limit or remaining <= 0:
            break
        take = min(size, _floor(remaining / price, 6))
        if take <= 0:
            break
        cost = take * price
        fills.append((price, take))
        shares_total += take
        remaining -= cost
    return SweepFill(shares_total, spend - remaining, tuple(fills))


def sweep_market_sell(
    bids: Iterable[tuple[Decimal, Decimal]], shares: Decimal, limit: Decimal
) -> SweepFill:
    """Sell up to ``shares`` into ``bids`` (``(price, size)``, best first) at ``limit`` or better.

    A market SELL is share-based: ``shares`` in the result is what was sold and ``spent`` the pUSD
    received (``SweepFill`` is reused; for a SELL ``spent`` reads "proceeds")."""
    remaining = shares
    proceeds = Decimal(0)
    fills: list[tuple[Decimal, Decimal]] = []
    for price, size in bids:
        if price < limit or remaining <= 0:
            break
        take = min(size, remaining)
        fills.append((price, take))
        proceeds += take * price
        remaining -= take
    return SweepFill(shares - remaining, proceeds, tuple(fills))
