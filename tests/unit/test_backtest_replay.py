"""Backtest runs: two replays give byte-identical reports; the report carries what the issue asks;
the data adapters (real captures, resolvedkit trade inference) and the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
from decimal import Decimal as D

import pytest

from pmbot.backtest import adapters
from pmbot.backtest.__main__ import main
from pmbot.backtest.records import Record, infer_markets
from pmbot.backtest.report import dumps
from pmbot.backtest.run import run_backtest
from pmbot.backtest.simulation import SimSettings
from pmbot.strategy.params import QuotingParams, RiskParams, StrategyParams

REAL = os.path.join(
    os.path.dirname(__file__),
    "../../../shared/data/real-feed/andreruizloera__opentape__polymarket_ws.jsonl",
)
REAL = os.path.normpath(REAL)
JOIN_TOUCH = StrategyParams(
    quoting=QuotingParams(edge_fraction=D(0)),
    risk=RiskParams(stale_book_secs=D(100_000), jump_threshold=D(1)),
)


def _run(records, params=JOIN_TOUCH, settings=None):
    settings = settings or SimSettings()
    metas = infer_markets(records)
    return run_backtest(metas, iter(records), params, settings, inputs={"x": 1})


def test_two_replays_of_the_same_data_give_identical_reports():
    records = list(adapters.real_feed_records(REAL))
    assert len(records) > 50
    bt1, rep1 = _run(records)
    bt2, rep2 = _run(records)
    assert dumps(rep1) == dumps(rep2)
    assert bt1.feed.events_applied == bt2.feed.events_applied > 60
    assert rep1["total"]["orders_placed"] > 0  # the strategy really quoted on the capture


def test_report_has_the_figures_the_issue_asks_for():
    _bt, rep = _run(list(adapters.real_feed_records(REAL)))
    (m,) = rep["markets"].values()
    assert set(m["pnl"]) == {"realized", "unrealized", "fees", "total_marked", "at_settlement"}
    assert set(m["markouts"]) == {"1s", "10s", "60s"}
    for key in ("fills", "fill_rate", "inventory_path", "inventory_peak_abs_yes"):
        assert key in m
    assert sum(m["time_by_verdict_secs"].values()) > 100  # the capture spans ~150 s
    json.loads(dumps(rep))


def _frame(t, obj) -> Record:
    return Record(t, "c", "ws", json.dumps(obj))


def _book(t, bids, asks):
    lv = lambda xs: [{"price": p, "size": s} for p, s in xs]  # noqa: E731
    return _frame(
        t,
        {
            "event_type": "book",
            "market": "0xm",
            "asset_id": "Y",
            "bids": lv(bids),
            "asks": lv(asks),
            "tick_size": "0.01",
        },
    )


def _no_book(t):
    return _frame(
        t, {"event_type": "book", "market": "0xm", "asset_id": "N", "bids": [], "asks": []}
    )


def test_a_scripted_market_fills_through_the_queue_and_marks_out():
    """Join-the-touch bid at 0.50 behind 100; 130 trade there: 30 past the queue, the order's 10
    fill; the mid is 0.505 at +60 s and 0.52 at the end: +0.2 unrealized."""
    trade = {
        "event_type": "last_trade_price",
        "market": "0xm",
        "asset_id": "Y",
        "price": "0.50",
        "size": "130",
        "side": "SELL",
    }
    records = [
        _book(0, [("0.50", "100")], [("0.52", "100")]),  # first token seen: taken as YES
        _no_book(0),
        _book(1_000, [("0.50", "100")], [("0.52", "101")]),  # quotes rest by now (latency 50 ms)
        _frame(2_000, trade),
        _book(2_000, [("0.49", "10")], [("0.52", "101")]),
        _book(70_000, [("0.51", "10")], [("0.53", "10")]),
    ]
    settings = SimSettings(place_latency_ms=50, cancel_latency_ms=50)
    params = dataclasses.replace(
        JOIN_TOUCH, arbitrage=dataclasses.replace(JOIN_TOUCH.arbitrage, enabled=False)
    )
    bt, rep = _run(records, params, settings)
    (m,) = rep["markets"].values()
    assert m["maker_fills"] >= 1 and D(m["filled_size"]) == 10
    # at +60 s (t=62 s) the mid was still 0.505 (0.49/0.52); the move to 0.52 came at t=70 s
    assert D(m["markouts"]["60s"]["per_share"]) == D("0.005")
    assert D(rep["total"]["pnl"]["unrealized"]) == D("0.2")


def test_resolvedkit_trade_inference_at_and_through_the_touch():
    prev = {
        "bid_px": [0.5, 0.49, 0.48],
        "bid_sz": [10.0, 20.0, 30.0],
        "ask_px": [0.52],
        "ask_sz": [5.0],
    }
    row = {"bid_px": [0.48], "bid_sz": [12.0], "ask_px": [0.52, 0.53], "ask_sz": [2.0, 4.0]}
    got = adapters._inferred_trades(prev, row)
    assert got == [
        ("SELL", D("0.5"), D("10.0")),
        ("SELL", D("0.49"), D("20.0")),
        ("SELL", D("0.48"), D("18.0")),
        ("BUY", D("0.52"), D("3.0")),
    ]
    improved = {"bid_px": [0.51], "bid_sz": [1.0], "ask_px": [0.52], "ask_sz": [5.0]}
    assert adapters._inferred_trades(prev, improved) == []


def test_cli_replays_a_converted_capture_and_writes_the_report(tmp_path, capsys):
    rec_dir = tmp_path / "rec"
    assert main(["--convert-real-feed", REAL, "--out", str(rec_dir)]) == 0
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mode: sim\nrisk:\n  stale_book_secs: 100000\n")
    out = tmp_path / "out"
    argv = ["--data", str(rec_dir), "--config", str(cfg), "--out", str(out)]
    assert main(argv) == 0
    first = (out / "report.json").read_text()
    assert main(argv) == 0
    assert (out / "report.json").read_text() == first
    assert "TOTAL pnl" in capsys.readouterr().out


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    from pmbot.backtest.plots import write_plots

    _bt, rep = _run(list(adapters.real_feed_records(REAL)))
    paths = write_plots(rep, str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ["equity.png", "inventory.png", "markouts.png"]
    assert all(os.path.getsize(p) > 1000 for p in paths)


def test_sweep_chooses_on_train_and_reports_held_out(tmp_path):
    from pmbot.backtest.run import RecordSource
    from pmbot.backtest.sweep import GRID, run_sweep

    records = list(adapters.real_feed_records(REAL))
    source: RecordSource = lambda: iter(records)  # noqa: E731
    text = run_sweep(
        infer_markets(records), source, JOIN_TOUCH, SimSettings(), 0.5, False, str(tmp_path)
    )
    result = json.loads((tmp_path / "sweep.json").read_text())
    n_grid = 1
    for values in GRID.values():
        n_grid *= len(values)
    assert len(result["rows"]) == 3 + n_grid
    grid_rows = result["rows"][3:]
    best = max(D(r["train"]["score"]) for r in grid_rows)
    chosen = next(r for r in grid_rows if r["label"] == result["chosen"])
    assert D(chosen["train"]["score"]) == best
    assert result["chosen"] in text and "join-the-touch" in text and "edge (config)" in text
    assert records[0].t_ms < result["split_ms"] < records[-1].t_ms


def test_rewards_band_time_is_reported_when_the_band_is_configured():
    params = dataclasses.replace(
        JOIN_TOUCH, quoting=dataclasses.replace(JOIN_TOUCH.quoting, rewards_max_spread_cents=D("3"))
    )
    _bt, rep = _run(list(adapters.real_feed_records(REAL)), params)
    (m,) = rep["markets"].values()
    quoting = m["time_by_verdict_secs"].get("quoting", 0)
    assert 0 < m["rewards_band_secs"] <= quoting
    _bt, rep = _run(list(adapters.real_feed_records(REAL)))
    assert next(iter(rep["markets"].values()))["rewards_band_secs"] is None


def test_a_replayed_market_resolved_settles_the_position():
    trade = {
        "event_type": "last_trade_price",
        "market": "0xm",
        "asset_id": "Y",
        "price": "0.50",
        "size": "130",
        "side": "SELL",
    }
    resolved = {
        "event_type": "market_resolved",
        "market": "0xm",
        "assets_ids": ["Y", "N"],
        "winning_asset_id": "Y",
        "winning_outcome": "Yes",
    }
    records = [
        _book(0, [("0.50", "100")], [("0.52", "100")]),
        _no_book(0),
        _book(1_000, [("0.50", "100")], [("0.52", "101")]),
        _frame(2_000, trade),
        _book(2_000, [("0.49", "10")], [("0.52", "101")]),
        _frame(3_000, resolved),
    ]
    params = dataclasses.replace(
        JOIN_TOUCH, arbitrage=dataclasses.replace(JOIN_TOUCH.arbitrage, enabled=False)
    )
    bt, rep = _run(records, params)
    (m,) = rep["markets"].values()
    assert D(m["filled_size"]) == 10  # bought 10 YES at 0.50; YES won: +0.50 a share
    assert D(m["pnl"]["realized"]) == D(5) and D(m["pnl"]["at_settlement"]) == D(5)
    assert bt.inventory.shares("Y") == 0 and not bt.models["0xm"].orders
