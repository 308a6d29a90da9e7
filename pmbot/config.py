"""One typed config, validated once at start-up.

Every YAML section maps to a frozen dataclass. Unknown keys, wrong types, out-of-range values and
missing required keys raise ``ConfigError`` naming the dotted key (``strategy.edge_fraction``); the
entry point turns that into one line on stderr and exit code 2. Money values become ``Decimal``.

Secrets never live in the file: the private key comes from the environment variable named by
``wallet.private_key_env`` or from ``wallet.private_key_file`` (which must be mode 0600).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from pmbot.errors import ConfigError

# The repository's config.yaml: the default ``--config`` of bot.py and its subcommands.
DEFAULT_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "config.yaml"
)

MODES = ("sim", "paper", "live")


def _rng(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple[object, ...] | None = None,
) -> dict[str, Any]:
    """Field metadata: numeric bounds or allowed values."""
    return {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices}


def _f(default: Any, **meta: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class MarketRef:
    """A market by its YES/NO token ids, or by slug (resolved through Gamma at start-up)."""

    yes_token: str = ""
    no_token: str = ""
    slug: str = ""


@dataclass(frozen=True, slots=True)
class EventRef:
    slug: str = ""


@dataclass(frozen=True, slots=True)
class VenueConfig:
    clob_url: str = "https://clob.polymarket.com"
    market_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    user_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/user"
    data_api_url: str = "https://data-api.polymarket.com"
    gamma_url: str = "https://gamma-api.polymarket.com"
    chain_id: int = _f(137, **_rng(1))

    def at_local(self, urls: Mapping[str, str]) -> VenueConfig:
        """The same venue served by the bundled exchange at ``urls`` (``SimServer.urls``)."""
        return dataclasses.replace(
            self,
            clob_url=urls["clob_url"],
            market_ws_url=urls["market_ws_url"],
            user_ws_url=urls["user_ws_url"],
            data_api_url=urls["data_api_url"],
            gamma_url=urls["gamma_url"],
        )


@dataclass(frozen=True, slots=True)
class WalletConfig:
    signature_type: int = _f(0, **_rng(choices=(0, 1, 2, 3)))
    funder: str = ""
    private_key_env: str = "POLYMARKET_PRIVATE_KEY"
    private_key_file: str = ""
    api_key_nonce: int = _f(0, **_rng(0))
    # type 3: the signature the deposit wallet accepts (README "Deposit wallets")
    deposit_signature: str = _f("plain", **_rng(choices=("plain", "erc7739")))
    keystore_file: str = ""  # Ethereum keystore JSON (encrypted key), used when set
    keystore_passphrase_env: str = "POLYMARKET_KEYSTORE_PASSPHRASE"


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    name: str = _f("edge", **_rng(choices=("edge", "avellaneda")))
    edge_fraction: Decimal = _f(Decimal("0.10"), **_rng(0, 1, hi_open=True))
    order_size: Decimal = _f(Decimal(10), **_rng(0, lo_open=True))
    skew_ticks: int = _f(2, **_rng(0))
    # avellaneda
    risk_aversion: Decimal = _f(Decimal("0.1"), **_rng(0))
    horizon_secs: Decimal = _f(Decimal(3600), **_rng(0, lo_open=True))
    vol_halflife_secs: Decimal = _f(Decimal(60), **_rng(0, lo_open=True))
    min_half_spread_ticks: int = _f(1, **_rng(1))
    ladder_levels: int = _f(1, **_rng(1, 10))
    ladder_step_ticks: int = _f(1, **_rng(1))
    # liquidity rewards (pmbot.strategy.rewards_band): band and size come from each market's venue
    # info; these two narrow the band (cents, the venue's unit) / raise the size; 0 = the venue's
    rewards: str = _f("off", **_rng(choices=("off", "stay_in_band")))
    rewards_max_spread_cents: Decimal = _f(Decimal(0), **_rng(0, 100))
    rewards_min_size: Decimal = _f(Decimal(0), **_rng(0))


@dataclass(frozen=True, slots=True)
class RiskConfig:
    max_inventory_imbalance_usd: Decimal = _f(Decimal(50), **_rng(0))
    max_position_size_usd: Decimal = _f(Decimal(500), **_rng(0, lo_open=True))
    min_bid: Decimal = _f(Decimal("0.02"), **_rng(0, 1))
    max_ask: Decimal = _f(Decimal("0.98"), **_rng(0, 1))
    resume_fraction: Decimal = _f(Decimal("0.9"), **_rng(0, 1, lo_open=True))
    daily_loss_limit_usd: Decimal = _f(Decimal(100), **_rng(0, lo_open=True))
    reject_breaker_count: int = _f(10, **_rng(1))
    reject_breaker_window_secs: Decimal = _f(Decimal(60), **_rng(0, lo_open=True))
    reject_cooloff_secs: Decimal = _f(Decimal(30), **_rng(0))
    jump_threshold: Decimal = _f(Decimal("0.05"), **_rng(0, lo_open=True))
    jump_cooloff_secs: Decimal = _f(Decimal(10), **_rng(0))
    reduce_only_before_end_secs: Decimal = _f(Decimal(3600), **_rng(0))
    stale_book_secs: Decimal = _f(Decimal(60), **_rng(0, lo_open=True))


@dataclass(frozen=True, slots=True)
class ArbitrageConfig:
    enabled: bool = True
    events: tuple[EventRef, ...] = ()
    binary_markets: bool = True
    min_edge_usd: Decimal = _f(Decimal("0.01"), **_rng(0))
    max_basket_usd: Decimal = _f(Decimal(100), **_rng(0, lo_open=True))
    max_total_usd: Decimal = _f(Decimal(1000), **_rng(0, lo_open=True))
    leg_order_type: str = _f("FAK", **_rng(choices=("FOK", "FAK")))
    max_leg_loss_usd: Decimal = _f(Decimal(5), **_rng(0))


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    heartbeat: bool | None = None  # None: on in live and sim, off in paper
    heartbeat_secs: Decimal = _f(Decimal(5), **_rng(0, 9, lo_open=True))
    connect_timeout_secs: Decimal = _f(Decimal("3.05"), **_rng(0, lo_open=True))
    read_timeout_secs: Decimal = _f(Decimal(5), **_rng(0, lo_open=True))
    max_retries: int = _f(4, **_rng(0, 20))
    rate_budget_fraction: Decimal = _f(Decimal("0.5"), **_rng(0, 1, lo_open=True))
    reconcile_secs: Decimal = _f(Decimal(10), **_rng(0, lo_open=True))
    orphan_policy: str = _f("cancel", **_rng(choices=("cancel", "adopt")))
    cancel_deadline_secs: Decimal = _f(Decimal(10), **_rng(0, lo_open=True))
    pull_stale_quotes: bool = True  # the market-feed thread cancels quotes a book move made stale
    presign_ticks: int = _f(2, **_rng(0, 5))  # quotes signed ahead within this many ticks (0: off)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    shard_size: int = _f(200, **_rng(1, 500))
    ping_interval_secs: Decimal = _f(Decimal(10), **_rng(0, lo_open=True))
    spot_check_secs: Decimal = _f(Decimal(15), **_rng(0, lo_open=True))
    spot_check_tokens: int = _f(3, **_rng(0))
    positions_reconcile_secs: Decimal = _f(Decimal(30), **_rng(0, lo_open=True))
    settlement_lag_secs: Decimal = _f(Decimal(60), **_rng(0))
    record_dir: str = ""  # "" = off; else the market channel is recorded there (venue/recorder.py)


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = _f(9108, **_rng(0, 65535))
    summary_secs: Decimal = _f(Decimal(30), **_rng(0, lo_open=True))


@dataclass(frozen=True, slots=True)
class SimConfigRef:
    """How sim mode starts the bundled exchange."""

    config: str = ""  # path to a sim YAML; empty = the bundled pmbot/sim/sim.yaml
    seed: int = _f(7, **_rng(0))
    host: str = "127.0.0.1"
    port: int = _f(0, **_rng(0, 65535))


@dataclass(frozen=True, slots=True)
class OnchainConfig:
    """Merge complete sets, redeem resolved positions on chain (pmbot/onchain). Off by default."""

    enabled: bool = False
    rpc_url: str = ""  # Polygon JSON-RPC (EOA wallets); may hold a provider key, never logged
    relayer_url: str = ""  # Polymarket relayer (proxy, Safe and deposit wallets)
    builder_creds_env: str = "POLY_BUILDER"  # env <prefix>_API_KEY, _SECRET, _PASSPHRASE
    merge_min_usd: Decimal = _f(Decimal(20), **_rng(0))
    max_fee_gwei: Decimal = _f(Decimal(1000), **_rng(0, lo_open=True))
    receipt_timeout_secs: Decimal = _f(Decimal(120), **_rng(0, lo_open=True))
    max_replacements: int = _f(5, **_rng(0, 20))
    collateral: str = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"  # pUSD
    ctf_address: str = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"  # ConditionalTokens
    ctf_target: str = "0xAdA100Db00Ca00073811820692005400218FcE1f"  # CtfCollateralAdapter
    neg_risk_target: str = "0xadA2005600Dec949baf300f4C6120000bDB6eAab"  # NegRisk...Adapter


@dataclass(frozen=True, slots=True)
class Config:
    mode: str = _f("sim", **_rng(choices=MODES))
    markets: tuple[MarketRef, ...] = ()
    venue: VenueConfig = field(default_factory=VenueConfig)
    wallet: WalletConfig = field(default_factory=WalletConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    arbitrage: ArbitrageConfig = field(default_factory=ArbitrageConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    sim: SimConfigRef = field(default_factory=SimConfigRef)
    onchain: OnchainConfig = field(default_factory=OnchainConfig)
    state_dir: str = ""
    log_level: str = _f("INFO", **_rng(choices=("DEBUG", "INFO", "WARNING", "ERROR")))

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    @property
    def resolved_state_dir(self) -> str:
        return self.state_dir or os.environ.get("STATE_DIRECTORY", "").split(":")[0] or "./state"

    @property
    def heartbeat_enabled(self) -> bool:
        if self.execution.heartbeat is not None:
            return self.execution.heartbeat
        return self.mode in ("live", "sim")


# --------------------------------------------------------------------------- parsing


def _convert(key: str, value: Any, typ: Any, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):  # X | None
        if value is None:
            return None
        inner = [a for a in args if a is not type(None)][0]
        return _convert(key, value, inner, meta)
    if origin is tuple:
        if value is None:
            value = []
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {type(value).__name__}")
        return tuple(_convert(f"{key}[{i}]", item, args[0], {}) for i, item in enumerate(value))
    if isinstance(typ, type) and dataclasses.is_dataclass(typ):
        return _build(key, value, typ)
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        result: Any = value
    elif typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        result = value
    elif typ is Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(key, f"expected a number, got {value!r}")
        try:
            result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        except InvalidOperation:
            raise ConfigError(key, f"expected a number, got {value!r}") from None
        if not result.is_finite():
            raise ConfigError(key, f"expected a finite number, got {value!r}")
    elif typ is str:
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and key.endswith(("_token", "token"))
        ):
            raise ConfigError(
                key, "token ids must be quoted strings (YAML would round a bare number)"
            )
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        result = value
    else:  # pragma: no cover - schema error, not user error
        raise TypeError(f"unsupported config type {typ} for {key}")
    _check_range(key, result, meta)
    return result


def _check_range(key: str, value: Any, meta: Mapping[str, Any]) -> None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        raise ConfigError(key, f"must be {'>' if meta.get('lo_open') else '>='} {lo}; got {value}")
    if hi is not None and (value > hi or (meta.get("hi_open") and value == hi)):
        raise ConfigError(key, f"must be {'<' if meta.get('hi_open') else '<='} {hi}; got {value}")


def _build(prefix: str, raw: Any, cls: type) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(prefix or "<top>", f"expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in raw:
        if k not in fields:
            raise ConfigError(f"{prefix}.{k}" if prefix else str(k), "unknown key")
    kwargs = {}
    for name, f in fields.items():
        if name in raw:
            key = f"{prefix}.{name}" if prefix else name
            kwargs[name] = _convert(key, raw[name], hints[name], f.metadata)
    return cls(**kwargs)


def _validate(cfg: Config) -> None:
    for i, m in enumerate(cfg.markets):
        key = f"markets[{i}]"
        if m.slug and (m.yes_token or m.no_token):
            raise ConfigError(key, "give either slug or yes_token/no_token, not both")
        if not m.slug and not (m.yes_token and m.no_token):
            raise ConfigError(key, "needs both yes_token and no_token (or a slug)")
        if m.yes_token and m.yes_token == m.no_token:
            raise ConfigError(f"{key}.no_token", "must differ from yes_token")
    for i, e in enumerate(cfg.arbitrage.events):
        if not e.slug:
            raise ConfigError(f"arbitrage.events[{i}].slug", "missing")
    if cfg.risk.min_bid >= cfg.risk.max_ask:
        raise ConfigError("risk.min_bid", "must be below risk.max_ask")
    for name in ("clob_url", "data_api_url", "gamma_url"):
        url = getattr(cfg.venue, name)
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"venue.{name}", f"must be an http(s) URL; got {url!r}")
    for name in ("market_ws_url", "user_ws_url"):
        url = getattr(cfg.venue, name)
        if not url.startswith(("ws://", "wss://")):
            raise ConfigError(f"venue.{name}", f"must be a ws(s) URL; got {url!r}")
    rec = cfg.feed.record_dir
    if rec and os.path.exists(rec) and not os.path.isdir(rec):
        raise ConfigError("feed.record_dir", f"is not a directory: {cfg.feed.record_dir!r}")
    if not cfg.wallet.private_key_env and not cfg.wallet.private_key_file:
        raise ConfigError(
            "wallet.private_key_env", "give an environment variable name or wallet.private_key_file"
        )


def parse_config(raw: Any, *, mode_override: str | None = None) -> Config:
    cfg = _build("", raw, Config)
    if mode_override is not None:
        _check_range("mode", mode_override, _rng(choices=MODES))
        cfg = cfg.replace(mode=mode_override)
    _validate(cfg)
    return cfg


def load_config(path: str, *, mode_override: str | None = None) -> Config:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError("--config", f"file not found: {path}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            "--config", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None
    return parse_config(raw, mode_override=mode_override)


def effective_config_dict(cfg: Config) -> dict:
    """The effective config as plain data for ``--check-config`` (no secrets live in Config)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        if isinstance(v, Decimal):
            return float(v) if v != v.to_integral_value() else int(v)
        return v

    out = plain(cfg)
    if cfg.onchain.rpc_url:  # a provider key may sit in the path or query: show the host only
        out["onchain"]["rpc_url"] = "/".join(cfg.onchain.rpc_url.split("/")[:3]) + "/***"
    env = cfg.wallet.private_key_env
    out["wallet"]["private_key"] = (
        "***set***" if (env and os.environ.get(env)) or cfg.wallet.private_key_file else "(not set)"
    )
    return out
