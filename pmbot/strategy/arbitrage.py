"""Arbitrage detection (issue 8, parts 2-4): fee-aware, depth-aware, pure.

Three patterns, all "buy one of each leg per set, hold to resolution" (protocol 6.2, 6.3):

- ``basket_yes``: a neg-risk event's YES asks sum below ``1 - fees - min_edge``. Exactly one YES
  pays $1, so a set costs ``sum(asks)`` and pays 1.
- ``basket_no``: the YES bids sum above ``1 + fees + min_edge``. Buy one NO of every outcome
  (NO ask = 1 - YES bid on the unified book), cost ``n - sum(bids)``, pays ``n - 1``.
- ``binary_set``: one market's YES ask + NO ask below ``1 - fees - min_edge``. On a consistent
  unified book NO ask = 1 - YES bid, so this only shows in stale/delayed views (protocol 6.1): it is
  taken only from live, fresh books and sent fill-or-kill.

Events flagged ``negRiskAugmented`` are skipped: their named outcomes are not exhaustive.

Sizing (``arb_sizing``): the legs are walked level by level together; each step takes the size
the thinnest leg has left at its current level, while the marginal edge per set (payout - prices -
taker fees) still exceeds ``min_edge_usd``, and while the basket budget
(``min(max_basket_usd, remaining total)``) allows. The limit price of each leg is the deepest level
used, so a FAK/FOK sweeps exactly those levels (makers fill at their own prices). Taker fee per
leg: ``size * r * (p * (1 - p)) ** e`` with the CLOB's ``fd.r``/``fd.e``
(``MarketInfo.fee_terms``: the worst case when unknown). The set count is then capped by the free
pUSD and, for FOK legs, by the pUSD each book can take in full at the leg's limit (rounded to a
count whose spend is whole cents, so every leg buys it exactly).

Each leg must reach the market's minimum size and, being a marketable BUY, $1 of notional.
An opportunity whose gross edge exists (prices cross) but cannot be taken is still reported with
``skipped`` set to ``not_live``, ``augmented``, ``below_edge``, ``below_min_size`` or ``budget``
(the caller adds ``cooldown`` / ``in_flight``), so metrics can count what was seen.

Legging repair lives in ``legging.py``; ``plan_leg_repair`` is re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ONE, ZERO, EventInfo, MarketInfo, OrderType, Outcome, Side
from pmbot.strategy.arb_sizing import Walk, leg_spend, size_basket, taker_fee
from pmbot.strategy.params import ArbitrageParams
from pmbot.strategy.views import BookView, DesiredOrder, book_for

MIN_MARKETABLE_BUY_USD = ONE  # protocol 1.11


@dataclass(frozen=True, slots=True)
class ArbLeg:
    market: str
    token_id: str
    outcome: Outcome
    side: Side
    price: Decimal  # limit: the deepest level the walk used
    size: Decimal
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)
    fee_rate: Decimal = ZERO
    fee_exponent: int = 1  # taker fee = size * fee_rate * (p * (1 - p)) ** fee_exponent
    neg_risk: bool = False
    cost_usd: Decimal = ZERO  # expected notional at the walked levels
    complement_token: str = ""  # the other token of the leg's market (its book mirrors this one's)


@dataclass(frozen=True, slots=True)
class Opportunity:
    kind: str  # basket_yes | basket_no | binary_set
    key: str  # "<kind>:<event slug or condition id>"
    legs: tuple[ArbLeg, ...]
    sets: Decimal
    payout_per_set: Decimal
    cost_usd: Decimal
    fees_usd: Decimal
    edge_usd: Decimal  # sets * payout - cost - fees
    top_edge_per_set: Decimal  # at the best levels, after fees (what was "seen")
    order_type: OrderType = OrderType.FAK
    skipped: str = ""  # "" = actionable

    @property
    def locks(self) -> Decimal:
        """The pUSD the legs are signed for (their spends) plus fees: what the basket needs free."""
        fok = self.order_type is OrderType.FOK
        return self.fees_usd + sum(
            (leg_spend(leg.size, leg.price, fok=fok) for leg in self.legs), ZERO
        )

    @property
    def actionable(self) -> bool:
        return not self.skipped and self.sets > ZERO

    def skip(self, reason: str) -> Opportunity:
        return dataclasses.replace(self, skipped=reason)

    def orders(self) -> tuple[DesiredOrder, ...]:
        return tuple(
            DesiredOrder(
                market=leg.market,
                token_id=leg.token_id,
                side=leg.side,
                price=leg.price,
                size=leg.size,
                post_only=False,
                order_type=self.order_type,
                tag="arb",
            )
            for leg in self.legs
        )


@dataclass(frozen=True, slots=True)
class _LegSource:
    market: MarketInfo
    token_id: str
    outcome: Outcome
    book: BookView | None

    @property
    def complement(self) -> str:
        return self.market.other_token(self.token_id)


def scan(
    markets: Sequence[MarketInfo],
    events: Sequence[EventInfo],
    books: Mapping[str, BookView],
    params: ArbitrageParams,
    *,
    now_budget_usd: Decimal | None = None,
    stale_secs: float = 60.0,
    free_usd: Decimal | None = None,
) -> tuple[Opportunity, ...]:
    """Every basket and complete-set opportunity visible in ``books`` (actionable or skipped).
    ``free_usd``: the free pUSD each basket's legs must fit (None: not known, not capped)."""
    budget = params.max_total_usd if now_budget_usd is None else now_budget_usd
    found: list[Opportunity] = []
    for event in events:
        for opp in (
            basket_yes(event, books, params, budget, stale_secs, free_usd),
            basket_no(event, books, params, budget, stale_secs, free_usd),
        ):
            if opp is not None:
                found.append(opp)
    for market in markets:
        opp = binary_set(market, books, params, budget, stale_secs, free_usd)
        if opp is not None:
            found.append(opp)
    return tuple(found)


