"""Taker fees from the right source, exactly, with an explicit "unknown" state.

Rule (Polymarket fees docs; py_clob_client_v2 1.2.1 ``fees.py`` uses the same formula):
``fee = shares * r * (p * (1 - p)) ** e``, charged in pUSD to the taker only, floored to 5 decimals
(NautilusTrader's ``compute_commission``: "floored to 5 decimal places, matching the venue charge").

Sources, in order of trust:

1. The CLOB's market info ``GET /clob-markets/{condition_id}``: ``fd.r`` (rate), ``fd.e``
   (exponent), ``fd.to`` (taker only). This is the rate the venue charges (py-clob-client-v2 #107:
   ``GET /fee-rate`` answers ``base_fee: 1000`` for every fee-bearing market whatever its real rate,
   and a trade's ``fee_rate_bps`` can read 0 while a fee was charged; neither is the rate).
2. Gamma's ``feeSchedule`` (``rate``, ``exponent``), only as a fallback: it can be missing on a
   market that charges fees.
3. Neither: ``UNKNOWN_FEE``. Callers must not treat that as zero (an arbitrage must skip the basket
   or assume a conservative ceiling, see ``worst_case_fee_schedule``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Final

FEE_DECIMALS = 5
_FEE_QUANTUM = Decimal(1).scaleb(-FEE_DECIMALS)
_ZERO = Decimal(0)
_ONE = Decimal(1)
# Above the highest published taker rate (crypto 0.07; 0.072 in a Mar 2026 schedule), exponent 1.
WORST_CASE_RATE = Decimal("0.1")


class FeeDataError(ValueError):
    """A fee description could not be read. ``kind`` is a bounded label for metrics."""

    def __init__(self, message: str, kind: str = "fee_malformed") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A market's taker-fee parameters. ``source`` is ``"clob"`` or ``"gamma"``."""

    rate: Decimal
    exponent: int
    taker_only: bool = True
    source: str = "clob"

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate < 0:
            raise FeeDataError(f"fee rate must be a non-negative Decimal, got {self.rate!r}")
        if isinstance(self.exponent, bool) or not isinstance(self.exponent, int):
            raise FeeDataError(f"fee exponent must be an int, got {self.exponent!r}")
        if self.exponent < 0:
            raise FeeDataError(f"fee exponent must be >= 0, got {self.exponent}")


@dataclass(frozen=True, slots=True)
class UnknownFee:
    """Neither the CLOB nor Gamma said what this market charges. Never the same as zero."""

    reason: str = "no fd in /clob-markets and no feeSchedule in Gamma"


UNKNOWN_FEE: Final = UnknownFee()
FeeState = FeeSchedule | UnknownFee
ZERO_FEE = FeeSchedule(_ZERO, 1, True, "clob")
ZERO_FEE_GAMMA = FeeSchedule(_ZERO, 1, True, "gamma")


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise FeeDataError(f"{name} is missing or a boolean")
    try:
        out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise FeeDataError(f"{name} is not a number: {value!r}") from None
    if not out.is_finite():
        raise FeeDataError(f"{name} is not finite: {value!r}")
    return out


def _exponent(value: Any) -> int:
    exp = _decimal(value, "fee exponent")
    if exp != exp.to_integral_value():
        raise FeeDataError(f"fee exponent must be a whole number, got {value!r}")
    return int(exp)


def schedule_from_fd(fd: Any) -> FeeSchedule | None:
    """``fd`` of ``/clob-markets`` (``{"r": 0.05, "e": 1, "to": true}``) or None when absent.

    A present ``fd`` without ``e`` takes exponent 1 (the documented current value); without ``r``
    it is malformed. An empty or null ``fd`` counts as absent.
    """
    if fd is None or fd == {}:
        return None
    if not isinstance(fd, dict):
        raise FeeDataError("fd is not an object")
    if fd.get("r") is None:
        raise FeeDataError("fd has no rate r")
    exponent = _exponent(fd["e"]) if fd.get("e") is not None else 1
    taker_only = fd.get("to", True)
    return FeeSchedule(_decimal(fd["r"], "fd.r"), exponent, bool(taker_only), "clob")


def schedule_from_gamma(market: Any) -> FeeSchedule | None:
    """Gamma market ``feeSchedule`` (``{"rate": .., "exponent": .., "takerOnly": ..}``), or None.

    ``feesEnabled: false`` with no schedule means a fee-free market (zero, known)."""
    if not isinstance(market, dict):
        raise FeeDataError("gamma market is not an object")
    schedule = market.get("feeSchedule")
    if not schedule:
        return ZERO_FEE_GAMMA if market.get("feesEnabled") is False else None
    if not isinstance(schedule, dict):
        raise FeeDataError("feeSchedule is not an object")
    if schedule.get("rate") is None:
        raise FeeDataError("feeSchedule has no rate")
    exponent = _exponent(schedule["exponent"]) if schedule.get("exponent") is not None else 1
    taker_only = bool(schedule.get("takerOnly", True))
    return FeeSchedule(
        _decimal(schedule["rate"], "feeSchedule.rate"), exponent, taker_only, "gamma"
    )


def resolve_fee(clob: FeeSchedule | None, gamma: FeeSchedule | None) -> FeeState:
    """The CLOB's ``fd`` wins; Gamma's ``feeSchedule`` is the fallback; else ``UNKNOWN_FEE``."""
    if clob is not None:
        return clob
    if gamma is not None:
        return gamma
    return UNKNOWN_FEE


def fee_rate_at(schedule: FeeSchedule, price: Decimal) -> Decimal:
    """Fee per share at ``price`` before rounding: ``r * (p * (1 - p)) ** e``."""
    if not _ZERO <= price <= _ONE:
        raise ValueError(f"price {price} outside [0, 1]")
    if schedule.exponent == 0:  # Decimal 0 ** 0 is undefined; the factor is 1
        return schedule.rate
    return schedule.rate * (price * (_ONE - price)) ** schedule.exponent


def taker_fee(shares: Decimal, price: Decimal, schedule: FeeSchedule) -> Decimal:
    """The pUSD fee a taker pays for ``shares`` filled at ``price``, floored to 5 decimals."""
    if shares < 0:
        raise ValueError(f"shares must be >= 0, got {shares}")
    raw = shares * fee_rate_at(schedule, price)
    return raw.quantize(_FEE_QUANTUM, rounding=ROUND_FLOOR)


def fill_fee(shares: Decimal, price: Decimal, schedule: FeeSchedule, *, is_taker: bool) -> Decimal:
    """Fee for one fill: zero for a maker when the schedule is taker-only."""
    if not is_taker and schedule.taker_only:
        return _ZERO
    return taker_fee(shares, price, schedule)


def worst_case_fee_schedule() -> FeeSchedule:
    """A ceiling for markets whose fee is unknown: rate ``WORST_CASE_RATE``, exponent 1.

    With ``e >= 1`` and ``p*(1-p) <= 1/4`` no published schedule charges more per share."""
    return FeeSchedule(WORST_CASE_RATE, 1, True, "worst_case")


def fee_for_cost_model(shares: Decimal, price: Decimal, state: FeeState) -> Decimal:
    """Fee an edge computation should assume: the real one, or the worst case when unknown."""
    schedule = worst_case_fee_schedule() if isinstance(state, UnknownFee) else state
    raw = shares * fee_rate_at(schedule, price)
    if isinstance(state, UnknownFee):  # a ceiling: round up, never down
        return raw.quantize(_FEE_QUANTUM, rounding=ROUND_CEILING)
    return raw.quantize(_FEE_QUANTUM, rounding=ROUND_FLOOR)
