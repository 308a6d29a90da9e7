"""pmbot.scan.scanner.run_scan over canned venue answers: tokens missing from the reward listing
come from Gamma's clobTokenIds; price history feeds volatility and the volatility filter."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal as D

from pmbot.scan.estimate import ScanOptions
from pmbot.scan.scanner import run_scan

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _reward(cid):
    return {
        "condition_id": cid,
        "rewards_max_spread": 3,
        "rewards_min_size": 10,
        "rewards_config": [{"rate_per_day": 100, "end_date": "2026-12-31"}],
    }  # no tokens: the venue's listing may leave them out


class Venue:
    def __init__(self, histories):
        self.histories = histories
        self.requests: Counter[str] = Counter()

    def get(self, url, params=None, *, family="clob"):
        self.requests[family] += 1
        if url.endswith("/rewards/markets/current"):
            return {"data": [_reward("0xa"), _reward("0xb")], "next_cursor": "LTE="}
        if url.endswith("/markets"):
            return [
                {"conditionId": c, "clobTokenIds": json.dumps([f"y{c}", f"n{c}"])}
                for c in ("0xa", "0xb")
            ]
        if url.endswith("/prices-history"):
            return {
                "history": [
                    {"t": i, "p": p} for i, p in enumerate(self.histories[params["market"]])
                ]
            }
        raise AssertionError(url)

    def post(self, url, body, *, family="clob"):
        self.requests[family] += 1
        assert url.endswith("/books")
        return [
            {
                "asset_id": item["token_id"],
                "bids": [{"price": "0.48", "size": "100"}],
                "asks": [{"price": "0.52", "size": "100"}],
                "tick_size": "0.01",
            }
            for item in body
        ]


def test_tokens_from_gamma_and_volatility_from_history():
    venue = Venue({"y0xa": [0.5, 0.5, 0.5], "y0xb": [0.50, 0.53, 0.50]})
    result = run_scan(venue, "http://clob/", "http://gamma", ScanOptions(), now=NOW)
    by_cid = {r.market.condition_id: r for r in result.rows}
    assert by_cid["0xa"].market.yes_token == "y0xa" and by_cid["0xa"].market.no_token == "n0xa"
    assert by_cid["0xa"].volatility_cents == 0 and by_cid["0xb"].volatility_cents == D(3)
    assert result.reward_markets == 2 and result.skipped == {}


def test_the_volatility_ceiling_drops_the_jumpy_market():
    venue = Venue({"y0xa": [0.5, 0.5, 0.5], "y0xb": [0.50, 0.53, 0.50]})
    opts = ScanOptions(max_volatility_cents=D(1))
    result = run_scan(venue, "http://clob", "http://gamma", opts, now=NOW)
    assert [r.market.condition_id for r in result.rows] == ["0xa"]


def test_history_only_for_the_leaders():
    venue = Venue({"y0xa": [0.5, 0.5, 0.5], "y0xb": [0.5, 0.5, 0.5]})
    result = run_scan(venue, "http://clob", "http://gamma", ScanOptions(), history_top=1, now=NOW)
    assert venue.requests["scan_history"] == 1
    assert sorted(r.volatility_cents is None for r in result.rows) == [False, True]
