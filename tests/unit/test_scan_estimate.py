"""pmbot.scan.estimate: the reward-per-$100 estimate against hand computations.

Rules relied on (docs.polymarket.com/market-makers/liquidity-rewards): "S(v,s) = ((v-s)/v)^2 * b",
"v | Max spread from midpoint (in cents)", "s | Spread from size-cutoff-adjusted midpoint",
"Q_min = max(min(Q_one, Q_two), max(Q_one/c, Q_two/c))" in [0.10, 0.90]; and the pool split by
"Q_normal = Q_min / sum of Q_min" (the resting book is taken as the competition).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from pmbot.scan import estimate as e
from pmbot.scan.sources import Book, GammaInfo, RewardMarket

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def market(v="3", min_size="10", rate="100", cid="0xa") -> RewardMarket:
    return RewardMarket(cid, "q", "slug", "1", "2", D(v), D(min_size), D(rate), "2026-12-31")


BOOK_A = Book(
    bids=((D("0.47"), D(50)), (D("0.48"), D(100))),
    asks=((D("0.53"), D(50)), (D("0.52"), D(100))),
    tick=D("0.01"),
)


def test_hand_computation():
    opts = e.ScanOptions(quote_size=D(20), distance_cents=D(1))
    gamma = GammaInfo(volume=D(5000), end_date="2026-12-16T00:00:00Z", neg_risk=True)
    row = e.evaluate(market(), BOOK_A, gamma, opts, NOW)
    assert isinstance(row, e.ScanRow)
    assert (row.mid, row.bid, row.ask, row.size) == (D("0.50"), D("0.49"), D("0.51"), D(20))
    assert row.my_q == (D(2) / 3) ** 2 * 20  # both sides equal: min wins over a third
    assert row.competition_q == (D(1) / 3) ** 2 * 100  # 0.48/0.52 at 2c; 0.47/0.53 on the edge
    assert abs(row.share - D(80) / 180) < D("1e-20")
    assert row.capital == D("19.6")  # 20 * 0.49 + 20 * (1 - 0.51)
    assert abs(row.reward_per_day - D(100) * 4 / 9) < D("1e-20")
    assert abs(row.reward_per_100 - D(100) * 4 / 9 * 100 / D("19.6")) < D("1e-20")
    assert row.spread_cents == D(4)
    assert row.depth_in_band == D(200)  # 0.47/0.53 sit exactly on the band edge
    assert (row.volume, row.days_to_end, row.neg_risk) == (D(5000), D(10), True)


def test_quotes_round_away_from_the_mid_to_the_tick():
    book = Book(((D("0.40"), D(50)),), ((D("0.45"), D(50)),), D("0.01"))
    row = e.evaluate(market(v="4"), book, None, e.ScanOptions(), NOW)
    assert isinstance(row, e.ScanRow)
    assert (row.mid, row.bid, row.ask, row.size) == (D("0.425"), D("0.41"), D("0.44"), D(10))


def test_unquotable_markets_give_a_reason():
    one_sided = Book(((D("0.40"), D(50)),), (), D("0.01"))
    assert e.evaluate(market(), None, None, e.ScanOptions(), NOW) == "no book"
    assert isinstance(e.evaluate(market(), one_sided, None, e.ScanOptions(), NOW), str)
    small = Book(((D("0.40"), D(5)),), ((D("0.45"), D(5)),), D("0.01"))
    assert isinstance(e.evaluate(market(), small, None, e.ScanOptions(), NOW), str)


def test_weights_filters_and_ranking():
    opts = e.ScanOptions(w_volatility=D(10), max_volatility_cents=D(2), allow_neg_risk=False)
    row = e.evaluate(market(), BOOK_A, None, opts, NOW)
    assert isinstance(row, e.ScanRow)
    calm = e.rescore(row, opts, D("0.5"))
    assert calm.score == row.reward_per_100 - 5
    assert e.passes(calm, opts)
    assert not e.passes(e.rescore(row, opts, D(3)), opts)
    other = e.rescore(
        e.evaluate(market(rate="300", cid="0xb"), BOOK_A, None, opts, NOW), opts, D("0.5")
    )
    assert [r.market.condition_id for r in e.rank([calm, other])] == ["0xb", "0xa"]


def test_volatility_is_the_deviation_of_moves_in_cents():
    assert e.volatility_cents([D("0.5"), D("0.5")]) is None
    assert e.volatility_cents([D("0.50"), D("0.51"), D("0.50"), D("0.51")]) == D(1)
    assert e.volatility_cents([D("0.50"), D("0.52"), D("0.52")]) == D(2).sqrt().quantize(
        D("0.0001")
    )