def basket_yes(
    event: EventInfo,
    books: Mapping[str, BookView],
    params: ArbitrageParams,
    budget_usd: Decimal,
    stale_secs: float = 60.0,
    free_usd: Decimal | None = None,
) -> Opportunity | None:
    legs = [
        _LegSource(m, m.yes_token, Outcome.YES, book_for(m.yes_token, books, m.no_token))
        for m in event.markets
    ]
    return _evaluate(
        "basket_yes",
        event.slug,
        legs,
        ONE,
        params,
        budget_usd,
        stale_secs,
        augmented=event.neg_risk_augmented,
        order_type=params.leg_order_type,
        free_usd=free_usd,
    )


def basket_no(
    event: EventInfo,
    books: Mapping[str, BookView],
    params: ArbitrageParams,
    budget_usd: Decimal,
    stale_secs: float = 60.0,
    free_usd: Decimal | None = None,
) -> Opportunity | None:
    legs = [
        _LegSource(m, m.no_token, Outcome.NO, book_for(m.no_token, books, m.yes_token))
        for m in event.markets
    ]
    payout = Decimal(len(event.markets) - 1)
    return _evaluate(
        "basket_no",
        event.slug,
        legs,
        payout,
        params,
        budget_usd,
        stale_secs,
        augmented=event.neg_risk_augmented,
        order_type=params.leg_order_type,
        free_usd=free_usd,
    )


def binary_set(
    market: MarketInfo,
    books: Mapping[str, BookView],
    params: ArbitrageParams,
    budget_usd: Decimal,
    stale_secs: float = 60.0,
    free_usd: Decimal | None = None,
) -> Opportunity | None:
    legs = [
        _LegSource(
            market,
            market.yes_token,
            Outcome.YES,
            book_for(market.yes_token, books, market.no_token),
        ),
        _LegSource(
            market, market.no_token, Outcome.NO, book_for(market.no_token, books, market.yes_token)
        ),
    ]
    return _evaluate(
        "binary_set",
        market.condition_id,
        legs,
        ONE,
        params,
        budget_usd,
        stale_secs,
        augmented=False,
        order_type=OrderType.FOK,
        free_usd=free_usd,
    )


