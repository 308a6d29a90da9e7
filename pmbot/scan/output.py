"""Render a ranking: a table for the screen, JSON for programs, and a ``markets:`` config block
(each entry with a comment of its figures) that ``python bot.py --check-config`` accepts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pmbot.scan.estimate import ScanRow

COLUMNS = (
    ("#", 3),
    ("$/day/100", 10),
    ("$/day", 8),
    ("pool/day", 9),
    ("share", 6),
    ("v c", 4),
    ("min", 5),
    ("mid", 6),
    ("spr c", 6),
    ("depth", 8),
    ("comp Q", 9),
    ("vol c", 6),
    ("volume", 9),
    ("days", 6),
    ("nr", 3),
)


def _f(value: Decimal | None, places: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def _cells(i: int, r: ScanRow) -> list[str]:
    m = r.market
    return [
        str(i),
        _f(r.reward_per_100),
        _f(r.reward_per_day),
        _f(m.daily_rate, 0),
        f"{r.share:.0%}",
        _f(m.max_spread_cents, 1),
        _f(m.min_size, 0),
        _f(r.mid, 3),
        _f(r.spread_cents, 1),
        _f(r.depth_in_band, 0),
        _f(r.competition_q, 0),
        _f(r.volatility_cents, 2),
        _f(r.volume, 0),
        _f(r.days_to_end, 1),
        "yes" if r.neg_risk else "no",
    ]


def table(rows: list[ScanRow], limit: int) -> str:
    head = " ".join(name.rjust(w) for name, w in COLUMNS) + "  market"
    lines = [head]
    for i, r in enumerate(rows[:limit], 1):
        cells = " ".join(c.rjust(w) for c, (_, w) in zip(_cells(i, r), COLUMNS, strict=True))
        lines.append(f"{cells}  {(r.market.slug or r.market.question)[:60]}")
    return "\n".join(lines)


def _num(value: Decimal | None) -> Any:
    """Exact decimal as a plain string (never exponent notation: 1000, not 1E+3)."""
    return None if value is None else format(value.normalize(), "f")


def as_dict(rank: int, r: ScanRow) -> dict:
    m = r.market
    return {
        "rank": rank,
        "condition_id": m.condition_id,
        "slug": m.slug,
        "question": m.question,
        "yes_token": m.yes_token,
        "no_token": m.no_token,
        "reward_per_100_per_day": _num(r.reward_per_100),
        "reward_per_day": _num(r.reward_per_day),
        "pool_per_day": _num(m.daily_rate),
        "share": _num(r.share),
        "max_spread_cents": _num(m.max_spread_cents),
        "min_size": _num(m.min_size),
        "quote": {"bid": _num(r.bid), "ask": _num(r.ask), "size": _num(r.size)},
        "capital": _num(r.capital),
        "mid": _num(r.mid),
        "my_q": _num(r.my_q),
        "competition_q": _num(r.competition_q),
        "spread_cents": _num(r.spread_cents),
        "depth_in_band": _num(r.depth_in_band),
        "volatility_cents": _num(r.volatility_cents),
        "volume": _num(r.volume),
        "days_to_end": _num(r.days_to_end),
        "neg_risk": r.neg_risk,
        "score": _num(r.score),
    }


def as_json(rows: list[ScanRow], summary: dict) -> str:
    body = {"summary": summary, "ranking": [as_dict(i, r) for i, r in enumerate(rows, 1)]}
    return json.dumps(body, indent=2)


def config_block(rows: list[ScanRow], n: int) -> str:
    lines = ["markets:"]
    for i, r in enumerate(rows[:n], 1):
        m = r.market
        lines.append(
            f"  # {i}. {(m.slug or m.question)[:70]}: ${_f(r.reward_per_100)}/day per $100"
            f" (${_f(r.reward_per_day)}/day of a ${_f(m.daily_rate, 0)} pool,"
            f" {_f(r.size, 0)} sh at {_f(r.bid, 3)}/{_f(r.ask, 3)})"
        )
        lines.append(
            f"  #    band {_f(m.max_spread_cents, 1)}c min {_f(m.min_size, 0)} | mid"
            f" {_f(r.mid, 3)} spread {_f(r.spread_cents, 1)}c vol {_f(r.volatility_cents)}"
            f" | comp Q {_f(r.competition_q, 0)} depth {_f(r.depth_in_band, 0)}"
            f" | volume {_f(r.volume, 0)} days {_f(r.days_to_end, 1)}"
            f" neg-risk {'yes' if r.neg_risk else 'no'}"
        )
        lines.append(f'  - yes_token: "{m.yes_token}"')
        lines.append(f'    no_token: "{m.no_token}"')
    if len(lines) == 1:
        lines[0] = "markets: []  # no market passed the filters"
    return "\n".join(lines) + "\n"
