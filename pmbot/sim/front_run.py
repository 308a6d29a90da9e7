"""The ``front_run`` test knob: a faster taker gets there first.

The next ``count`` FOK/FAK orders of outside (non-background) owners on a token find only
``max_size`` shares within their limit; the rest of the background makers' liquidity they could
have reached is gone (cancelled, as if taken) right after they match. A FOK bigger than
``max_size`` is killed (and the liquidity still goes). This models the uneven leg fills of an
arbitrage basket deterministically. The exchange does the sweeping; this keeps the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.sim.orderbook import ZERO


@dataclass(slots=True)
class _Armed:
    orders_left: int
    max_size: Decimal


class FrontRun:
    def __init__(self) -> None:
        self._armed: dict[str, _Armed] = {}  # token -> what is left of the knob

    def arm(self, token_id: str, max_size: Decimal, count: int) -> None:
        """``count`` 0 (or less) clears the knob on the token."""
        if max_size <= ZERO:
            raise ValueError("front_run: max_size must be positive")
        if count <= 0:
            self._armed.pop(token_id, None)
        else:
            self._armed[token_id] = _Armed(count, max_size)

    def take(self, token_id: str, order_type: str, internal: bool) -> Decimal | None:
        """The cap on this marketable order's shares, or None when the knob does not apply."""
        armed = self._armed.get(token_id)
        if armed is None or order_type not in ("FOK", "FAK") or internal:
            return None
        armed.orders_left -= 1
        if armed.orders_left <= 0:
            del self._armed[token_id]
        return armed.max_size
