"""Hedged and unhedged position value: which part of the inventory is directional risk (issue 19).

Definition, per market (binary: one YES and one NO token):

- ``free_yes = q_yes - hedged_yes`` and ``free_no = q_no - hedged_no``, where ``hedged_*`` are the
  shares locked in recorded hedged sets (completed arbitrage baskets and complete sets);
- ``pairs = max(0, min(free_yes, free_no))``: a YES share and a NO share of one market pay exactly
  $1 together whatever the outcome, so pairs are complete sets too, even when quote fills made them;
- the **unhedged** shares are what is left, ``free_yes - pairs`` YES or ``free_no - pairs`` NO (one
  of the two is zero; ``|free_yes - free_no|`` shares of the longer side);
- the **unhedged value** marks those shares at the token's mid, else at its average cost (never at
  an invented price), exactly as the total position value marks every token;
- the **hedged value** is everything else: total position value minus unhedged value.

``risk.max_position_size_usd`` limits the unhedged value; hedged sets count against
``arbitrage.max_total_usd`` (and capital) instead. Tokens held outside the given markets are all
unhedged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ZERO, MarketInfo


@dataclass(frozen=True, slots=True)
class PositionSplit:
    total_usd: Decimal
    hedged_usd: Decimal
    unhedged_usd: Decimal


def unhedged_shares(
    q_yes: Decimal, q_no: Decimal, hedged_yes: Decimal = ZERO, hedged_no: Decimal = ZERO
) -> tuple[Decimal, Decimal]:
    """(unhedged YES shares, unhedged NO shares) of one market; one of them is zero."""
    free_yes, free_no = q_yes - hedged_yes, q_no - hedged_no
    pairs = max(ZERO, min(free_yes, free_no))
    return free_yes - pairs, free_no - pairs


def mark(token: str, mids: Mapping[str, Decimal], avg_cost: Mapping[str, Decimal]) -> Decimal:
    """The price a token is valued at: its mid, else its average cost."""
    mid = mids.get(token)
    return mid if mid is not None else avg_cost.get(token, ZERO)


def split_position(
    markets: Iterable[MarketInfo],
    shares: Mapping[str, Decimal],
    hedged: Mapping[str, Decimal],
    mids: Mapping[str, Decimal],
    avg_cost: Mapping[str, Decimal],
    total_usd: Decimal,
) -> PositionSplit:
    """Split ``total_usd`` (every token at mid, or at cost without one) into hedged and unhedged."""
    unhedged = ZERO
    seen: set[str] = set()
    for m in markets:
        if m.yes_token in seen:
            continue
        seen.update((m.yes_token, m.no_token))
        u_yes, u_no = unhedged_shares(
            shares.get(m.yes_token, ZERO),
            shares.get(m.no_token, ZERO),
            hedged.get(m.yes_token, ZERO),
            hedged.get(m.no_token, ZERO),
        )
        unhedged += u_yes * mark(m.yes_token, mids, avg_cost)
        unhedged += u_no * mark(m.no_token, mids, avg_cost)
    for token, size in shares.items():
        if token not in seen and size:
            unhedged += size * mark(token, mids, avg_cost)
    return PositionSplit(total_usd, total_usd - unhedged, unhedged)
