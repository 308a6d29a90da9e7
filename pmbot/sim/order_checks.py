"""The venue's checks on a new order, in the venue's order, with the venue's exact messages.

Pure functions of the market, the account and the book's answers; each raises :class:`SimReject`
(the server answers ``status`` with ``{"error": message}``). The exchange calls them in this order:
``parse_wire_order`` (body fields), ``check_rules`` (market state, duplicate, post-only type, tick,
bounds, size, GTD lifetime), ``check_funds`` (balance / allowance), then the liquidity checks
(post-only crossing, FOK, FAK, the $1 minimum of a marketable BUY).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from pmbot.model import Side
from pmbot.sim.ledger import Account
from pmbot.sim.markets import SimMarket
from pmbot.sim.orderbook import BUY, MICRO, ONE, SELL, ZERO
from pmbot.sim.payloads import fmt
from pmbot.venue.market_orders import market_amounts_error

GTD_MIN_LIFETIME_SECS = 60  # venue "security threshold": expiration >= now + 60
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
INVALID_PAYLOAD = "Invalid order payload"
FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_NO_MATCH = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)
NO_BALANCE = "not enough balance / allowance"


class SimReject(Exception):
    """The venue refuses a request: the server answers ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class WireOrder:
    """What the engine needs of a signed wire order: the token, side, exact price and size."""

    token_id: str
    side: str
    exact_price: Decimal  # makerAmount/takerAmount, before snapping to the tick
    size: Decimal
    expiration: int
    address: str  # the funder (``maker``)
    budget: Decimal | None = None  # a market (FAK/FOK) BUY: the pUSD it spends at limit or better
    market: bool = False  # FAK/FOK: amounts are rounded (market-order rules), not exact


def parse_wire_order(order: Mapping[str, Any], order_type: str) -> WireOrder:
    """The amounts are integers in 1e-6 units; a BUY pays makerAmount for takerAmount shares."""
    try:
        token = str(order["tokenId"])
        maker_amount = int(str(order["makerAmount"]))
        taker_amount = int(str(order["takerAmount"]))
        side = order["side"]
        side = {0: BUY, 1: SELL, "0": BUY, "1": SELL}.get(side, side)
        expiration = int(str(order.get("expiration", "0") or "0"))
        address = str(order["maker"])
    except (KeyError, TypeError, ValueError):
        raise SimReject(400, INVALID_PAYLOAD) from None
    if side not in (BUY, SELL) or maker_amount <= 0 or taker_amount <= 0:
        raise SimReject(400, INVALID_PAYLOAD)
    if order_type not in ORDER_TYPES:
        raise SimReject(400, INVALID_PAYLOAD)
    market = order_type in ("FAK", "FOK")
    if market:  # market orders: maker 2 dp, taker 4 dp (py-clob-client-v2 #99)
        refusal = market_amounts_error(Side(side), maker_amount, taker_amount)
        if refusal is not None:
            raise SimReject(400, refusal)
    if side == BUY:
        exact, size = Decimal(maker_amount) / Decimal(taker_amount), Decimal(taker_amount) * MICRO
        budget = Decimal(maker_amount) * MICRO if market else None
        return WireOrder(token, side, exact, size, expiration, address, budget, market)
    exact, size = Decimal(taker_amount) / Decimal(maker_amount), Decimal(maker_amount) * MICRO
    return WireOrder(token, side, exact, size, expiration, address, None, market)


def wire_terms(wire: WireOrder, tick: Decimal) -> dict[str, Any]:
    """``OrderPath.submit``'s order terms of a wire order on a market with this tick. A market
    order's amounts are floored (2 dp / 4 dp), so its implied price is a hair past its limit: a
    BUY's limit is that price rounded down to the tick, a SELL's rounded up."""
    price = implied_price(wire.exact_price, tick)
    if wire.market and (price / tick) != (price / tick).to_integral_value():
        rounding = ROUND_FLOOR if wire.side == BUY else ROUND_CEILING
        price = (wire.exact_price / tick).to_integral_value(rounding=rounding) * tick
    return dict(
        address=wire.address,
        token_id=wire.token_id,
        side=wire.side,
        price=price,
        size=wire.size,
        expiration=wire.expiration,
        budget=wire.budget,
    )


def implied_price(exact: Decimal, tick: Decimal) -> Decimal:
    """makerAmount/takerAmount is exact for SDK limit orders; market orders round amounts, so a
    price within a thousandth of a tick of a tick multiple is taken as that multiple."""
    rounded = (exact / tick).quantize(ONE, rounding=ROUND_HALF_UP) * tick
    if abs(exact - rounded) <= tick / 1000:
        return rounded
    return exact.quantize(Decimal("1e-8")).normalize()


def check_rules(
    market: SimMarket,
    *,
    order_id: str,
    duplicate: bool,
    price: Decimal,
    size: Decimal,
    order_type: str,
    post_only: bool,
    expiration: int,
    now: float,
) -> None:
    """Market state, duplicate id, post-only type, tick, price bounds, minimum size, GTD life."""
    if market.closed or not market.accepting_orders:
        raise SimReject(400, "the market is not yet ready to process new orders")
    if duplicate:
        raise SimReject(400, f"order {order_id} is invalid. Duplicated.")
    if post_only and order_type in ("FOK", "FAK"):
        raise SimReject(
            400, "invalid post-only order: post_only is not supported for FOK/FAK orders"
        )
    tick = market.tick
    invalid = f"order {order_id} is invalid."
    if (price / tick) != (price / tick).to_integral_value():
        raise SimReject(
            400,
            f"{invalid} Price ({fmt(price)}) breaks minimum tick size rule: {fmt(tick)}",
        )
    if not tick <= price <= ONE - tick:
        raise SimReject(
            400,
            f"{invalid} Price ({fmt(price)}) is out of bounds: "
            f"min {fmt(tick)} - max {fmt(ONE - tick)}",
        )
    if size < market.min_size:
        raise SimReject(
            400,
            f"{invalid} Size ({fmt(size)}) lower than the minimum: {fmt(market.min_size)}",
        )
    if order_type == "GTD" and expiration < now + GTD_MIN_LIFETIME_SECS:
        raise SimReject(400, "invalid expiration")


def check_funds(
    acct: Account,
    market: SimMarket,
    *,
    token_id: str,
    side: str,
    price: Decimal,
    size: Decimal,
    post_only: bool,
) -> None:
    """A BUY needs free collateral for the shares plus a taker fee (unless post-only); a SELL
    needs free shares (held minus reserved by resting SELLs)."""
    if side == BUY:
        need = size * price
        if not post_only:
            need += size * market.fee_rate * (price * (ONE - price)) ** market.fee_exponent
        if need > acct.collateral - acct.reserved_collateral:
            raise SimReject(400, NO_BALANCE)
    else:
        held = acct.positions.get(token_id, ZERO) - acct.reserved_shares.get(token_id, ZERO)
        if size > held:
            raise SimReject(400, NO_BALANCE)


def check_after_fok(
    *, order_type: str, side: str, price: Decimal, size: Decimal, marketable: bool
) -> None:
    """The checks after FOK's: an FAK needs something to match; a marketable BUY is at least $1."""
    if order_type == "FAK" and not marketable:
        raise SimReject(400, FAK_NO_MATCH)
    if marketable and side == BUY and size * price < ONE:
        raise SimReject(
            400,
            f"invalid amount for a marketable BUY order (${fmt(size * price)}), min size: $1",
        )
