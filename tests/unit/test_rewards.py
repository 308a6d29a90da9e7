"""pmbot.rewards against Polymarket's liquidity-rewards documentation.

Source quoted (docs.polymarket.com/market-makers/liquidity-rewards, "Equations" and "Worked
Example"):
  "S(v,s) = ((v-s)/v)^2 * b"
  "Q_one = S(v,Spread_m1) * BidSize_m1 + ... + S(v,Spread_m'1) * AskSize_m'1 + ..."
  "Q_two = S(v,Spread_m1) * AskSize_m1 + ... + S(v,Spread_m'1) * BidSize_m'1 + ..."
  "If midpoint is in range [0.10, 0.90] -- single-sided liquidity can score:
   Q_min = max(min(Q_one, Q_two), max(Q_one/c, Q_two/c))"
  "If midpoint is in range [0, 0.10) or (0.90, 1.0] -- liquidity must be double-sided to score:
   Q_min = min(Q_one, Q_two)"
  "c | Scaling factor (currently 3.0 on all markets)"
  Worked example: "adjusted market midpoint of 0.50 and a max spread config of 3 cents";
  Q_ne = ((3-1)/3)^2*100 + ((3-2)/3)^2*200 + ((3-1)/3)^2*100
  Q_no = ((3-1.5)/3)^2*100 + ((3-2)/3)^2*100 + ((3-.5)/3)^2*200
Note: the example's second side lists "bid on m @ 0.485" and "ask on m' @ 0.505", which its own
Equation 3 would put on the FIRST side; the test keeps the example's spreads and sizes and places
them as Equation 3 says (asks on m, bids on m').
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pmbot import rewards as r

V3 = r.RewardParams(max_spread_cents=D(3), min_size=D(10))


def close(a: D, b: D, eps: str = "1e-9") -> bool:
    return abs(a - b) < D(eps)


def test_order_score_is_quadratic_in_distance_and_linear_in_size():
    assert r.order_score(D(3), D(0), D(100)) == D(100)
    assert close(r.order_score(D(3), D(1), D(100)), D(400) / 9)
    assert close(r.order_score(D(3), D(2), D(200)), D(200) / 9)
    assert r.order_score(D(3), D(3), D(100)) == 0  # the edge scores nothing
    assert r.order_score(D(3), D(4), D(100)) == 0
    assert r.order_score(D(3), D(-1), D(100)) == r.order_score(D(3), D(1), D(100))


def test_worked_example_side_scores_and_minimum():
    mid = D("0.50")
    first = [
        r.Quote(r.BUY, D("0.49"), D(100)),  # bid on m, 1 cent
        r.Quote(r.BUY, D("0.48"), D(200)),  # bid on m, 2 cents
        r.yes_terms(False, r.SELL, D("0.51"), D(100)),  # ask on m' @0.51 = YES bid 0.49
    ]
    second = [
        r.Quote(r.SELL, D("0.515"), D(100)),  # 1.5 cents
        r.yes_terms(False, r.BUY, D("0.48"), D(100)),  # bid on m' @0.48 = YES ask 0.52, 2 cents
        r.Quote(r.SELL, D("0.505"), D(200)),  # 0.5 cents
    ]
    q_one, q_two = r.side_scores(first + second, mid, V3)
    q_ne = (D(2) / 3) ** 2 * 100 + (D(1) / 3) ** 2 * 200 + (D(2) / 3) ** 2 * 100
    q_no = (D("1.5") / 3) ** 2 * 100 + (D(1) / 3) ** 2 * 100 + (D("2.5") / 3) ** 2 * 200
    assert close(q_one, q_ne) and close(q_two, q_no)
    assert close(q_ne, D(1000) / 9) and close(q_no, D(175))
    # mid 0.50 is inside [0.10, 0.90]: max(min(Qne, Qno), max(Qne, Qno)/3) = Qne
    assert close(r.maker_score(first + second, mid, V3), q_ne)


@pytest.mark.parametrize(
    "mid, expected",
    [
        (D("0.50"), D(30) / 3),  # single-sided: a third
        (D("0.10"), D(30) / 3),  # the range is closed
        (D("0.90"), D(30) / 3),
        (D("0.09"), D(0)),  # outside: two-sided only
        (D("0.95"), D(0)),
    ],
)
def test_single_side_scores_a_third_only_near_the_middle(mid, expected):
    assert r.q_min(D(30), D(0), mid) == expected


def test_two_sided_takes_the_smaller_side_when_it_beats_a_third():
    assert r.q_min(D(30), D(20), D("0.5")) == D(20)
    assert r.q_min(D(30), D(5), D("0.5")) == D(10)  # 30/3 beats min(30, 5)
    assert r.q_min(D(30), D(5), D("0.05")) == D(5)


def test_orders_below_min_size_do_not_score():
    quotes = [r.Quote(r.BUY, D("0.49"), D(9)), r.Quote(r.SELL, D("0.51"), D(10))]
    q_one, q_two = r.side_scores(quotes, D("0.50"), V3)
    assert q_one == 0 and close(q_two, D(40) / 9)


def test_no_token_orders_land_on_the_mirrored_side():
    assert r.yes_terms(False, r.BUY, D("0.40"), D(5)) == r.Quote(r.SELL, D("0.60"), D(5))
    assert r.yes_terms(False, r.SELL, D("0.40"), D(5)) == r.Quote(r.BUY, D("0.60"), D(5))
    assert r.yes_terms(True, r.BUY, D("0.40"), D(5)) == r.Quote(r.BUY, D("0.40"), D(5))


def test_adjusted_midpoint_ignores_levels_below_the_size_cutoff():
    bids = [(D("0.48"), D(50)), (D("0.49"), D(3))]
    asks = [(D("0.53"), D(50)), (D("0.51"), D(2))]
    assert r.adjusted_midpoint(bids, asks, D(10)) == D("0.505")
    assert r.adjusted_midpoint(bids, asks, D(1)) == D("0.50")
    assert r.adjusted_midpoint(bids, [], D(1)) is None


def test_share_of_the_sample():
    assert r.share(D(1), D(3)) == D("0.25")
    assert r.share(D(0), D(0)) == 0
