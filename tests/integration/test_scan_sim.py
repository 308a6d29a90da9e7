"""``python bot.py scan`` against the simulator with known reward pools and books: the ranking and
its figures match a hand computation; ``--write-config`` output passes ``--check-config``; a venue
error is reported in one line, not a traceback.

Rules relied on (docs.polymarket.com/market-makers/liquidity-rewards): "S(v,s) = ((v-s)/v)^2 * b"
with "v | Max spread from midpoint (in cents)" and "s | Spread from size-cutoff-adjusted
midpoint"; "Q_min = max(min(Q_one, Q_two), max(Q_one/c, Q_two/c))" for a midpoint in [0.10, 0.90];
the pool is shared by "Q_normal = Q_min / sum of Q_min". Reward listing shape: clob-client-v2
``MarketReward`` (``rewards_max_spread``, ``rewards_min_size``, ``rewards_config[].rate_per_day``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal as D

import pytest
import yaml

from tests.integration.sim_support import start_sim

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _m(slug, rate, v, min_size, **extra):
    return {
        "slug": slug,
        "fair_value": 0.5,
        "rewards_daily_rate": rate,
        "rewards_max_spread": v,
        "rewards_min_size": min_size,
        **extra,
    }


MARKETS = [
    _m("pool-a", 100, 3, 10, volume=5000),
    _m("pool-b", 300, 4, 10),
    _m("pool-c", 10, 3, 10),
    {"slug": "no-rewards", "fair_value": 0.5},
]
LADDERS = {  # YES bids, YES asks as (price, size)
    "pool-a": ([("0.48", 100), ("0.47", 50)], [("0.52", 100), ("0.53", 50)]),
    "pool-b": ([("0.30", 500)], [("0.32", 500)]),
    "pool-c": ([("0.20", 10)], [("0.80", 10)]),
    "no-rewards": ([("0.49", 100)], [("0.51", 100)]),
}


@pytest.fixture(scope="module")
def sim():
    server = start_sim(markets=MARKETS, events=[])
    x = server.exchange
    with x.lock:
        for m in list(x.markets.values()):
            bids, asks = LADDERS[m.slug]
            x.traders.set_ladder(
                m, [(D(p), D(s)) for p, s in bids], [(D(p), D(s)) for p, s in asks], 0.0
            )
    yield server
    server.stop()


def _config(tmp_path, sim, clob_suffix="") -> str:
    urls = sim.urls
    venue = {k: urls[k] for k in ("market_ws_url", "user_ws_url", "data_api_url", "gamma_url")}
    venue["clob_url"] = urls["clob_url"] + clob_suffix
    path = tmp_path / "scan.yaml"
    path.write_text(yaml.safe_dump({"mode": "live", "venue": venue}))
    return str(path)


def _bot(*args, timeout=120):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "bot.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _hand():
    """reward/day and reward per $100 for 20 shares a side, 1 cent from the adjusted mid."""
    capital = 20 * D("0.49") + 20 * (1 - D("0.51"))  # A and C: mid 0.50
    a_mine, a_comp = (D(2) / 3) ** 2 * 20, (D(1) / 3) ** 2 * 100
    a_day = 100 * a_mine / (a_mine + a_comp)
    b_capital = 20 * D("0.30") + 20 * (1 - D("0.32"))  # B: mid 0.31
    b_mine, b_comp = (D(3) / 4) ** 2 * 20, (D(3) / 4) ** 2 * 500
    b_day = 300 * b_mine / (b_mine + b_comp)
    c_day = D(10)  # C: the book's 0.20/0.80 sit outside the band, so no competition
    return {
        "pool-a": (a_day, a_day * 100 / capital),
        "pool-b": (b_day, b_day * 100 / b_capital),
        "pool-c": (c_day, c_day * 100 / capital),
    }


def test_ranking_matches_the_hand_computation(sim, tmp_path):
    run = _bot("scan", "--config", _config(tmp_path, sim), "--json", "--size", "20")
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    ranking = body["ranking"]
    assert [r["slug"] for r in ranking] == ["pool-a", "pool-b", "pool-c"]
    for row in ranking:
        per_day, per_100 = _hand()[row["slug"]]
        assert abs(D(row["reward_per_day"]) - per_day) < D("1e-12"), row
        assert abs(D(row["reward_per_100_per_day"]) - per_100) < D("1e-12"), row
    a = ranking[0]
    assert (D(a["mid"]), D(a["spread_cents"]), D(a["volume"])) == (D("0.5"), D(4), D(5000))
    assert D(a["competition_q"]) == (D(1) / 3) ** 2 * 100
    assert a["neg_risk"] is False
    summary = body["summary"]
    assert summary["reward_markets"] == 3
    assert summary["requests"]["scan_clob"] >= 1 and summary["requests"]["scan_books"] == 1


def test_write_config_passes_check_config(sim, tmp_path):
    run = _bot("scan", "--config", _config(tmp_path, sim), "--write-config", "2", "--size", "20")
    assert run.returncode == 0, run.stderr
    block = yaml.safe_load(run.stdout)
    assert len(block["markets"]) == 2
    by_slug = {m.slug: m for m in sim.exchange.markets.values()}
    assert block["markets"][0] == {
        "yes_token": by_slug["pool-a"].yes_token,
        "no_token": by_slug["pool-a"].no_token,
    }
    assert "# 1. pool-a" in run.stdout  # the figures ride along as comments
    cfg = tmp_path / "pasted.yaml"
    cfg.write_text("mode: sim\n" + run.stdout)
    check = _bot("--check-config", "--config", str(cfg))
    assert check.returncode == 0, check.stderr
    assert yaml.safe_load(check.stdout)["markets"][1]["yes_token"] == by_slug["pool-b"].yes_token


def test_venue_error_is_one_line_not_a_traceback(sim, tmp_path):
    run = _bot("scan", "--config", _config(tmp_path, sim, clob_suffix="/nowhere"))
    assert run.returncode == 1
    assert "RejectedError" in run.stderr and "404" in run.stderr
    assert "Traceback" not in run.stderr


def test_http_caches_for_the_run_and_classifies_errors(sim):
    from pmbot.errors import RejectedError
    from pmbot.scan.fetch import CLOB, ScanHttp

    http = ScanHttp()
    try:
        url = sim.urls["clob_url"] + "/rewards/markets/current"
        first = http.get(url, {"next_cursor": "MA=="})
        assert http.get(url, {"next_cursor": "MA=="}) == first
        assert (http.requests[CLOB], http.cache_hits) == (1, 1)
        with pytest.raises(RejectedError, match="400"):
            http.get(url, {"next_cursor": "not-a-cursor"})
    finally:
        http.close()


def test_sims_own_score_for_a_client_equals_pmbot_rewards(tmp_path):
    """Orders placed over HTTP with the official client: the sim's per-minute sampler (its own
    implementation, reading its book) and pmbot.rewards (from the client's orders and the public
    book) give the same Q_min for that maker."""
    import time

    import requests
    from py_clob_client_v2.clob_types import OrderArgs

    from pmbot import rewards as r
    from tests.integration.sim_support import KEY_A, clob_client

    server = start_sim(
        markets=[_m("scored", 100, 3, 10)], events=[], extra={"rewards_sample_secs": 0.2}
    )
    try:
        m = next(iter(server.exchange.markets.values()))
        with server.exchange.lock:  # background liquidity: 0.48 / 0.52, 100 each
            server.exchange.traders.set_ladder(m, [(D("0.48"), D(100))], [(D("0.52"), D(100))], 0)
        client = clob_client(server, KEY_A)
        mine = [("BUY", m.yes_token, "0.49", 40), ("BUY", m.no_token, "0.49", 25)]
        for side, token, price, size in mine:
            client.create_and_post_order(
                OrderArgs(token_id=token, price=float(price), size=size, side=side),
                post_only=True,
            )
        url = server.urls["clob_url"]
        book = requests.get(f"{url}/book", params={"token_id": m.yes_token}, timeout=5).json()
        levels = [[(D(x["price"]), D(x["size"])) for x in book[k]] for k in ("bids", "asks")]
        mid = r.adjusted_midpoint(levels[0], levels[1], D(10))
        params = r.RewardParams(D(3), D(10), D(100))
        quotes = [r.yes_terms(t == m.yes_token, s, D(p), D(n)) for s, t, p, n in mine]
        expected = r.maker_score(quotes, mid, params)
        address = client.get_address().lower()

        def report() -> dict:
            answer = requests.get(f"{url}/_sim/rewards", params={"maker": address}, timeout=5)
            return answer.json()

        placed_by = report()["samples"]  # a sample from before both orders rested may exist
        deadline = time.monotonic() + 10
        got = None
        while got is None and time.monotonic() < deadline:
            body = report()
            if body["samples"] > placed_by:
                makers = body["markets"].get(m.condition_id, {}).get("makers", {})
                got = makers.get(address)
            if got is None:
                server.stopping.wait(0.05)
        assert got is not None, "the sim never scored the client's orders"
        assert mid == D("0.50")  # 0.49 bid and the NO bid at 0.49 = a YES ask at 0.51
        assert abs(D(got["q_min"]) - expected) < D("1e-12") and expected > 0
    finally:
        server.stop()
