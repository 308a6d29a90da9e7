"""The simulator's reward sampler (pmbot.sim.rewards) against the bot's formula (pmbot.rewards):
two implementations of Polymarket's liquidity-rewards score, one reading the sim's own book with
every order's maker, one from quotes. They must agree on every maker's Q_min and share.

Rules relied on (docs.polymarket.com/market-makers/liquidity-rewards): "S(v,s) = ((v-s)/v)^2 * b";
"If midpoint is in range [0.10, 0.90] -- single-sided liquidity can score: Q_min = max(min(Q_one,
Q_two), max(Q_one/c, Q_two/c))", otherwise "Q_min = min(Q_one, Q_two)"; "c ... currently 3.0";
"Q_normal = Q_min / sum of all Q_min"; "Q_ne is calculated every minute using random sampling".
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D

import pytest

from pmbot import rewards as r
from pmbot.sim.engine import Exchange
from pmbot.sim.markets import load_sim_config
from pmbot.sim.rewards import RewardSampler

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
_ids = itertools.count(1)


def _exchange(fair: str = "0.5") -> Exchange:
    cfg = load_sim_config(
        {
            "background": False,
            "markets": [
                {
                    "slug": "paid",
                    "fair_value": fair,
                    "rewards_daily_rate": 100,
                    "rewards_max_spread": 3,
                    "rewards_min_size": 10,
                }
            ],
        }
    )
    return Exchange(cfg, clock=lambda: 1_000.0)


def _place(x: Exchange, who: str, token: str, side: str, price: str, size: int) -> None:
    """A resting BUY through the engine's wire-order entry (signature checks are the server's)."""
    assert side == "BUY"
    micro = D(1_000_000)
    order = {
        "tokenId": token,
        "makerAmount": str(int(D(price) * size * micro)),  # pUSD paid
        "takerAmount": str(int(size * micro)),  # shares bought
        "side": "BUY",
        "maker": who,
        "expiration": "0",
    }
    x.place_order(
        f"key-{who}", order, order_type="GTC", post_only=True, order_id=f"0x{next(_ids):064x}"
    )


def _bot_view(x: Exchange, cid: str) -> tuple[D, dict[str, D]]:
    """What pmbot.rewards says about the same resting orders."""
    m = x.markets[cid]
    book = x._books[cid]
    bids = [(p, book.bid_total[p]) for p in book.bid_prices]
    asks = [(p, book.ask_total[p]) for p in book.ask_prices]
    params = r.RewardParams(m.rewards_max_spread, m.rewards_min_size, m.rewards_daily_rate)
    mid = r.adjusted_midpoint(bids, asks, params.min_size)
    assert mid is not None
    quotes: dict[str, list[r.Quote]] = {}
    for o in book.orders():
        quotes.setdefault(o.address, []).append(r.yes_terms(o.is_yes, o.side, o.price, o.remaining))
    scores = {a: r.maker_score(q, mid, params) for a, q in quotes.items()}
    return mid, {a: s for a, s in scores.items() if s > 0}


@pytest.mark.parametrize("fair", ["0.5", "0.95"])
def test_sampler_matches_the_bots_formula(fair):
    x = _exchange(fair)
    m = next(iter(x.markets.values()))
    base = D(fair)
    # Alice quotes both sides (her ask as a NO bid); Bob one side, one order under the min size.
    _place(x, ALICE, m.yes_token, "BUY", str(base - D("0.01")), 40)
    _place(x, ALICE, m.no_token, "BUY", str(1 - base - D("0.02")), 30)
    _place(x, BOB, m.yes_token, "BUY", str(base - D("0.02")), 100)
    _place(x, BOB, m.yes_token, "BUY", str(base - D("0.01")), 5)
    sampler = RewardSampler(x)
    sampler.sample(1_000.0)
    mid, expected = _bot_view(x, m.condition_id)
    got = sampler.last[m.condition_id]
    assert set(got) == set(expected) and got
    for maker, q in expected.items():
        assert abs(got[maker] - q) < D("1e-18")
    report = sampler.report(ALICE)["markets"][m.condition_id]
    total = sum(expected.values())
    assert abs(D(report["makers"][ALICE]["share"]) - expected[ALICE] / total) < D("1e-18")
    if fair == "0.95":  # outside [0.10, 0.90]: Bob's single side scores nothing
        assert BOB not in got


def test_hand_count_at_mid_050():
    """Alice: bid 40 @0.49 (1c) and a NO bid 30 @0.49 = YES ask 0.51 (1c)... with the book's own
    cutoff-adjusted mid at 0.50: Q_one = (2/3)^2*40, Q_two = (2/3)^2*30 -> Q_min = 120/9 (the
    min beats a third of 160/9). Bob: bid 100 @0.48 (2c) only: (1/3)^2*100/3 = 100/27."""
    x = _exchange("0.5")
    m = next(iter(x.markets.values()))
    _place(x, ALICE, m.yes_token, "BUY", "0.49", 40)
    _place(x, ALICE, m.no_token, "BUY", "0.49", 30)
    _place(x, BOB, m.yes_token, "BUY", "0.48", 100)
    sampler = RewardSampler(x)
    sampler.sample(1_000.0)
    got = sampler.last[m.condition_id]
    assert abs(got[ALICE] - D(120) / 9) < D("1e-18")
    assert abs(got[BOB] - D(100) / 27) < D("1e-18")
    sampler.sample(1_060.0)
    share_sum = D(sampler.report(BOB)["markets"][m.condition_id]["makers"][BOB]["share_sum"])
    assert abs(share_sum - 2 * (D(100) / 27) / (D(120) / 9 + D(100) / 27)) < D("1e-18")


def test_one_sample_per_period_at_a_random_moment_of_it():
    x = _exchange()
    sampler = RewardSampler(x, clock=lambda: 0.0)
    assert sampler.sample_secs == 60.0
    assert sampler.maybe_sample(100.0) is True  # period [60, 120)
    assert sampler.maybe_sample(119.9) is False
    due = [t for t in range(120, 181) if sampler.maybe_sample(float(t))]  # period [120, 180)
    assert len(due) == 1 and sampler.maybe_sample(float(due[0]) + 0.5) is False
    assert sampler.maybe_sample(240.0) is True  # period [180, 240) ends before 240 at the latest
    assert sampler.samples == 3


# --------------------------------------------------------------------------- the venue-shaped views


def _api(count: int = 3):
    from pmbot.sim import SimServer

    markets = [
        {
            "slug": f"paid-{i}",
            "rewards_daily_rate": 10 + i,
            "rewards_max_spread": 3.5,
            "rewards_min_size": 20,
            "volume": 1000,
        }
        for i in range(count)
    ]
    markets.append({"slug": "unpaid"})
    server = SimServer(load_sim_config({"background": False, "markets": markets}))
    return server.rest, server.exchange  # never started: no sockets, the handlers only


def _get(api, path: str, **query):
    from pmbot.sim.rest import Request

    reply = api.handle(Request("GET", path, dict(query), {}, ""))
    return reply.status, reply.body


def test_reward_listing_is_paged_like_the_clob_and_leaves_out_unpaid_markets():
    api, x = _api(250)
    seen, cursor, pages = [], "MA==", 0
    while cursor != "LTE=":
        status, body = _get(api, "/rewards/markets/current", next_cursor=cursor)
        assert status == 200 and body["count"] == len(body["data"]) <= 100
        seen += body["data"]
        cursor, pages = body["next_cursor"], pages + 1
    assert pages == 3 and len(seen) == 250
    first = seen[0]
    assert first["rewards_max_spread"] == 3.5 and first["rewards_min_size"] == 20
    assert first["rewards_config"][0]["rate_per_day"] == 10
    assert {t["outcome"] for t in first["tokens"]} == {"Yes", "No"}
    unpaid = next(m for m in x.markets.values() if m.slug == "unpaid")
    assert _get(api, f"/rewards/markets/{unpaid.condition_id}")[1]["data"] == []
    assert _get(api, "/rewards/markets/current", next_cursor="???")[0] == 400


def test_market_info_and_gamma_carry_the_reward_parameters():
    api, x = _api(1)
    paid = next(m for m in x.markets.values() if m.slug == "paid-0")
    unpaid = next(m for m in x.markets.values() if m.slug == "unpaid")
    assert _get(api, f"/clob-markets/{paid.condition_id}")[1]["r"] == {
        "mi": 20,
        "ma": 3.5,
        "e": True,
    }
    assert _get(api, f"/clob-markets/{unpaid.condition_id}")[1]["r"] is None
    rewards = _get(api, f"/markets/{paid.condition_id}")[1]["rewards"]
    assert rewards["rates"][0]["rewards_daily_rate"] == 10 and rewards["max_spread"] == 3.5
    assert _get(api, f"/markets/{unpaid.condition_id}")[1]["rewards"]["rates"] is None
    gamma = _get(api, "/gamma/markets/slug/paid-0")[1]
    assert (gamma["rewardsMinSize"], gamma["rewardsMaxSpread"], gamma["volume24hr"]) == (
        20,
        3.5,
        1000,
    )


def test_prices_history_comes_from_the_samples_and_mirrors_for_no():
    api, x = _api(1)
    m = next(m for m in x.markets.values() if m.slug == "paid-0")
    _place(x, ALICE, m.yes_token, "BUY", "0.40", 50)
    _place(x, BOB, m.no_token, "BUY", "0.56", 50)  # a YES ask at 0.44
    api.rewards.sampler.sample(60.0)
    api.rewards.sampler.sample(120.0)
    yes = _get(api, "/prices-history", market=m.yes_token)[1]["history"]
    no = _get(api, "/prices-history", market=m.no_token)[1]["history"]
    assert yes == [{"t": 60, "p": 0.42}, {"t": 120, "p": 0.42}]
    assert [p["p"] for p in no] == [0.58, 0.58]
    assert _get(api, "/prices-history", market="nope")[0] == 400


def test_reward_keys_are_checked():
    from pmbot.errors import ConfigError

    with pytest.raises(ConfigError, match="rewards_daily_rate"):
        load_sim_config({"markets": [{"slug": "x", "rewards_daily_rate": -1}]})
    with pytest.raises(ConfigError, match="rewards_min_size"):
        load_sim_config({"markets": [{"slug": "x", "rewards_min_size": "lots"}]})
