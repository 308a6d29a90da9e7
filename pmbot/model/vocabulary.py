"""The shared vocabulary: enums and exact price helpers.

Money is exact: prices and sizes are ``Decimal`` (never floats), amounts on the wire are integers in
1e-6 units. This module imports nothing from pmbot.
"""

from __future__ import annotations

import enum
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
BASE_UNITS = 1_000_000  # pUSD and outcome shares both have 6 decimals


class Side(str, enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class Outcome(str, enum.Enum):
    YES = "YES"
    NO = "NO"


class OrderType(str, enum.Enum):
    GTC = "GTC"
    GTD = "GTD"
    FOK = "FOK"
    FAK = "FAK"


class OrderEventKind(str, enum.Enum):
    PLACEMENT = "PLACEMENT"
    UPDATE = "UPDATE"
    CANCELLATION = "CANCELLATION"


class TradeStatus(str, enum.Enum):
    MATCHED = "MATCHED"
    MINED = "MINED"
    CONFIRMED = "CONFIRMED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"


class VenueMode(str, enum.Enum):
    NORMAL = "normal"
    CANCEL_ONLY = "cancel_only"
    POST_ONLY = "post_only"
    DISABLED = "disabled"


# --------------------------------------------------------------------------- price helpers


def dec(value: str | int | float | Decimal) -> Decimal:
    """Decimal from a venue value. Floats go through ``repr`` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def round_down(price: Decimal, tick: Decimal) -> Decimal:
    """Largest multiple of ``tick`` that is <= ``price``."""
    return (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def round_up(price: Decimal, tick: Decimal) -> Decimal:
    """Smallest multiple of ``tick`` that is >= ``price``."""
    return (price / tick).to_integral_value(rounding=ROUND_CEILING) * tick


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return (price / tick) == (price / tick).to_integral_value()


def price_in_bounds(price: Decimal, tick: Decimal) -> bool:
    """The venue accepts ``tick <= price <= 1 - tick``."""
    return tick <= price <= ONE - tick


def to_base_units(amount: Decimal) -> int:
    """Exact conversion to 1e-6 units; raises if ``amount`` has more than 6 decimals."""
    scaled = amount * BASE_UNITS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than 6 decimals")
    return int(scaled)


def from_base_units(units: int) -> Decimal:
    return Decimal(units) / BASE_UNITS
