"""Frozen strategy parameters, one dataclass per config section (``strategy``, ``risk``,
``arbitrage``).

Field names and defaults mirror ``config.yaml`` / ``pmbot.config`` so the strategy thread can build
them with :meth:`StrategyParams.from_sections` from the validated config objects. This module does
not import ``pmbot.config`` (the strategy package stays pure); it reads attributes by name and
ignores the ones it does not know (e.g. ``arbitrage.events``, which the wiring resolves to
``EventInfo``). A few knobs exist only here (``fair_value``, ``vol_spread_mult``,
``initial_variance_per_sec``, ``arb_cooldown_secs``); they keep their defaults unless passed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmbot.model import OrderType


@dataclass(frozen=True, slots=True)
class QuotingParams:
    """The ``strategy:`` section. ``name``: ``edge`` (the seed's exact rules) or ``avellaneda``."""

    name: str = "edge"
    edge_fraction: Decimal = Decimal("0.10")
    order_size: Decimal = Decimal(10)
    skew_ticks: int = 2
    # avellaneda (inventory-aware)
    risk_aversion: Decimal = Decimal("0.1")  # gamma
    horizon_secs: Decimal = Decimal(3600)  # T, capped by the time left to the market's end date
    vol_halflife_secs: Decimal = Decimal(60)  # EWMA half-life of the per-second mid variance
    min_half_spread_ticks: int = 1
    ladder_levels: int = 1
    ladder_step_ticks: int = 1
    # liquidity rewards (rewards_band.py): off | stay_in_band; the band (cents, the venue's unit)
    # and min size come from the market, these narrow / raise them when set (0 = the venue's)
    rewards: str = "off"
    rewards_max_spread_cents: Decimal = Decimal(0)
    rewards_min_size: Decimal = Decimal(0)
    fair_value: str = "microprice"  # microprice | mid
    vol_spread_mult: Decimal = Decimal("0.25")  # half spread += mult * sigma * sqrt(T)
    initial_variance_per_sec: Decimal = Decimal("0.000001")  # before any mid change was seen


@dataclass(frozen=True, slots=True)
class RiskParams:
    """The ``risk:`` section. Every guard fails closed: a tripped guard means no new quotes."""

    max_inventory_imbalance_usd: Decimal = Decimal(50)
    max_position_size_usd: Decimal = Decimal(500)
    min_bid: Decimal = Decimal("0.02")
    max_ask: Decimal = Decimal("0.98")
    resume_fraction: Decimal = Decimal("0.9")
    daily_loss_limit_usd: Decimal = Decimal(100)
    reject_breaker_count: int = 10
    reject_breaker_window_secs: Decimal = Decimal(60)
    reject_cooloff_secs: Decimal = Decimal(30)
    jump_threshold: Decimal = Decimal("0.05")
    jump_cooloff_secs: Decimal = Decimal(10)
    reduce_only_before_end_secs: Decimal = Decimal(3600)
    stale_book_secs: Decimal = Decimal(60)


@dataclass(frozen=True, slots=True)
class ArbitrageParams:
    """The ``arbitrage:`` section (the wiring resolves events, passed in ``StrategyInput``)."""

    enabled: bool = True
    binary_markets: bool = True
    min_edge_usd: Decimal = Decimal("0.01")  # per set, after fees
    max_basket_usd: Decimal = Decimal(100)
    max_total_usd: Decimal = Decimal(1000)
    leg_order_type: OrderType = OrderType.FAK
    max_leg_loss_usd: Decimal = Decimal(5)
    arb_cooldown_secs: float = (
        2.0  # do not fire the same opportunity again while the book catches up
    )


@dataclass(frozen=True, slots=True)
class StrategyParams:
    quoting: QuotingParams = field(default_factory=QuotingParams)
    risk: RiskParams = field(default_factory=RiskParams)
    arbitrage: ArbitrageParams = field(default_factory=ArbitrageParams)

    @classmethod
    def from_sections(
        cls, strategy: Any = None, risk: Any = None, arbitrage: Any = None
    ) -> StrategyParams:
        """Build from objects (``cfg.strategy``, ``cfg.risk``, ``cfg.arbitrage``) or mappings."""
        return cls(
            quoting=_build(QuotingParams, strategy),
            risk=_build(RiskParams, risk),
            arbitrage=_build(ArbitrageParams, arbitrage),
        )


def _build(cls: type, source: Any) -> Any:
    if source is None:
        return cls()
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if isinstance(source, dict):
            if f.name not in source:
                continue
            raw = source[f.name]
        elif hasattr(source, f.name):
            raw = getattr(source, f.name)
        else:
            continue
        values[f.name] = _coerce(raw, f.default)
    return cls(**values)


def _coerce(raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return bool(raw)
    if isinstance(default, Decimal):
        return raw if isinstance(raw, Decimal) else Decimal(str(raw))
    if isinstance(default, OrderType):
        return raw if isinstance(raw, OrderType) else OrderType(str(raw).upper())
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
