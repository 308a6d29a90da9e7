"""Market and event definitions of the simulator, and ``SimConfig`` loading from YAML or a dict.

Identifiers look like the venue's and are deterministic under the seed: token ids are 77-digit
decimal strings (uint256 ERC-1155 position ids), condition ids are ``0x`` + 64 hex (bytes32), both
derived from ``sha256(seed, slug)``; Gamma ids are small numeric strings in listing order. A
multi-outcome (neg-risk) event is one binary market per outcome, each with its own condition and
tokens, as on Polymarket (reference section 6.3).

Unknown keys and bad values are errors naming the key (``ConfigError``), never silently ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from pmbot.errors import ConfigError
from pmbot.sim.chain_ids import condition_id_for, token_id_for
from pmbot.sim.rewards import REWARD_KEYS, with_rewards

BUNDLED_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim.yaml")

# Ticks the venue uses (reference 1.11), including the 2026 World Cup ones.
VALID_TICKS = frozenset(Decimal(t) for t in ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"))
DEFAULT_END_DATE = "2026-12-31T00:00:00Z"


@dataclass(frozen=True)
class SimMarket:
    """One binary market (one condition). ``tick`` is the CURRENT tick inside ``Exchange.markets``
    (the engine replaces the record when the tick changes); ``fair_value`` is the initial latent
    fair value of YES. ``volatility`` is the per-step standard deviation of the fair-value walk."""

    condition_id: str
    question: str
    slug: str
    yes_token: str
    no_token: str
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)
    neg_risk: bool = False
    fee_rate: Decimal = Decimal(0)
    fee_exponent: int = 1  # fee = shares * fee_rate * (p * (1 - p)) ** fee_exponent (fd.e)
    gamma_fee_schedule: bool = True  # False: Gamma omits feeSchedule (the CLOB's fd still has it)
    event_slug: str | None = None
    outcome_label: str = ""
    end_date_iso: str = DEFAULT_END_DATE
    fair_value: Decimal = Decimal("0.5")
    active: bool = True
    closed: bool = False
    accepting_orders: bool = True
    gamma_id: str = ""
    volatility: Decimal = Decimal("0.002")
    half_spread_ticks: int = 2
    ladder_levels: int = 5
    base_tick: Decimal = Decimal("0.01")  # the tick outside the 0.04..0.96 band
    rewards_daily_rate: Decimal = Decimal(0)  # liquidity rewards (pmbot.sim.rewards): pool per day
    rewards_max_spread: Decimal = Decimal(0)  # ... band in cents from the adjusted mid
    rewards_min_size: Decimal = Decimal(0)  # ... shares
    volume: Decimal = Decimal(0)  # 24 h volume reported by Gamma

    @property
    def fee_rate_bps(self) -> int:
        return int(self.fee_rate * 10000)

    @property
    def tokens(self) -> tuple[str, str]:
        return (self.yes_token, self.no_token)


@dataclass(frozen=True)
class SimEvent:
    """A multi-outcome (neg-risk) event: ``condition_ids`` lists its outcome markets in order.
    ``dislocation_*`` drive how often and how far the outcomes' fair values drift off a sum of 1,
    which is what makes baskets (sum of YES asks < 1) appear now and then."""

    slug: str
    title: str
    neg_risk_augmented: bool
    condition_ids: tuple[str, ...]
    gamma_id: str = ""
    dislocation_prob: float = 0.01
    dislocation_max: Decimal = Decimal("0.08")


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    markets: tuple[SimMarket, ...] = ()
    events: tuple[SimEvent, ...] = ()
    initial_balance: Decimal = Decimal(10000)
    settle_mined_secs: float = 0.3
    settle_confirmed_secs: float = 1.0
    trade_fail_share: Decimal = Decimal(0)
    background: bool = True
    step_secs: float = 0.1
    heartbeat_timeout_secs: float = 10.0
    # background traders (per market, per step)
    maker_refresh_prob: float = 0.3
    taker_prob: float = 0.03
    jump_prob: float = 0.002
    jump_max: Decimal = Decimal("0.08")
    background_balance: Decimal = Decimal(1_000_000_000)
    # finished orders and final trades are forgotten this long after they finished (0 = never)
    retention_secs: float = 300.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def market_by_slug(self, slug: str) -> SimMarket:
        for m in self.markets:
            if m.slug == slug:
                return m
        raise KeyError(slug)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def make_binary_market(
    seed: int,
    slug: str,
    *,
    question: str = "",
    fair_value: Decimal = Decimal("0.5"),
    tick: Decimal = Decimal("0.01"),
    min_size: Decimal = Decimal(5),
    fee_rate: Decimal = Decimal(0),
    fee_exponent: int = 1,
    gamma_fee_schedule: bool = True,
    neg_risk: bool = False,
    event_slug: str | None = None,
    outcome_label: str = "",
    end_date_iso: str = DEFAULT_END_DATE,
    gamma_id: str = "",
    volatility: Decimal = Decimal("0.002"),
    half_spread_ticks: int = 2,
    ladder_levels: int = 5,
) -> SimMarket:
    """Build a market with deterministic ids (also used for benchmark markets added at runtime)."""
    return SimMarket(
        condition_id=condition_id_for(seed, slug),
        question=question or f"Will {slug.replace('-', ' ')} happen?",
        slug=slug,
        yes_token=token_id_for(seed, slug, "yes"),
        no_token=token_id_for(seed, slug, "no"),
        tick=tick,
        min_size=min_size,
        neg_risk=neg_risk,
        fee_rate=fee_rate,
        fee_exponent=fee_exponent,
        gamma_fee_schedule=gamma_fee_schedule,
        event_slug=event_slug,
        outcome_label=outcome_label,
        end_date_iso=end_date_iso,
        fair_value=fair_value,
        gamma_id=gamma_id,
        volatility=volatility,
        half_spread_ticks=half_spread_ticks,
        ladder_levels=ladder_levels,
        base_tick=tick,
    )


# --------------------------------------------------------------------------- loading

_TOP_KEYS = {f.name for f in fields(SimConfig)}  # every field is a YAML key
_MARKET_KEYS = {
    "slug",
    "question",
    "fair_value",
    "tick",
    "min_size",
    "fee_rate",
    "end_date_iso",
    "volatility",
    "half_spread_ticks",
    "ladder_levels",
    "active",
    "closed",
    "accepting_orders",
}
_EVENT_KEYS = {
    "slug",
    "title",
    "neg_risk_augmented",
    "fee_rate",
    "tick",
    "min_size",
    "end_date_iso",
    "volatility",
    "half_spread_ticks",
    "ladder_levels",
    "outcomes",
    "dislocation_prob",
    "dislocation_max",
}
_OUTCOME_KEYS = {"label", "fair_value", "slug", "question"}
_MARKET_KEYS |= REWARD_KEYS | {"fee_exponent", "gamma_fee_schedule"}
_EVENT_KEYS |= REWARD_KEYS | {"fee_exponent", "gamma_fee_schedule"}


def _decimal(key: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ConfigError(key, f"expected a number, got {value!r}")
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(key, f"expected a number, got {value!r}") from None


def _check_keys(where: str, raw: Mapping[str, Any], allowed: set[str]) -> None:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}" if where else str(key), "unknown key")


def _tick(key: str, value: Any) -> Decimal:
    tick = _decimal(key, value)
    if tick not in VALID_TICKS:
        raise ConfigError(key, f"tick {tick} is not one of the venue's ticks")
    return tick


def _fair(key: str, value: Any) -> Decimal:
    fv = _decimal(key, value)
    if not Decimal(0) < fv < Decimal(1):
        raise ConfigError(key, "fair_value must be strictly between 0 and 1")
    return fv


def _market_common(where: str, raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict:
    merged = {**defaults, **raw}
    return dict(
        tick=_tick(f"{where}.tick", merged.get("tick", "0.01")),
        min_size=_decimal(f"{where}.min_size", merged.get("min_size", 5)),
        fee_rate=_decimal(f"{where}.fee_rate", merged.get("fee_rate", 0)),
        fee_exponent=int(_decimal(f"{where}.fee_exponent", merged.get("fee_exponent", 1))),
        gamma_fee_schedule=bool(merged.get("gamma_fee_schedule", True)),
        end_date_iso=str(merged.get("end_date_iso", DEFAULT_END_DATE)),
        volatility=_decimal(f"{where}.volatility", merged.get("volatility", "0.002")),
        half_spread_ticks=int(merged.get("half_spread_ticks", 2)),
        ladder_levels=int(merged.get("ladder_levels", 5)),
    )


def load_sim_config(source: str | os.PathLike | Mapping[str, Any] | None = None) -> SimConfig:
    """Load a ``SimConfig`` from a YAML path, an already-parsed dict, or (None) the bundled
    ``pmbot/sim/sim.yaml``."""
    if source is None:
        source = BUNDLED_CONFIG
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    else:
        raw = dict(source)
    _check_keys("", raw, _TOP_KEYS)
    seed = int(raw.get("seed", 7))
    markets = [_load_market(seed, i, m) for i, m in enumerate(raw.get("markets") or [])]
    events: list[SimEvent] = []
    for j, e in enumerate(raw.get("events") or []):
        event, outcome_markets = _load_event(seed, j, e)
        events.append(event)
        markets.extend(outcome_markets)
    slugs = [m.slug for m in markets]
    dupes = {s for s in slugs if slugs.count(s) > 1}
    if dupes:
        raise ConfigError("markets", f"duplicate slugs: {sorted(dupes)}")
    markets = [replace(m, gamma_id=str(600001 + i)) for i, m in enumerate(markets)]
    return _check_config(_top_level(raw, seed, tuple(markets), tuple(events)))


def _load_market(seed: int, i: int, m: Mapping[str, Any]) -> SimMarket:
    where = f"markets[{i}]"
    _check_keys(where, m, _MARKET_KEYS)
    if "slug" not in m:
        raise ConfigError(f"{where}.slug", "missing")
    market = make_binary_market(
        seed,
        str(m["slug"]),
        question=str(m.get("question", "")),
        fair_value=_fair(f"{where}.fair_value", m.get("fair_value", "0.5")),
        **_market_common(where, m, {}),
    )
    return with_rewards(_with_flags(market, m), m, where)


def _load_event(seed: int, j: int, e: Mapping[str, Any]) -> tuple[SimEvent, list[SimMarket]]:
    """A multi-outcome event and its outcome markets (neg-risk binaries)."""
    where = f"events[{j}]"
    _check_keys(where, e, _EVENT_KEYS)
    if "slug" not in e:
        raise ConfigError(f"{where}.slug", "missing")
    outcomes = e.get("outcomes") or []
    if len(outcomes) < 2:
        raise ConfigError(f"{where}.outcomes", "an event needs at least 2 outcomes")
    event_slug = str(e["slug"])
    title = str(e.get("title", event_slug))
    common = _market_common(where, {k: v for k, v in e.items() if k in _MARKET_KEYS}, {})
    markets = []
    for k, o in enumerate(outcomes):
        owhere = f"{where}.outcomes[{k}]"
        _check_keys(owhere, o, _OUTCOME_KEYS)
        label = str(o.get("label", f"Outcome {k + 1}"))
        fair = o.get("fair_value", Decimal(1) / len(outcomes))
        market = make_binary_market(
            seed,
            str(o.get("slug") or f"{event_slug}-{slugify(label)}"),
            question=str(o.get("question") or f"{title}: {label}?"),
            fair_value=_fair(f"{owhere}.fair_value", fair),
            neg_risk=True,
            event_slug=event_slug,
            outcome_label=label,
            **common,
        )
        markets.append(with_rewards(market, e, where))
    event = SimEvent(
        slug=event_slug,
        title=title,
        neg_risk_augmented=bool(e.get("neg_risk_augmented", False)),
        condition_ids=tuple(m.condition_id for m in markets),
        gamma_id=str(90001 + j),
        dislocation_prob=float(e.get("dislocation_prob", 0.01)),
        dislocation_max=_decimal(f"{where}.dislocation_max", e.get("dislocation_max", "0.08")),
    )
    return event, markets


def _top_level(
    raw: Mapping[str, Any],
    seed: int,
    markets: tuple[SimMarket, ...],
    events: tuple[SimEvent, ...],
) -> SimConfig:
    return SimConfig(
        seed=seed,
        markets=markets,
        events=events,
        initial_balance=_decimal("initial_balance", raw.get("initial_balance", 10000)),
        settle_mined_secs=float(raw.get("settle_mined_secs", 0.3)),
        settle_confirmed_secs=float(raw.get("settle_confirmed_secs", 1.0)),
        trade_fail_share=_decimal("trade_fail_share", raw.get("trade_fail_share", 0)),
        background=bool(raw.get("background", True)),
        step_secs=float(raw.get("step_secs", 0.1)),
        heartbeat_timeout_secs=float(raw.get("heartbeat_timeout_secs", 10.0)),
        maker_refresh_prob=float(raw.get("maker_refresh_prob", 0.3)),
        taker_prob=float(raw.get("taker_prob", 0.03)),
        jump_prob=float(raw.get("jump_prob", 0.002)),
        jump_max=_decimal("jump_max", raw.get("jump_max", "0.08")),
        background_balance=_decimal(
            "background_balance", raw.get("background_balance", 1_000_000_000)
        ),
        retention_secs=float(raw.get("retention_secs", 300.0)),
        extra=dict(raw.get("extra") or {}),
    )


def _check_config(cfg: SimConfig) -> SimConfig:
    if not Decimal(0) <= cfg.trade_fail_share <= Decimal(1):
        raise ConfigError("trade_fail_share", "must be between 0 and 1")
    if cfg.step_secs <= 0:
        raise ConfigError("step_secs", "must be positive")
    if cfg.retention_secs < 0:
        raise ConfigError("retention_secs", "must be 0 (keep everything) or positive")
    return cfg


def _with_flags(market: SimMarket, raw: Mapping[str, Any]) -> SimMarket:
    return replace(
        market,
        active=bool(raw.get("active", True)),
        closed=bool(raw.get("closed", False)),
        accepting_orders=bool(raw.get("accepting_orders", True)),
    )
