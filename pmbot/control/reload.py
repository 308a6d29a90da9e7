"""Reload (``ctl reload`` and SIGHUP): re-read the config, validate it whole, diff it against the
running one and say exactly what would change, before anything is applied.

Runtime-changeable: the strategy and risk parameters, the arbitrage limits, the markets list (added
and removed markets) and the log level. Everything else (wallet, venue URLs, mode, state
directory, execution, feed, metrics, sim) is bound to connections, files and threads made at
start-up: a change there is refused by name and the whole reload is refused, so a file is applied
all or nothing. A file that does not load or validate changes nothing either, and the plan says why.

The diff compares the file with the config *as loaded at start-up* (before sim mode points the
venue URLs at the local exchange), with the same ``--mode`` override.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from pmbot.config import Config, MarketRef, load_config
from pmbot.errors import ConfigError

RUNTIME_PREFIXES = ("strategy.", "risk.", "arbitrage.", "log_level")
REFUSED_EXACT = frozenset({"arbitrage.events"})  # feeds and baskets are built once at start-up


@dataclass(frozen=True, slots=True)
class ParamChange:
    key: str  # dotted, e.g. strategy.edge_fraction
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    ok: bool
    error: str = ""  # why nothing is applied (bad file or refused keys)
    params: tuple[ParamChange, ...] = ()
    markets_added: tuple[MarketRef, ...] = ()
    markets_removed: tuple[MarketRef, ...] = ()
    refused: tuple[str, ...] = ()  # dotted keys that cannot change at runtime
    config: Config | None = None  # the new config, when ok

    @property
    def empty(self) -> bool:
        return self.ok and not (self.params or self.markets_added or self.markets_removed)

    def summary(self) -> str:
        if not self.ok:
            return self.error
        if self.empty:
            return "no change"
        parts = [f"{c.key} {c.old} -> {c.new}" for c in self.params]
        parts += [f"+market {_ref_name(r)}" for r in self.markets_added]
        parts += [f"-market {_ref_name(r)}" for r in self.markets_removed]
        return "; ".join(parts)

    def to_data(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "params": [{"key": c.key, "old": str(c.old), "new": str(c.new)} for c in self.params],
            "markets_added": [_ref_name(r) for r in self.markets_added],
            "markets_removed": [_ref_name(r) for r in self.markets_removed],
            "refused": list(self.refused),
        }


def _ref_name(ref: MarketRef) -> str:
    return ref.slug or f"{ref.yes_token[:10]}/{ref.no_token[:10]}"


def _leaves(value: Any, prefix: str) -> dict[str, Any]:
    """Dotted key -> value for every scalar (lists compared whole) below a config dataclass."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            key = f"{prefix}.{f.name}" if prefix else f.name
            out.update(_leaves(getattr(value, f.name), key))
        return out
    return {prefix: value}


def _is_runtime(key: str) -> bool:
    return key not in REFUSED_EXACT and key.startswith(RUNTIME_PREFIXES)


def diff_configs(running: Config, new: Config) -> ReloadPlan:
    old_leaves = _leaves(running.replace(markets=()), "")
    new_leaves = _leaves(new.replace(markets=()), "")
    params: list[ParamChange] = []
    refused: list[str] = []
    for key, old in old_leaves.items():
        if new_leaves[key] == old:
            continue
        if _is_runtime(key):
            params.append(ParamChange(key, old, new_leaves[key]))
        else:
            refused.append(key)
    added = tuple(r for r in new.markets if r not in running.markets)
    removed = tuple(r for r in running.markets if r not in new.markets)
    if refused:
        why = (
            f"refused, nothing changed: {', '.join(refused)} cannot change at runtime "
            "(restart the bot to apply)"
        )
        return ReloadPlan(ok=False, error=why, refused=tuple(refused))
    return ReloadPlan(True, "", tuple(params), added, removed, (), new)


def plan_reload(path: str, running: Config, *, mode_override: str | None = None) -> ReloadPlan:
    """Load ``path`` (same mode override as at start-up) and diff it; never raises on a bad file."""
    try:
        new = load_config(path, mode_override=mode_override)
    except ConfigError as exc:
        return ReloadPlan(ok=False, error=f"invalid config, nothing changed: {exc}")
    except OSError as exc:
        return ReloadPlan(ok=False, error=f"cannot read {path}, nothing changed: {exc}")
    return diff_configs(running, new)
