"""EIP-1559 fee pricing from the node, and the bump a same-nonce replacement needs (pure)."""

from __future__ import annotations

from dataclasses import dataclass

BUMP_PCT = 15  # nodes require >= 10% on both caps for a replacement; 15 leaves margin


@dataclass(frozen=True, slots=True)
class Fees:
    max_fee: int  # wei per gas
    tip: int  # wei per gas (maxPriorityFeePerGas)


def price(base_fee: int, tip: int, *, cap: int) -> Fees:
    """maxFee = 2 x base fee + tip (survives six full blocks of base-fee rises), capped."""
    max_fee = min(2 * base_fee + tip, cap)
    return Fees(max_fee=max_fee, tip=min(tip, max_fee))


def bump(old: Fees, current: Fees, *, cap: int, pct: int = BUMP_PCT) -> Fees | None:
    """Fees for a replacement of ``old``: at least ``pct``% more on both caps and no less than
    the node's current price; None when that would pass ``cap`` (do not replace, wait)."""
    tip = max(-(-old.tip * (100 + pct) // 100), current.tip)
    max_fee = max(-(-old.max_fee * (100 + pct) // 100), current.max_fee, tip)
    if max_fee > cap:
        return None
    return Fees(max_fee=max_fee, tip=tip)


def gas_limit(estimate: int, margin_pct: int = 25) -> int:
    return estimate * (100 + margin_pct) // 100
