"""One scan: reward markets -> Gamma data -> books -> estimates -> price history for the leaders
-> the final ranking. Requests go through one ``ScanHttp`` (cached, rate-limited)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from pmbot.scan import sources
from pmbot.scan.estimate import (
    ScanOptions,
    ScanRow,
    evaluate,
    passes,
    rank,
    rescore,
    volatility_cents,
)
from pmbot.scan.fetch import ScanHttp


@dataclass
class ScanResult:
    rows: list[ScanRow]
    reward_markets: int
    not_estimated: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    wall_secs: float = 0.0

    def summary(self) -> dict:
        return {
            "reward_markets": self.reward_markets,
            "ranked": len(self.rows),
            "not_estimated": self.not_estimated,
            "malformed_skipped": self.skipped,
            "requests": self.requests,
            "wall_secs": round(self.wall_secs, 3),
        }


def _estimate_all(
    markets: list[sources.RewardMarket],
    gamma: dict[str, sources.GammaInfo],
    books: dict[str, sources.Book],
    opts: ScanOptions,
    now: datetime,
) -> tuple[list[ScanRow], dict[str, int]]:
    rows: list[ScanRow] = []
    reasons: dict[str, int] = {}
    for m in markets:
        got = evaluate(m, books.get(m.yes_token), gamma.get(m.condition_id), opts, now)
        if isinstance(got, str):
            reasons[got] = reasons.get(got, 0) + 1
        else:
            rows.append(got)
    return rows, reasons


def _fill_tokens(
    markets: list[sources.RewardMarket], gamma: dict[str, sources.GammaInfo]
) -> list[sources.RewardMarket]:
    """The venue's reward listing may omit tokens; Gamma's ``clobTokenIds`` fills them in."""
    out = []
    for m in markets:
        info = gamma.get(m.condition_id)
        if not (m.yes_token and m.no_token) and info is not None and info.tokens:
            m = replace(m, yes_token=info.tokens[0], no_token=info.tokens[1])
        if m.yes_token and m.no_token:
            out.append(m)
    return out


def run_scan(
    http: ScanHttp,
    clob_url: str,
    gamma_url: str,
    opts: ScanOptions,
    *,
    history_top: int = 50,
    now: datetime | None = None,
) -> ScanResult:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    clob_url, gamma_url = clob_url.rstrip("/"), gamma_url.rstrip("/")
    skipped = sources.Skipped()
    markets = [
        m
        for m in sources.reward_markets(http, clob_url, skipped)
        if m.daily_rate >= opts.min_daily_rate
    ]
    gamma = sources.gamma_infos(http, gamma_url, [m.condition_id for m in markets], skipped)
    markets = _fill_tokens(markets, gamma)
    books = sources.books(http, clob_url, [m.yes_token for m in markets], skipped)
    rows, reasons = _estimate_all(markets, gamma, books, opts, now)
    leaders = rank([r for r in rows if passes(r, opts)])
    final = []
    for i, row in enumerate(leaders):
        if i < history_top:
            prices = sources.price_history(http, clob_url, row.market.yes_token, skipped)
            row = rescore(row, opts, volatility_cents(prices))
        if passes(row, opts):
            final.append(row)
    return ScanResult(
        rows=rank(final),
        reward_markets=len(markets),
        not_estimated=reasons,
        skipped=dict(skipped.counts),
        requests=dict(http.requests),
        wall_secs=time.perf_counter() - started,
    )
