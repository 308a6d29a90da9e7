"""The scanner's pure core: for one reward market, what a two-sided quote of ``quote_size`` shares
``distance_cents`` from the adjusted midpoint would earn per day per $100 of capital, and the risk
next to it. No I/O; every figure is exact (Decimal) so a test can compare it with a hand count.

Estimate, per market (``pmbot.rewards`` holds the venue's formula):
- mid = the size-cutoff-adjusted midpoint of the YES book;
- my quotes: a YES bid at mid - d rounded DOWN to the tick and a YES ask at mid + d rounded UP
  (the ask is a NO bid at 1 - ask), each ``max(quote_size, rewards_min_size)`` shares;
- mine = Q_min of those quotes; competition = Q_min of the whole resting book taken as one maker
  (the book does not say who owns what, so this is the score already resting inside the band);
- reward/day = daily pool * mine / (mine + competition);
- capital = size * bid + size * (1 - ask) (buying YES and NO at the quoted prices);
- reward per $100 = reward/day * 100 / capital.
Ranking score = reward per $100 - w_volatility * volatility (cents) - w_spread * spread (cents).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from pmbot import rewards
from pmbot.scan.sources import Book, GammaInfo, RewardMarket

ZERO, ONE, CENTS = Decimal(0), Decimal(1), Decimal(100)


@dataclass(frozen=True, slots=True)
class ScanOptions:
    quote_size: Decimal = ZERO  # 0 = each market's reward min size
    distance_cents: Decimal = ONE
    min_daily_rate: Decimal = ZERO
    min_days: Decimal = ZERO
    max_volatility_cents: Decimal | None = None
    min_volume: Decimal = ZERO
    allow_neg_risk: bool = True
    w_volatility: Decimal = ZERO
    w_spread: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ScanRow:
    market: RewardMarket
    mid: Decimal
    bid: Decimal
    ask: Decimal
    size: Decimal
    capital: Decimal
    my_q: Decimal
    competition_q: Decimal
    share: Decimal
    reward_per_day: Decimal
    reward_per_100: Decimal
    spread_cents: Decimal | None
    depth_in_band: Decimal
    volatility_cents: Decimal | None
    volume: Decimal | None
    days_to_end: Decimal | None
    neg_risk: bool
    score: Decimal


def _round_to(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding=rounding) * tick


def days_until(end: str, now: datetime) -> Decimal | None:
    if not end:
        return None
    try:
        when = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Decimal(str(round((when - now).total_seconds() / 86400, 2)))


def volatility_cents(prices: list[Decimal]) -> Decimal | None:
    """Root mean square of successive price changes, in cents (no drift removed: a steady trend
    is risk to a quoter too); None with fewer than 3 points."""
    if len(prices) < 3:
        return None
    moves = [(b - a) * CENTS for a, b in zip(prices, prices[1:], strict=False)]
    mean_square = sum((m * m for m in moves), ZERO) / len(moves)
    return mean_square.sqrt().quantize(Decimal("0.0001"))


def _book_quotes(book: Book) -> list[rewards.Quote]:
    bids = [rewards.Quote(rewards.BUY, p, s) for p, s in book.bids]
    return bids + [rewards.Quote(rewards.SELL, p, s) for p, s in book.asks]


def evaluate(
    m: RewardMarket, book: Book | None, gamma: GammaInfo | None, opts: ScanOptions, now: datetime
) -> ScanRow | str:
    """A row, or the reason the market cannot be estimated."""
    if book is None:
        return "no book"
    mid = rewards.adjusted_midpoint(book.bids, book.asks, m.min_size)
    if mid is None:
        return "no two-sided book at the reward min size"
    d = opts.distance_cents / CENTS
    bid = _round_to(mid - d, book.tick, ROUND_FLOOR)
    ask = _round_to(mid + d, book.tick, ROUND_CEILING)
    if bid < book.tick or ask > ONE - book.tick:
        return "the quote would leave the price range"
    size = max(opts.quote_size, m.min_size)
    params = rewards.RewardParams(m.max_spread_cents, m.min_size, m.daily_rate)
    mine = rewards.maker_score(
        [rewards.Quote(rewards.BUY, bid, size), rewards.Quote(rewards.SELL, ask, size)], mid, params
    )
    others = rewards.maker_score(_book_quotes(book), mid, params)
    share = rewards.share(mine, others)
    capital = size * bid + size * (ONE - ask)
    per_day = m.daily_rate * share
    band = m.max_spread_cents / CENTS
    best_bid = max((p for p, _ in book.bids), default=None)
    best_ask = min((p for p, _ in book.asks), default=None)
    spread = None if best_bid is None or best_ask is None else (best_ask - best_bid) * CENTS
    depth = sum((s for p, s in book.bids + book.asks if abs(p - mid) < band), ZERO)
    end = (gamma.end_date if gamma else "") or m.end_date
    row = ScanRow(
        market=m,
        mid=mid,
        bid=bid,
        ask=ask,
        size=size,
        capital=capital,
        my_q=mine,
        competition_q=others,
        share=share,
        reward_per_day=per_day,
        reward_per_100=per_day * CENTS / capital if capital > 0 else ZERO,
        spread_cents=spread,
        depth_in_band=depth,
        volatility_cents=None,
        volume=gamma.volume if gamma else None,
        days_to_end=days_until(end, now),
        neg_risk=gamma.neg_risk if gamma else False,
        score=ZERO,
    )
    return rescore(row, opts)


def rescore(row: ScanRow, opts: ScanOptions, volatility: Decimal | None = None) -> ScanRow:
    vol = volatility if volatility is not None else row.volatility_cents
    score = row.reward_per_100
    score -= opts.w_volatility * (vol or ZERO)
    score -= opts.w_spread * (row.spread_cents or ZERO)
    return replace(row, volatility_cents=vol, score=score)


def passes(row: ScanRow, opts: ScanOptions) -> bool:
    if row.market.daily_rate < opts.min_daily_rate:
        return False
    if row.neg_risk and not opts.allow_neg_risk:
        return False
    if opts.min_days > 0 and (row.days_to_end is None or row.days_to_end < opts.min_days):
        return False
    if opts.min_volume > 0 and (row.volume is None or row.volume < opts.min_volume):
        return False
    limit = opts.max_volatility_cents
    return not (
        limit is not None and row.volatility_cents is not None and row.volatility_cents > limit
    )


def rank(rows: list[ScanRow]) -> list[ScanRow]:
    return sorted(rows, key=lambda r: (-r.score, -r.reward_per_100, r.market.condition_id))
