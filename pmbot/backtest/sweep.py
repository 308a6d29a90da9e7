"""``--sweep``: a grid over the avellaneda parameters, chosen on the first part of the data and
reported on the held-out rest, next to ``edge`` (the seed's rule, as configured) and a
join-the-touch baseline (``edge`` with ``edge_fraction: 0``: bid at the best bid, ask at the best
ask). The score is P&L at settlement when every market in the part is settled, else marked P&L.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from decimal import Decimal
from typing import Any

from pmbot.strategy.params import QuotingParams, StrategyParams

from .records import MarketMeta
from .run import RecordSource, run_backtest, time_window
from .simulation import SimSettings

GRID: dict[str, tuple[Any, ...]] = {
    "risk_aversion": (Decimal("0.05"), Decimal("0.1"), Decimal("0.5")),
    "min_half_spread_ticks": (1, 2, 3),
    "vol_spread_mult": (Decimal("0.25"), Decimal("1")),
}


def _candidates(base: StrategyParams) -> list[tuple[str, StrategyParams]]:
    out = [
        ("edge (config)", _with(base, name="edge")),
        ("join-the-touch", _with(base, name="edge", edge_fraction=Decimal(0))),
        ("avellaneda (defaults)", _with(base, **_avellaneda_defaults())),
    ]
    keys = sorted(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        combo = dict(zip(keys, values, strict=True))
        label = "avellaneda " + " ".join(f"{_short(k)}={v}" for k, v in combo.items())
        out.append((label, _with(base, name="avellaneda", **combo)))
    return out


def _short(key: str) -> str:
    return {
        "risk_aversion": "gamma",
        "min_half_spread_ticks": "min_half",
        "vol_spread_mult": "vol_mult",
    }[key]


def _avellaneda_defaults() -> dict[str, Any]:
    d = QuotingParams()
    return {"name": "avellaneda", **{k: getattr(d, k) for k in GRID}}


def _with(base: StrategyParams, **quoting: Any) -> StrategyParams:
    return dataclasses.replace(base, quoting=dataclasses.replace(base.quoting, **quoting))


def _score(report: dict) -> Decimal:
    pnl = report["total"]["pnl"]
    return Decimal(pnl["at_settlement"] or pnl["total_marked"])


def _split(source: RecordSource, fraction: float) -> int:
    first = last = None
    for rec in source():
        first = rec.t_ms if first is None else first
        last = rec.t_ms
    if first is None or last is None:
        raise ValueError("no records to sweep over")
    return first + int((last - first) * fraction)


def run_sweep(
    metas: list[MarketMeta],
    source: RecordSource,
    base: StrategyParams,
    settings: SimSettings,
    train_fraction: float,
    inferred: bool,
    out_dir: str,
) -> str:
    cut = _split(source, train_fraction)
    parts = {"train": time_window(source, None, cut), "held_out": time_window(source, cut, None)}
    rows = []
    for label, params in _candidates(base):
        row: dict[str, Any] = {"label": label}
        for part, src in parts.items():
            _bt, rep = run_backtest(
                metas, src(), params, settings, inputs={}, trades_inferred=inferred
            )
            row[part] = {
                "score": str(_score(rep)),
                "fills": rep["total"]["fills"],
                "markout_10s": rep["total"]["markouts"]["10s"]["per_share"],
            }
        rows.append(row)
    best = max(rows[3:], key=lambda r: Decimal(r["train"]["score"]))
    result = {
        "split_ms": cut,
        "train_fraction": train_fraction,
        "chosen": best["label"],
        "rows": rows,
    }
    with open(os.path.join(out_dir, "sweep.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(result, sort_keys=True, indent=1) + "\n")
    return _table(rows, best["label"])


def _table(rows: list[dict], chosen: str) -> str:
    lines = [f"{'candidate':<78}{'train':>12}{'held-out':>12}{'fills(h)':>9}{'mk10s(h)':>11}"]
    picked = [r for r in rows if r["label"] == chosen]
    for r in rows[:3] + picked:
        mark = " <= chosen on train" if r["label"] == chosen else ""
        h = r["held_out"]
        lines.append(
            f"{r['label'][:77]:<78}{r['train']['score']:>12}{h['score']:>12}{h['fills']:>9}"
            f"{h['markout_10s']!s:>11}{mark}"
        )
    return "\n".join(lines) + "\n"
