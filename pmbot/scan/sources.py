"""Read what the scanner needs from the venue into typed records; malformed entries are counted
and skipped (``Skipped``), never fatal.

- CLOB ``GET /rewards/markets/current`` (paged by ``next_cursor``, ``MA==`` .. ``LTE=``): reward
  parameters per condition (``rewards_max_spread`` in cents, ``rewards_min_size`` in shares,
  ``rewards_config[].rate_per_day``), shape as in Polymarket/clob-client-v2 ``MarketReward``;
- Gamma ``GET /markets?condition_ids=..`` (repeated parameter): ``volume24hr``/``volumeNum``,
  ``endDate``, ``negRisk``, ``liquidityNum``, ``clobTokenIds`` (a JSON-encoded string);
- CLOB ``POST /books`` (at most 500 tokens a call): the YES books;
- CLOB ``GET /prices-history?market=<token>&interval=1d&fidelity=1``: recent prices.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pmbot.scan.fetch import BOOKS, GAMMA, HISTORY, ScanHttp

FIRST_CURSOR, END_CURSOR = "MA==", "LTE="
MAX_PAGES = 1000
BOOKS_PER_CALL = 500
GAMMA_IDS_PER_CALL = 50


@dataclass(frozen=True, slots=True)
class RewardMarket:
    condition_id: str
    question: str
    slug: str
    yes_token: str
    no_token: str
    max_spread_cents: Decimal
    min_size: Decimal
    daily_rate: Decimal
    end_date: str = ""


@dataclass(frozen=True, slots=True)
class GammaInfo:
    volume: Decimal | None
    end_date: str
    neg_risk: bool
    tokens: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Book:
    """YES-token levels as (price, size)."""

    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    tick: Decimal


@dataclass
class Skipped:
    """Malformed venue entries by kind (reported in the scan summary)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str) -> None:
        self.counts[kind] += 1


def _dec(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        raise ValueError("not a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def _tokens(raw: Any) -> tuple[str, str] | None:
    if not isinstance(raw, list) or len(raw) != 2:
        return None
    by_outcome = {str(t.get("outcome", "")).lower(): str(t.get("token_id", "")) for t in raw}
    if by_outcome.get("yes") and by_outcome.get("no"):
        return by_outcome["yes"], by_outcome["no"]
    return str(raw[0].get("token_id", "")), str(raw[1].get("token_id", ""))


def parse_reward_market(raw: dict) -> RewardMarket:
    configs = raw.get("rewards_config") or []
    rate = sum((_dec(c.get("rate_per_day", 0)) for c in configs), Decimal(0))
    tokens = _tokens(raw.get("tokens")) or ("", "")
    end = max((str(c.get("end_date", "")) for c in configs), default="")
    return RewardMarket(
        condition_id=str(raw["condition_id"]),
        question=str(raw.get("question", "")),
        slug=str(raw.get("market_slug", "")),
        yes_token=tokens[0],
        no_token=tokens[1],
        max_spread_cents=_dec(raw["rewards_max_spread"]),
        min_size=_dec(raw["rewards_min_size"]),
        daily_rate=rate,
        end_date=end,
    )


def reward_markets(http: ScanHttp, clob_url: str, skipped: Skipped) -> list[RewardMarket]:
    out: list[RewardMarket] = []
    cursor = FIRST_CURSOR
    for _ in range(MAX_PAGES):
        page = http.get(f"{clob_url}/rewards/markets/current", {"next_cursor": cursor})
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            skipped.add("rewards_page")
            return out
        for raw in page["data"]:
            try:
                out.append(parse_reward_market(raw))
            except (KeyError, ValueError, TypeError, AttributeError):
                skipped.add("reward_market")
        nxt = page.get("next_cursor")
        if not nxt or nxt in (END_CURSOR, cursor):
            return out
        cursor = nxt
    return out


def _gamma_info(raw: dict) -> GammaInfo:
    volume = raw.get("volume24hr", raw.get("volumeNum"))
    tokens = None
    try:
        ids = json.loads(raw.get("clobTokenIds") or "[]")
        if isinstance(ids, list) and len(ids) == 2:
            tokens = (str(ids[0]), str(ids[1]))
    except (TypeError, ValueError):
        tokens = None
    return GammaInfo(
        volume=None if volume is None else _dec(volume),
        end_date=str(raw.get("endDate") or ""),
        neg_risk=bool(raw.get("negRisk", False)),
        tokens=tokens,
    )


def gamma_infos(
    http: ScanHttp, gamma_url: str, condition_ids: list[str], skipped: Skipped
) -> dict[str, GammaInfo]:
    out: dict[str, GammaInfo] = {}
    for start in range(0, len(condition_ids), GAMMA_IDS_PER_CALL):
        chunk = condition_ids[start : start + GAMMA_IDS_PER_CALL]
        params = [("condition_ids", c) for c in chunk] + [("limit", str(len(chunk)))]
        rows = http.get(f"{gamma_url}/markets", params, family=GAMMA)
        for raw in rows if isinstance(rows, list) else []:
            try:
                out[str(raw["conditionId"])] = _gamma_info(raw)
            except (KeyError, ValueError, TypeError, AttributeError):
                skipped.add("gamma_market")
    return out


def _levels(raw: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((_dec(x["price"]), _dec(x["size"])) for x in raw or ())


def books(http: ScanHttp, clob_url: str, tokens: list[str], skipped: Skipped) -> dict[str, Book]:
    out: dict[str, Book] = {}
    for start in range(0, len(tokens), BOOKS_PER_CALL):
        chunk = [{"token_id": t} for t in tokens[start : start + BOOKS_PER_CALL]]
        rows = http.post(f"{clob_url}/books", chunk, family=BOOKS)
        for raw in rows if isinstance(rows, list) else []:
            try:
                tick = _dec(raw.get("tick_size") or "0.01")
                out[str(raw["asset_id"])] = Book(_levels(raw["bids"]), _levels(raw["asks"]), tick)
            except (KeyError, ValueError, TypeError, AttributeError):
                skipped.add("book")
    return out


def price_history(http: ScanHttp, clob_url: str, token: str, skipped: Skipped) -> list[Decimal]:
    params = {"market": token, "interval": "1d", "fidelity": "1"}
    body = http.get(f"{clob_url}/prices-history", params, family=HISTORY)
    try:
        return [_dec(p["p"]) for p in body["history"]]
    except (KeyError, ValueError, TypeError):
        skipped.add("prices_history")
        return []
