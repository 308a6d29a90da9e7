"""The ``status`` answer: typed on the bot's side, plain JSON on the wire, a table for humans.

The strategy thread fills a ``BotStatus`` (it owns every number in it); ``ctl status`` prints it
with ``render_status`` or, with ``--json``, as it came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from pmbot.control.protocol import ProtocolError


@dataclass(frozen=True, slots=True)
class MarketStatus:
    condition_id: str
    slug: str
    verdict: str  # quoting | paused | halted | ...
    reason: str
    paused_by: str  # "" unless an operator paused it (who, e.g. "uid 1000 (pid 42)")
    quotes: int  # our orders resting on this market
    yes_shares: Decimal
    no_shares: Decimal
    exposure_usd: Decimal | None  # None until the market has a mid to mark at
    pnl_usd: Decimal
    feed_age_secs: float | None  # since the last book event; None = no book yet


@dataclass(frozen=True, slots=True)
class BotStatus:
    mode: str
    wallet: str  # the funder address only, never anything secret
    uptime_secs: float
    verdict: str
    reason: str
    paused_by: str
    markets: tuple[MarketStatus, ...]

    def to_data(self) -> dict[str, Any]:
        out = asdict(self)
        out["markets"] = [
            {k: (str(v) if isinstance(v, Decimal) else v) for k, v in m.items()}
            for m in out["markets"]
        ]
        return out


_MONEY = ("yes_shares", "no_shares", "exposure_usd", "pnl_usd")


def _market_from_data(d: Mapping[str, Any]) -> MarketStatus:
    values = dict(d)
    for k in _MONEY:
        values[k] = None if values.get(k) is None else Decimal(str(values[k]))
    return MarketStatus(**values)


def status_from_data(data: Mapping[str, Any]) -> BotStatus:
    try:
        values = dict(data)
        values["markets"] = tuple(_market_from_data(m) for m in data.get("markets", ()))
        return BotStatus(**values)
    except (TypeError, ArithmeticError, ValueError) as exc:
        raise ProtocolError(f"status answer has an unexpected shape: {exc}") from None


def _age(secs: float) -> str:
    secs = int(secs)
    if secs < 120:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    return f"{secs // 3600}h{(secs % 3600) // 60:02d}m"


def _money(v: Decimal | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _verdict(verdict: str, reason: str, paused_by: str) -> str:
    text = verdict + (f" ({reason})" if reason else "")
    return text + (f" by {paused_by}" if paused_by else "")


_HEAD = ("MARKET", "VERDICT", "QUOTES", "YES", "NO", "EXPOSURE$", "P&L$", "FEED AGE")


def render_status(s: BotStatus) -> str:
    lines = [
        f"mode {s.mode}  wallet {s.wallet}  up {_age(s.uptime_secs)}",
        f"bot: {_verdict(s.verdict, s.reason, s.paused_by)}",
    ]
    rows = [_HEAD] + [
        (
            m.slug or m.condition_id[:12],
            _verdict(m.verdict, m.reason, m.paused_by),
            str(m.quotes),
            _money(m.yes_shares),
            _money(m.no_shares),
            _money(m.exposure_usd),
            _money(m.pnl_usd),
            "-" if m.feed_age_secs is None else _age(m.feed_age_secs),
        )
        for m in s.markets
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
    if not s.markets:
        lines.append("(no markets)")
    return "\n".join(lines)
