"""What to merge and what to redeem, from holdings and thresholds (pure).

- A resolved condition with anything held is redeemed (winning and losing tokens alike).
- Otherwise the pairs not kept for quoting (``min(yes - keep_yes, no - keep_no)``) are merged
  when they reach ``merge_min_usd``; a completed arbitrage set is merged at once, whatever its
  size. Either way only when the capital freed exceeds the estimated cost of the transaction.
- A condition with an intent still open is left alone (one intent per condition at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from pmbot.onchain.messages import UNIT, MergeIntent, OnchainIntent, RedeemIntent

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Holding:
    condition_id: str
    yes: Decimal
    no: Decimal
    keep_yes: Decimal = ZERO  # shares the market maker still needs for its quotes
    keep_no: Decimal = ZERO
    resolved: bool = False
    neg_risk: bool = False
    arbitrage: bool = False  # an arbitrage basket just completed a set here


@dataclass(frozen=True, slots=True)
class PlanLimits:
    merge_min_usd: Decimal
    est_cost_usd: Decimal = ZERO  # gas or relayer cost of one transaction, in USD


def mergeable(h: Holding) -> Decimal:
    free = min(h.yes - h.keep_yes, h.no - h.keep_no)
    return max(free, ZERO).quantize(UNIT, rounding=ROUND_DOWN)


def plan(
    holdings: Iterable[Holding],
    pending: Collection[str],
    limits: PlanLimits,
    new_id: Callable[[str, str], str],
) -> list[OnchainIntent]:
    """Intents to send now. ``new_id(kind, condition_id)`` names each new intent."""
    out: list[OnchainIntent] = []
    for h in holdings:
        if h.condition_id in pending:
            continue
        if h.resolved:
            if h.yes > 0 or h.no > 0:
                out.append(
                    RedeemIntent(new_id("redeem", h.condition_id), h.condition_id, h.neg_risk)
                )
            continue
        sets = mergeable(h)
        if sets <= 0 or sets <= limits.est_cost_usd:
            continue
        if h.arbitrage or sets >= limits.merge_min_usd:
            reason = "arbitrage" if h.arbitrage else "pairs"
            intent_id = new_id("merge", h.condition_id)
            out.append(MergeIntent(intent_id, h.condition_id, sets, h.neg_risk, reason))
    return out
