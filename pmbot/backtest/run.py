"""One backtest run: records + markets + params -> report (shared by the CLI and the sweep)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pmbot.strategy.params import StrategyParams

from .records import MarketMeta, ReadStats, Record, infer_markets, load_markets, read_recording
from .report import build_report
from .simulation import Backtest, SimSettings

RecordSource = Callable[[], Iterator[Record]]


def recording_source(paths: list[str]) -> tuple[list[MarketMeta], RecordSource, ReadStats]:
    """Markets (markets.json, else inferred in one extra pass) and a re-openable record stream."""
    stats = ReadStats()
    metas = load_markets(paths)
    if metas is None:
        metas = infer_markets(read_recording(paths))
    return metas, (lambda: read_recording(paths, stats)), stats


def time_window(source: RecordSource, start_ms: int | None, end_ms: int | None) -> RecordSource:
    def gen() -> Iterator[Record]:
        for rec in source():
            if start_ms is not None and rec.t_ms < start_ms:
                continue
            if end_ms is not None and rec.t_ms >= end_ms:
                return
            yield rec

    return gen


def run_backtest(
    metas: Iterable[MarketMeta],
    records: Iterable[Record],
    params: StrategyParams,
    settings: SimSettings,
    *,
    inputs: dict[str, Any],
    trades_inferred: bool = False,
) -> tuple[Backtest, dict]:
    bt = Backtest(metas, params, settings)
    bt.run(records)
    return bt, build_report(bt, inputs=inputs, trades_inferred=trades_inferred)
