"""pmbot.scan.output: the table, the JSON and the ``markets:`` block the config loader accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import yaml

from pmbot.config import load_config
from pmbot.scan import estimate as e
from pmbot.scan import output
from pmbot.scan.sources import Book, GammaInfo, RewardMarket

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _row(cid: str, rate: str, volume: str = "1000") -> e.ScanRow:
    m = RewardMarket(cid, "Will it?", f"slug-{cid}", f"1{cid}", f"2{cid}", D(3), D(10), D(rate))
    book = Book(((D("0.48"), D(100)),), ((D("0.52"), D(100)),), D("0.01"))
    row = e.evaluate(m, book, GammaInfo(D(volume), "", False), e.ScanOptions(), NOW)
    assert isinstance(row, e.ScanRow)
    return row


def test_json_numbers_are_plain_decimal_strings():
    body = json.loads(output.as_json([_row("1", "1000", volume="2000")], {"ranked": 1}))
    row = body["ranking"][0]
    assert row["pool_per_day"] == "1000" and row["volume"] == "2000"  # never 1E+3
    assert row["volatility_cents"] is None and row["rank"] == 1
    assert body["summary"] == {"ranked": 1}


def test_table_has_one_line_per_row_up_to_the_limit():
    rows = e.rank([_row("1", "10"), _row("2", "20"), _row("3", "30")])
    lines = output.table(rows, 2).splitlines()
    assert len(lines) == 3 and lines[1].split()[0] == "1" and lines[1].endswith("slug-3")


def test_config_block_loads_as_markets(tmp_path):
    rows = e.rank([_row("1", "10"), _row("2", "20")])
    text = output.config_block(rows, 5)
    assert yaml.safe_load(text)["markets"] == [
        {"yes_token": "12", "no_token": "22"},
        {"yes_token": "11", "no_token": "21"},
    ]
    path = tmp_path / "c.yaml"
    path.write_text("mode: sim\n" + text)
    cfg = load_config(str(path))
    assert [m.yes_token for m in cfg.markets] == ["12", "11"]
    empty = output.config_block([], 5)
    assert yaml.safe_load(empty)["markets"] == []
