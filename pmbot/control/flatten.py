"""The flatten planner (pure): how to bring one market's inventory to zero right now.

Given the shares held of YES and NO, the bids of each token's book (best first) and a slippage
bound ``C`` (a price distance below the best bid), it plans marketable SELL orders (FAK, so nothing
is left resting) that walk the bids down to ``best bid - C`` and no further. It never buys: every
share it plans to sell is a share held, and a thin book leaves a reported remainder instead of a
worse price. YES+NO pairs redeem for 1 USDC each by merging; where the account can merge, the pairs
are reported as ``merge_pairs`` and not sold, otherwise they are sold like any other share and the
plan notes how many could have been merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from pmbot.model import ZERO, Level, MarketInfo, Outcome

LOT = Decimal("0.01")  # share sizes travel with two decimals


@dataclass(frozen=True, slots=True)
class FlattenSell:
    token_id: str
    outcome: Outcome
    price: Decimal  # limit price: the worst bid the plan reaches (a marketable FAK SELL)
    size: Decimal
    expected_usd: Decimal  # what the walked levels pay, before fees


@dataclass(frozen=True, slots=True)
class FlattenPlan:
    market: str  # condition id
    merge_pairs: Decimal
    sells: tuple[FlattenSell, ...]
    remainder: Mapping[str, Decimal] = field(default_factory=dict)  # token -> shares left
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return all(v == ZERO for v in self.remainder.values())


def _walk(
    bids: Sequence[Level], shares: Decimal, floor: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """(size, worst price, proceeds) the bids at or above ``floor`` can take of ``shares``."""
    size = proceeds = ZERO
    worst = ZERO
    for price, level_size in bids:
        if price < floor or size >= shares:
            break
        take = min(level_size, shares - size)
        if take <= ZERO:
            continue
        size += take
        proceeds += take * price
        worst = price
    return size, worst, proceeds


def _sell(
    market: MarketInfo, token: str, shares: Decimal, bids: Sequence[Level], slip: Decimal
) -> tuple[FlattenSell | None, Decimal, str]:
    """One token's sell order (or None), the shares left over and a note when something is left."""
    if shares <= ZERO:
        return None, ZERO, ""
    outcome = market.outcome_of(token)
    if not bids:
        return None, shares, f"{outcome.value}: no bids"
    best = bids[0][0]
    floor = max(best - slip, market.tick)
    size, worst, _ = _walk(bids, shares, floor)
    size = size.quantize(LOT, rounding=ROUND_DOWN)
    if size < market.min_size:
        why = f"{outcome.value}: bids down to {floor} take {size}, under the minimum"
        return None, shares, f"{why} {market.min_size}"
    _, worst, proceeds = _walk(bids, size, floor)
    left = shares - size
    note = f"{outcome.value}: {left} left, bids above {floor} too thin" if left > ZERO else ""
    return FlattenSell(token, outcome, worst, size, proceeds), left, note


def plan_flatten(
    market: MarketInfo,
    *,
    yes_shares: Decimal,
    no_shares: Decimal,
    yes_bids: Sequence[Level],
    no_bids: Sequence[Level],
    max_slippage: Decimal,
    can_merge: bool = False,
) -> FlattenPlan:
    notes: list[str] = []
    if yes_shares < ZERO or no_shares < ZERO:
        notes.append("negative inventory ignored: flatten never buys")
    yes, no = max(yes_shares, ZERO), max(no_shares, ZERO)
    pairs = min(yes, no).quantize(LOT, rounding=ROUND_DOWN)
    merge = pairs if can_merge and pairs > ZERO else ZERO
    if pairs > ZERO and not can_merge:
        notes.append(f"{pairs} YES+NO pairs could be merged; selling them instead")
    sells: list[FlattenSell] = []
    remainder: dict[str, Decimal] = {}
    for token, held, bids in (
        (market.yes_token, yes - merge, yes_bids),
        (market.no_token, no - merge, no_bids),
    ):
        order, left, note = _sell(market, token, held, bids, max_slippage)
        if order is not None:
            sells.append(order)
        remainder[token] = left
        if note:
            notes.append(note)
    return FlattenPlan(market.condition_id, merge, tuple(sells), remainder, tuple(notes))


def plan_to_data(plan: FlattenPlan) -> dict[str, object]:
    """The plan as JSON-ready data for the control answer."""
    return {
        "market": plan.market,
        "merge_pairs": str(plan.merge_pairs),
        "sells": [
            {
                "token_id": s.token_id,
                "outcome": s.outcome.value,
                "price": str(s.price),
                "size": str(s.size),
                "expected_usd": str(s.expected_usd),
            }
            for s in plan.sells
        ],
        "remainder": {k: str(v) for k, v in plan.remainder.items()},
        "complete": plan.complete,
        "notes": list(plan.notes),
    }
