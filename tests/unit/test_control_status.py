"""The status answer: typed on the bot side, JSON on the wire, a readable table for humans."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from pmbot.control.protocol import ProtocolError
from pmbot.control.status import BotStatus, MarketStatus, render_status, status_from_data

STATUS = BotStatus(
    mode="sim",
    wallet="0xfunder",
    uptime_secs=3725.0,
    verdict="quoting",
    reason="",
    paused_by="",
    markets=(
        MarketStatus(
            "0xc1" + "0" * 62,
            "rain",
            "quoting",
            "",
            "",
            4,
            D("10.5"),
            D(0),
            D("5.25"),
            D("-0.10"),
            1.2,
        ),
        MarketStatus(
            "0xc2" + "1" * 62,
            "",
            "paused",
            "operator",
            "uid 1000 (pid 7)",
            0,
            D(0),
            D(3),
            None,
            D(0),
            None,
        ),
    ),
)


def test_status_survives_json() -> None:
    data = json.loads(json.dumps(STATUS.to_data()))
    assert status_from_data(data) == STATUS


def test_table_shows_each_market_with_verdict_quotes_inventory_and_feed_age() -> None:
    text = render_status(STATUS)
    lines = text.splitlines()
    assert lines[0] == "mode sim  wallet 0xfunder  up 1h02m"
    assert lines[1] == "bot: quoting"
    assert lines[2].split()[:2] == ["MARKET", "VERDICT"]
    rain = lines[3].split()
    assert rain == ["rain", "quoting", "4", "10.50", "0.00", "5.25", "-0.10", "1s"]
    assert "paused (operator) by uid 1000 (pid 7)" in lines[4]
    assert lines[4].startswith("0xc211111111")
    assert lines[4].split()[-4:] == ["3.00", "-", "0.00", "-"]


def test_no_markets_says_so() -> None:
    empty = BotStatus("live", "0x1", 5, "halted", "daily loss", "", ())
    assert render_status(empty).splitlines()[1:] == [
        "bot: halted (daily loss)",
        "MARKET  VERDICT  QUOTES  YES  NO  EXPOSURE$  P&L$  FEED AGE",
        "(no markets)",
    ]


def test_unexpected_shape_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        status_from_data({"mode": "sim"})
