"""The backtest report: one JSON document (byte-identical for the same data and config) and a
one-screen text summary. Money is rounded to 6 decimals and written as strings."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pmbot.model import ONE, ZERO
from pmbot.trading.inventory import Inventory

from .records import MarketMeta
from .simulation import Backtest
from .stats import HORIZONS_MS, MarketStats

Q = Decimal("0.000001")
INVENTORY_POINTS = 500  # the path is thinned to at most this many points in the report


def money(x: Decimal | None) -> str | None:
    return None if x is None else str(x.quantize(Q))


def _settlement(inv: Inventory, meta: MarketMeta) -> Decimal | None:
    """Realized - fees + every held share paid out at the settlement price."""
    if meta.payout_yes is None:
        return None
    m = meta.info
    pnl = inv.pnl({m.yes_token: meta.payout_yes, m.no_token: ONE - meta.payout_yes})
    return pnl.total


def _thin(path: list[tuple[int, Decimal]]) -> list[list[Any]]:
    step = max(1, len(path) // INVENTORY_POINTS)
    pts = path[::step]
    if path and pts[-1] != path[-1]:
        pts.append(path[-1])
    return [[t, str(v)] for t, v in pts]


def _market(bt: Backtest, cid: str) -> dict[str, Any]:
    meta, st = bt.metas[cid], bt.stats[cid]
    inv = bt.market_inv[cid]
    pnl = inv.pnl(bt.marks)
    minutes = Decimal(max(1, (st.last_ms or 0) - (st.first_ms or 0))) / 60_000
    fm = bt.models[cid]
    return {
        "slug": meta.info.slug,
        "pnl": _pnl(pnl.realized, pnl.unrealized, pnl.fees, _settlement(inv, meta)),
        "fills": st.fills,
        "maker_fills": st.maker_fills,
        "taker_fills": st.taker_fills,
        "filled_size": str(st.filled_size),
        "orders_placed": fm.placed,
        "orders_rejected_post_only": fm.rejected,
        "fill_rate": money(Decimal(len(st.filled_orders)) / fm.placed) if fm.placed else None,
        "markouts": _markouts(st),
        "inventory_peak_abs_yes": str(st.peak_abs_inventory),
        "inventory_path": _thin(st.inventory_path),
        "time_by_verdict_secs": {k: v / 1000 for k, v in sorted(st.verdict_ms.items()) if k},
        "quote_updates_per_min": money(Decimal(st.quote_orders) / minutes),
        "rewards_band_secs": st.rewards_band_ms / 1000 if bt.rewards_on else None,
    }


def _pnl(realized, unrealized, fees, settlement) -> dict[str, Any]:
    return {
        "realized": money(realized),
        "unrealized": money(unrealized),
        "fees": money(fees),
        "total_marked": money(realized + unrealized - fees),
        "at_settlement": money(settlement),
    }


def _markouts(st: MarketStats) -> dict[str, Any]:
    out = {}
    for i, h in enumerate(HORIZONS_MS):
        size = st.markout_size[i]
        out[f"{h // 1000}s"] = {
            "usd": money(st.markout_sum[i]),
            "per_share": money(st.markout_sum[i] / size) if size else None,
            "size": str(size),
        }
    return out


def build_report(bt: Backtest, *, inputs: dict[str, Any], trades_inferred: bool) -> dict:
    markets = {cid: _market(bt, cid) for cid in sorted(bt.metas)}
    pnl = bt.inventory.pnl(bt.marks)
    settled = [_settlement(bt.market_inv[c], bt.metas[c]) for c in sorted(bt.metas)]
    known = [s for s in settled if s is not None]
    total_markouts = MarketStats()
    for st in bt.stats.values():
        for i in range(len(HORIZONS_MS)):
            total_markouts.markout_sum[i] += st.markout_sum[i]
            total_markouts.markout_size[i] += st.markout_size[i]
    placed = sum(fm.placed for fm in bt.models.values())
    filled = sum(len(st.filled_orders) for st in bt.stats.values())
    return {
        "inputs": inputs,
        "notes": (
            ["trades are INFERRED from depth removed at or through the touch (no trade data)"]
            if trades_inferred
            else []
        ),
        "replay": {
            "records": bt.records,
            "book_events": bt.feed.events_applied,
            "decisions": bt.decisions,
        },
        "total": {
            "pnl": _pnl(
                pnl.realized,
                pnl.unrealized,
                pnl.fees,
                sum(known, ZERO) if len(known) == len(settled) and known else None,
            ),
            "fills": sum(st.fills for st in bt.stats.values()),
            "orders_placed": placed,
            "fill_rate": money(Decimal(filled) / placed) if placed else None,
            "markouts": _markouts(total_markouts),
        },
        "markets": markets,
        "equity_curve": [[t, money(v)] for t, v in bt.equity],
    }


def dumps(report: dict) -> str:
    return json.dumps(report, sort_keys=True, indent=1) + "\n"


def summary(report: dict) -> str:
    tot = report["total"]
    lines = [
        f"records {report['replay']['records']}  book events {report['replay']['book_events']}"
        f"  decisions {report['replay']['decisions']}",
        f"TOTAL pnl marked {tot['pnl']['total_marked']}  realized {tot['pnl']['realized']}"
        f"  unrealized {tot['pnl']['unrealized']}  fees {tot['pnl']['fees']}"
        f"  at settlement {tot['pnl']['at_settlement']}",
        f"      fills {tot['fills']}  orders {tot['orders_placed']}  fill rate {tot['fill_rate']}"
        "  markout/share " + " ".join(f"{h}:{v['per_share']}" for h, v in tot["markouts"].items()),
        f"{'market':<24}{'pnl':>12}{'settle':>12}{'fills':>7}{'mk10s':>11}{'peak':>9}  time",
    ]
    for cid, m in report["markets"].items():
        name = (m["slug"] or cid)[:23]
        times = ", ".join(f"{k} {v:.0f}s" for k, v in m["time_by_verdict_secs"].items())
        lines.append(
            f"{name:<24}{m['pnl']['total_marked']:>12}{str(m['pnl']['at_settlement']):>12}"
            f"{m['fills']:>7}{str(m['markouts']['10s']['per_share']):>11}"
            f"{m['inventory_peak_abs_yes']:>9}  {times[:60]}"
        )
    lines.extend(f"note: {n}" for n in report["notes"])
    return "\n".join(lines[:40]) + "\n"
