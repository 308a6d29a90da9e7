"""Typed messages between the strategy thread and the on-chain worker.

The strategy thread (engine) puts ``MergeIntent`` / ``RedeemIntent`` on the worker's queue; the
worker reports ``OnchainSettled`` or ``OnchainFailed`` back through a sink (the engine's inbound
queue). Amounts are shares (= pUSD for a merge), exact Decimals with 6 decimal places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

UNIT = Decimal("0.000001")  # pUSD and outcome tokens have 6 decimals
SCALE = 10**6


def to_units(amount: Decimal) -> int:
    """Shares or pUSD to on-chain base units (rounded down: never ask for more than held)."""
    return int((amount.quantize(UNIT, rounding=ROUND_DOWN) * SCALE).to_integral_value())


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(UNIT)


@dataclass(frozen=True, slots=True)
class MergeIntent:
    """Merge ``shares`` YES+NO pairs of ``condition_id`` back into ``shares`` pUSD."""

    intent_id: str
    condition_id: str
    shares: Decimal
    neg_risk: bool = False
    reason: str = "pairs"  # "pairs" (market-maker leftovers) or "arbitrage" (a completed set)


@dataclass(frozen=True, slots=True)
class RedeemIntent:
    """Redeem every position of the resolved ``condition_id``."""

    intent_id: str
    condition_id: str
    neg_risk: bool = False


OnchainIntent = MergeIntent | RedeemIntent


def kind_of(intent: OnchainIntent) -> str:
    return "merge" if isinstance(intent, MergeIntent) else "redeem"


@dataclass(frozen=True, slots=True)
class OnchainSettled:
    """The transaction is final: ``collateral`` pUSD came back, ``shares`` pairs were burnt
    (for a redeem: every position of the condition). ``cost_native`` is the gas paid (POL) or 0
    when the relayer paid."""

    intent_id: str
    kind: str
    condition_id: str
    shares: Decimal
    collateral: Decimal
    tx_hash: str
    cost_native: Decimal


@dataclass(frozen=True, slots=True)
class OnchainFailed:
    """The intent did not happen (positions are as they were). ``final``: it will not be retried."""

    intent_id: str
    kind: str
    condition_id: str
    error: str
    final: bool
