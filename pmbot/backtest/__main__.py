"""``python -m pmbot.backtest``: replay recorded market data through the bot's strategy.

    python -m pmbot.backtest --data state/recording --config config.yaml --out bt-out
    python -m pmbot.backtest --resolvedkit --config config.yaml --out bt-out --plots
    python -m pmbot.backtest --resolvedkit --config config.yaml --sweep --out sweep-out
    python -m pmbot.backtest --convert-real-feed ../shared/data/real-feed/X.jsonl --out rec-dir

Writes ``report.json`` (byte-identical for the same data and config), ``summary.txt`` (also
printed) and, with ``--plots``, PNG plots (matplotlib, requirements-backtest.txt).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from pmbot.config import load_config
from pmbot.strategy.params import StrategyParams

from . import adapters
from .records import MarketMeta
from .report import dumps, summary
from .run import RecordSource, recording_source, run_backtest
from .simulation import SimSettings


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m pmbot.backtest", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--data", nargs="*", default=[], help="recording files or directories")
    ap.add_argument("--resolvedkit", action="store_true", help="use the resolvedkit sample")
    ap.add_argument("--convert-real-feed", metavar="JSONL", help="convert a capture and exit")
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--out", default="backtest-out")
    ap.add_argument("--queue", choices=("pro_rata", "worst"), default="pro_rata")
    ap.add_argument("--latency-ms", type=int, default=50, help="decision -> order resting")
    ap.add_argument("--cancel-latency-ms", type=int, default=50, help="cancel sent -> effective")
    ap.add_argument("--plots", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="grid search with a held-out split")
    ap.add_argument("--train-fraction", type=float, default=0.6)
    return ap.parse_args(argv)


def _plain(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj if isinstance(obj, (bool, int, str)) or obj is None else str(obj)


def _convert(a: argparse.Namespace) -> int:
    recs = list(adapters.real_feed_records(a.convert_real_feed))
    n = adapters.write_recording(a.out, [], iter(recs))
    os.remove(os.path.join(a.out, "markets.json"))  # inferred from the frames at replay
    print(f"{n} records -> {a.out}")
    return 0


def _data(a: argparse.Namespace) -> tuple[list[MarketMeta], RecordSource, bool]:
    """(markets, a re-openable record stream, whether trades are inferred)."""
    if a.resolvedkit:
        metas, src = adapters.resolvedkit_records(adapters.resolvedkit_sample_dir())
        records = list(src)
        return metas, lambda: iter(records), True
    metas, source, _stats = recording_source(a.data)
    return metas, source, False


def _write(a: argparse.Namespace, report: dict) -> None:
    with open(os.path.join(a.out, "report.json"), "w", encoding="utf-8") as fh:
        fh.write(dumps(report))
    text = summary(report)
    with open(os.path.join(a.out, "summary.txt"), "w", encoding="utf-8") as fh:
        fh.write(text)
    print(text, end="")
    if a.plots:
        from .plots import write_plots

        write_plots(report, a.out)


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if a.convert_real_feed:
        return _convert(a)
    if not (a.resolvedkit or a.data):
        print("give --data PATH... or --resolvedkit", file=sys.stderr)
        return 2
    cfg = load_config(a.config)
    params = StrategyParams.from_sections(cfg.strategy, cfg.risk, cfg.arbitrage)
    settings = SimSettings(a.queue, a.latency_ms, a.cancel_latency_ms)
    metas, source, inferred = _data(a)
    os.makedirs(a.out, exist_ok=True)
    if a.sweep:
        from .sweep import run_sweep

        print(run_sweep(metas, source, params, settings, a.train_fraction, inferred, a.out), end="")
        return 0
    inputs = {
        "data": "resolvedkit-sample" if a.resolvedkit else sorted(map(os.path.basename, a.data)),
        "settings": {
            "queue": a.queue,
            "latency_ms": a.latency_ms,
            "cancel_ms": a.cancel_latency_ms,
        },
        "params": _plain(dataclasses.asdict(params)),  # what produced this report
    }
    _bt, report = run_backtest(
        metas, source(), params, settings, inputs=inputs, trades_inferred=inferred
    )
    _write(a, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
