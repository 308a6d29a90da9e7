"""pmbot.scan.sources: venue answers into records; malformed entries are counted and skipped.
Shapes: clob-client-v2 ``MarketReward`` / ``RewardsConfig`` (src/types/clob.ts) for
``/rewards/markets/current``; Gamma ``clobTokenIds`` is a JSON-encoded string."""

from __future__ import annotations

import json
from decimal import Decimal as D

from pmbot.scan import sources


class FakeHttp:
    def __init__(self, answers):
        self.answers = answers  # (path suffix, cursor or None) -> body
        self.calls = []

    def get(self, url, params=None, *, family="clob"):
        self.calls.append((url, params))
        cursor = params.get("next_cursor") if isinstance(params, dict) else None
        for (suffix, want), body in self.answers.items():
            if url.endswith(suffix) and want in (None, cursor):
                return body
        raise AssertionError(f"unexpected {url} {params}")

    def post(self, url, body, *, family="clob"):
        return self.get(url, None, family=family)


def _reward(cid, rate="10", tokens=True):
    out = {
        "condition_id": cid,
        "question": "q?",
        "market_slug": f"s-{cid}",
        "rewards_max_spread": 3.5,
        "rewards_min_size": 50,
        "rewards_config": [
            {
                "asset_address": "0x",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "rate_per_day": rate,
                "total_rewards": 100,
            },
            {
                "asset_address": "0x",
                "start_date": "2026-01-01",
                "end_date": "2027-01-31",
                "rate_per_day": 5,
                "total_rewards": 100,
            },
        ],
    }
    if tokens:
        out["tokens"] = [{"token_id": "N1", "outcome": "No"}, {"token_id": "Y1", "outcome": "Yes"}]
    return out


def test_reward_pages_are_followed_and_bad_entries_skipped():
    http = FakeHttp(
        {
            ("/rewards/markets/current", "MA=="): {
                "data": [_reward("0x1"), {"condition_id": "0xbad"}],
                "next_cursor": "MTAw",
            },
            ("/rewards/markets/current", "MTAw"): {
                "data": [_reward("0x2", rate="oops"), _reward("0x3", tokens=False)],
                "next_cursor": "LTE=",
            },
        }
    )
    skipped = sources.Skipped()
    got = sources.reward_markets(http, "http://clob", skipped)
    assert [m.condition_id for m in got] == ["0x1", "0x3"]
    first = got[0]
    assert (first.yes_token, first.no_token) == ("Y1", "N1")  # by outcome, not by position
    assert first.daily_rate == D(15)  # every rewards_config entry adds to the pool
    assert (first.max_spread_cents, first.min_size, first.end_date) == (D("3.5"), 50, "2027-01-31")
    assert got[1].yes_token == ""  # Gamma fills these in later
    assert skipped.counts == {"reward_market": 2}


def test_gamma_and_books_parse_and_skip():
    http = FakeHttp(
        {
            ("/markets", None): [
                {
                    "conditionId": "0x1",
                    "volume24hr": 1234.5,
                    "endDate": "2026-12-31T00:00:00Z",
                    "negRisk": True,
                    "clobTokenIds": json.dumps(["Y", "N"]),
                },
                {"conditionId": "0x2", "volumeNum": "x"},
                {"no": "id"},
            ],
            ("/books", None): [
                {
                    "asset_id": "Y",
                    "bids": [{"price": "0.4", "size": "10"}],
                    "asks": [{"price": "0.6", "size": "5"}],
                    "tick_size": "0.01",
                },
                {"asset_id": "Z", "bids": [{"price": "bad", "size": "1"}], "asks": []},
            ],
        }
    )
    skipped = sources.Skipped()
    info = sources.gamma_infos(http, "http://gamma", ["0x1", "0x2"], skipped)
    assert info["0x1"] == sources.GammaInfo(D("1234.5"), "2026-12-31T00:00:00Z", True, ("Y", "N"))
    params = http.calls[0][1]
    assert ("condition_ids", "0x1") in params and ("condition_ids", "0x2") in params
    books = sources.books(http, "http://clob", ["Y", "Z"], skipped)
    assert books == {"Y": sources.Book(((D("0.4"), D(10)),), ((D("0.6"), D(5)),), D("0.01"))}
    assert skipped.counts == {"gamma_market": 2, "book": 1}
