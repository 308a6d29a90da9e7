"""Legging control (issue 8 part 5): when an arbitrage's legs fill unevenly, plan the repair.

After the batch of FOK/FAK legs, ``sets = min(filled)`` complete sets are hedged. The rest is naked
exposure: ``excess_i = filled_i - sets`` on the legs that filled more. Two repairs are priced
against the current books:

- ``unwind``: SELL each excess back into its bids (walking levels);
  loss = what the excess cost - proceeds + taker fees.
- ``complete``: BUY the missing shares on the short legs up to the best-filled leg (walking asks);
  loss = what the extra sets cost (the excess already paid + the new buys + fees) - their payout.

The cheaper feasible repair is chosen if its loss is within ``max_loss_usd``. Feasible means every
order meets the market's minimum size (and $1 for a marketable BUY), the book is live and deep
enough. Otherwise the plan is ``hold``: no orders, and ``naked`` lists the exposure so the caller
counts and reports it -- never a silent directional position.

Payout per set is 1 for YES baskets and binary sets, ``n - 1`` for an n-leg NO basket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from pmbot.model import ONE, ZERO, Level, OrderType, Outcome, Side
from pmbot.strategy.quoting import SIZE_STEP
from pmbot.strategy.views import BookView, DesiredOrder, book_for

if TYPE_CHECKING:  # pragma: no cover
    from pmbot.strategy.arbitrage import ArbLeg

MIN_MARKETABLE_BUY_USD = ONE


@dataclass(frozen=True, slots=True)
class LegFill:
    token_id: str
    size: Decimal
    avg_price: Decimal | None = None  # None: assume the leg's limit price (the worst case)


@dataclass(frozen=True, slots=True)
class LegRepairPlan:
    action: str  # none | unwind | complete | hold
    orders: tuple[DesiredOrder, ...] = ()
    complete_sets: Decimal = ZERO  # sets hedged once the plan's orders fill
    expected_loss_usd: Decimal = ZERO
    naked: tuple[tuple[str, Decimal], ...] = ()  # (token, shares) left unhedged if the plan is hold
    reason: str = ""


def payout_per_set(legs: Sequence[ArbLeg]) -> Decimal:
    markets = {leg.market for leg in legs}
    if (
        len(legs) > 1
        and len(markets) == len(legs)
        and all(leg.outcome is Outcome.NO for leg in legs)
    ):
        return Decimal(len(legs) - 1)
    return ONE


def plan_leg_repair(
    legs_requested: Sequence[ArbLeg],
    legs_filled: Mapping[str, LegFill | Decimal],
    books: Mapping[str, BookView],
    max_loss_usd: Decimal,
    *,
    payout: Decimal | None = None,
    order_type: OrderType = OrderType.FAK,
    stale_secs: float = 60.0,
) -> LegRepairPlan:
    fills = {leg.token_id: _fill_of(leg, legs_filled.get(leg.token_id)) for leg in legs_requested}
    sizes = {t: f.size for t, f in fills.items()}
    done = min(sizes.values(), default=ZERO)
    target = max(sizes.values(), default=ZERO)
    if target == done:
        return LegRepairPlan("none", complete_sets=done)
    pay = payout if payout is not None else payout_per_set(legs_requested)
    naked = tuple(
        (leg.token_id, sizes[leg.token_id] - done)
        for leg in legs_requested
        if sizes[leg.token_id] > done
    )

    options: list[LegRepairPlan] = []
    reasons: list[str] = []
    for planner in (_unwind, _complete):
        plan, why = planner(legs_requested, fills, books, done, target, pay, order_type, stale_secs)
        if plan is not None:
            options.append(plan)
        else:
            reasons.append(why)
    if options:
        best = min(options, key=lambda p: p.expected_loss_usd)
        if best.expected_loss_usd <= max_loss_usd:
            return best
        return LegRepairPlan(
            "hold",
            naked=naked,
            complete_sets=done,
            expected_loss_usd=best.expected_loss_usd,
            reason="loss_above_bound",
        )
    return LegRepairPlan("hold", naked=naked, complete_sets=done, reason=",".join(reasons))


def _fill_of(leg: ArbLeg, value: LegFill | Decimal | None) -> LegFill:
    if value is None:
        return LegFill(leg.token_id, ZERO, leg.price)
    if isinstance(value, LegFill):
        return (
            value if value.avg_price is not None else LegFill(leg.token_id, value.size, leg.price)
        )
    return LegFill(leg.token_id, value, leg.price)


def _usable(book: BookView, stale_secs: float) -> bool:
    return book.live and book.age_secs <= stale_secs


def _sweep(levels: Sequence[Level], size: Decimal) -> tuple[Decimal, Decimal] | None:
    """(notional, worst price) to trade ``size`` through ``levels``, or None if too thin."""
    left, notional, worst = size, ZERO, None
    for price, avail in levels:
        take = min(left, avail)
        if take <= ZERO:
            continue
        notional += take * price
        worst = price
        left -= take
        if left <= ZERO:
            return notional, worst
    return None


def _book(books: Mapping[str, BookView], leg: ArbLeg) -> BookView | None:
    return book_for(leg.token_id, books, leg.complement_token or None)


def _unwind(legs, fills, books, done, target, pay, order_type, stale_secs):
    orders: list[DesiredOrder] = []
    loss = ZERO
    for leg in legs:
        excess = fills[leg.token_id].size - done
        if excess <= ZERO:
            continue
        if excess < leg.min_size:
            return None, "unwind_below_min_size"
        book = _book(books, leg)
        if book is None or not _usable(book, stale_secs):
            return None, "unwind_not_live"
        swept = _sweep(book.bid_levels(), excess)
        if swept is None:
            return None, "unwind_no_liquidity"
        proceeds, worst = swept
        fee = _fee(book.bid_levels(), excess, leg.fee_rate, leg.fee_exponent)
        loss += excess * fills[leg.token_id].avg_price - proceeds + fee
        orders.append(
            DesiredOrder(
                leg.market,
                leg.token_id,
                Side.SELL,
                worst,
                excess,
                post_only=False,
                order_type=order_type,
                tag="unwind",
            )
        )
    return LegRepairPlan("unwind", tuple(orders), complete_sets=done, expected_loss_usd=loss), ""


def _complete(legs, fills, books, done, target, pay, order_type, stale_secs):
    orders: list[DesiredOrder] = []
    spent = ZERO
    for leg in legs:
        have = fills[leg.token_id]
        spent += (have.size - done) * have.avg_price
        missing = target - have.size
        if missing <= ZERO:
            continue
        if missing < leg.min_size:
            return None, "complete_below_min_size"
        book = _book(books, leg)
        if book is None or not _usable(book, stale_secs):
            return None, "complete_not_live"
        swept = _sweep(book.ask_levels(), missing)
        if swept is None:
            return None, "complete_no_liquidity"
        notional, worst = swept
        if notional < MIN_MARKETABLE_BUY_USD:
            return None, "complete_below_min_size"
        spent += notional + _fee(book.ask_levels(), missing, leg.fee_rate, leg.fee_exponent)
        orders.append(
            DesiredOrder(
                leg.market,
                leg.token_id,
                Side.BUY,
                worst,
                missing,
                post_only=False,
                order_type=order_type,
                tag="unwind",
            )
        )
    loss = spent - (target - done) * pay
    return LegRepairPlan(
        "complete", tuple(orders), complete_sets=target, expected_loss_usd=loss
    ), ""


def _fee(levels: Sequence[Level], size: Decimal, rate: Decimal, exponent: int) -> Decimal:
    left, fee = size, ZERO
    for price, avail in levels:
        take = min(left, avail)
        if take <= ZERO:
            continue
        fee += take * rate * (price * (ONE - price)) ** exponent
        left -= take
        if left < SIZE_STEP:
            break
    return fee