def _evaluate(
    kind: str,
    ident: str,
    sources: Sequence[_LegSource],
    payout: Decimal,
    params: ArbitrageParams,
    budget_usd: Decimal,
    stale_secs: float,
    *,
    augmented: bool,
    order_type: OrderType,
    free_usd: Decimal | None = None,
) -> Opportunity | None:
    if len(sources) < 2:
        return None
    levels = [s.book.ask_levels() if s.book is not None else () for s in sources]
    if any(not lv for lv in levels):
        return None
    top_prices = [lv[0][0] for lv in levels]
    if payout - sum(top_prices) <= ZERO:
        return None  # no gross edge: nothing seen
    rates = [s.market.fee_terms() for s in sources]
    top_edge = (
        payout
        - sum(top_prices)
        - sum(taker_fee(ONE, p, *r) for p, r in zip(top_prices, rates, strict=True))
    )
    base = _seen(kind, ident, payout, top_edge, order_type)
    if augmented:
        return base.skip("augmented")
    if any(s.book is None or not s.book.live or s.book.age_secs > stale_secs for s in sources):
        return base.skip("not_live")
    if top_edge <= params.min_edge_usd:
        return base.skip("below_edge")
    budget = min(params.max_basket_usd, budget_usd)
    if budget <= ZERO:
        return base.skip("budget")
    fok = order_type is OrderType.FOK
    walk = size_basket(
        levels, rates, payout, params.min_edge_usd, budget, fok=fok, free_usd=free_usd,
        min_size=max(s.market.min_size for s in sources),
    )  # fmt: skip
    return _sized(base, sources, walk)


def _sized(base: Opportunity, sources: Sequence[_LegSource], walk: Walk) -> Opportunity:
    """The opportunity with its legs and figures, skipped when a leg is too small to send."""
    opp = dataclasses.replace(
        base,
        legs=_legs(sources, walk),
        sets=walk.sets,
        cost_usd=walk.cost,
        fees_usd=walk.fees,
        edge_usd=walk.sets * base.payout_per_set - walk.cost - walk.fees,
    )
    too_small = walk.sets <= ZERO or any(
        walk.sets < s.market.min_size or cost < MIN_MARKETABLE_BUY_USD
        for s, cost in zip(sources, walk.leg_costs, strict=True)
    )
    if too_small:
        return opp.skip("budget" if walk.budget_bound else "below_min_size")
    return opp


def _seen(
    kind: str, ident: str, payout: Decimal, top_edge: Decimal, order_type: OrderType
) -> Opportunity:
    """An opportunity seen at the top of the books, before sizing (no legs yet)."""
    return Opportunity(
        kind=kind,
        key=f"{kind}:{ident}",
        legs=(),
        sets=ZERO,
        payout_per_set=payout,
        cost_usd=ZERO,
        fees_usd=ZERO,
        edge_usd=ZERO,
        top_edge_per_set=top_edge,
        order_type=order_type,
    )


def _legs(sources: Sequence[_LegSource], walk: Walk) -> tuple[ArbLeg, ...]:
    """One BUY leg per source at the walk's limit price, ``walk.sets`` shares each."""
    return tuple(
        ArbLeg(
            market=s.market.condition_id,
            token_id=s.token_id,
            outcome=s.outcome,
            side=Side.BUY,
            price=limit,
            size=walk.sets,
            tick=s.market.tick,
            min_size=s.market.min_size,
            fee_rate=s.market.fee_terms()[0],
            fee_exponent=s.market.fee_terms()[1],
            neg_risk=s.market.neg_risk,
            cost_usd=cost,
            complement_token=s.complement,
        )
        for s, limit, cost in zip(sources, walk.limits, walk.leg_costs, strict=True)
    )


from pmbot.strategy.legging import LegFill, LegRepairPlan, plan_leg_repair  # noqa: E402  (re-export)

__all__ = [
    "ArbLeg",
    "Opportunity",
    "taker_fee",
    "book_for",
    "scan",
    "basket_yes",
    "basket_no",
    "binary_set",
    "LegFill",
    "LegRepairPlan",
    "plan_leg_repair",
]
