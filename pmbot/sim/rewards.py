"""The simulator's liquidity-reward markets: their parameters on the venue's endpoints, and each
maker's score computed from the simulator's own book once per sampled minute.

What the venue serves (read in Polymarket/clob-client-v2 ``src/types/clob.ts`` and
py-clob-client-v2 ``client.py``):
- ``GET /rewards/markets/current`` and ``GET /rewards/markets/{condition_id}``: the CLOB's paged
  envelope (``next_cursor`` from ``MA==`` to ``LTE=``) of ``MarketReward`` objects:
  ``condition_id, question, market_slug, event_slug, rewards_max_spread, rewards_min_size,
  tokens[], rewards_config[{asset_address, start_date, end_date, rate_per_day, total_rewards}]``;
- the CLOB market object's ``rewards: {rates: [{asset_address, rewards_daily_rate}], min_size,
  max_spread}`` and the compact ``/clob-markets`` record's ``r: {mi, ma, e}`` (null if unset);
- ``GET /prices-history?market=<token>`` -> ``{"history": [{"t": unix s, "p": price}]}``.
Gamma's market object carries ``rewardsMinSize``, ``rewardsMaxSpread`` and ``volume24hr``.

Scoring follows Polymarket's liquidity-rewards documentation (see ``pmbot.rewards`` for the
quote), written again here on purpose: the sim reads its unified YES book directly (every resting
order with its maker address), so the bot's estimate can be checked against an independent count.
Sampling period: ``extra.rewards_sample_secs`` of the sim config (default 60 s, the venue's).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pmbot.sim import paging

PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
REWARDS_PAGE = 100
REWARD_KEYS = frozenset({"rewards_daily_rate", "rewards_max_spread", "rewards_min_size", "volume"})
HISTORY_POINTS = 360  # six hours of minute samples per market (bounded memory for big sims)
_C = Decimal(3)
_LOW, _HIGH = Decimal("0.10"), Decimal("0.90")


def _num(value: Decimal) -> Any:
    return int(value) if value == value.to_integral_value() else float(value)


def _dec(where: str, value: Any) -> Decimal:
    from pmbot.errors import ConfigError

    try:
        out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except ArithmeticError:
        raise ConfigError(where, f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or out < 0:
        raise ConfigError(where, f"expected a non-negative number, got {value!r}")
    return out


def with_rewards(market: Any, raw: Mapping[str, Any], where: str) -> Any:
    """A sim market with the reward keys of its YAML entry (daily pool, max spread in cents, min
    size in shares) and a reported 24 h volume."""
    fields = {k: _dec(f"{where}.{k}", raw[k]) for k in REWARD_KEYS if k in raw}
    return replace(market, **fields) if fields else market


def has_rewards(m: Any) -> bool:
    return bool(m.rewards_daily_rate > 0 and m.rewards_max_spread > 0)


# --------------------------------------------------------------------------- venue-shaped views


def clob_rewards(m: Any) -> dict:
    """The CLOB market object's ``rewards`` field."""
    rates = [{"asset_address": PUSD, "rewards_daily_rate": _num(m.rewards_daily_rate)}]
    return {
        "rates": rates if has_rewards(m) else None,
        "min_size": _num(m.rewards_min_size),
        "max_spread": _num(m.rewards_max_spread),
    }


def info_rewards(m: Any) -> dict | None:
    """The compact ``/clob-markets`` record's ``r`` (null when the market pays nothing)."""
    if not has_rewards(m):
        return None
    return {"mi": _num(m.rewards_min_size), "ma": _num(m.rewards_max_spread), "e": True}


def gamma_fields(m: Any) -> dict:
    return {
        "rewardsMinSize": _num(m.rewards_min_size),
        "rewardsMaxSpread": _num(m.rewards_max_spread),
        "volume24hr": _num(m.volume),
        "volumeNum": _num(m.volume),
    }


def market_reward(m: Any) -> dict:
    """One ``MarketReward`` of ``/rewards/markets/...``."""
    return {
        "condition_id": m.condition_id,
        "question": m.question,
        "market_slug": m.slug,
        "event_slug": m.event_slug or m.slug,
        "image": "",
        "rewards_max_spread": _num(m.rewards_max_spread),
        "rewards_min_size": _num(m.rewards_min_size),
        "tokens": [
            {"token_id": m.yes_token, "outcome": "Yes", "price": _num(m.fair_value)},
            {"token_id": m.no_token, "outcome": "No", "price": _num(1 - m.fair_value)},
        ],
        "rewards_config": [
            {
                "asset_address": PUSD,
                "start_date": "2026-01-01",
                "end_date": m.end_date_iso[:10],
                "rate_per_day": _num(m.rewards_daily_rate),
                "total_rewards": _num(m.rewards_daily_rate * 365),
            }
        ],
    }


# --------------------------------------------------------------------------- the sampler


class RewardSampler:
    """Samples every reward market of ``exchange`` once per ``sample_secs``: each maker's Q_min, its
    share of the sample, and the running sum of shares (the venue's epoch score), plus the YES mid
    for ``/prices-history``. ``maybe_sample`` is called from the sim's clock thread."""

    def __init__(
        self,
        exchange: Any,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.x = exchange
        self._rng = rng or random.Random(0)
        extra = getattr(exchange, "config", None)
        extra = getattr(extra, "extra", {}) or {}
        self.sample_secs = float(extra.get("rewards_sample_secs", 60.0))
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self.samples = 0
        self.last: dict[str, dict[str, Decimal]] = {}  # cid -> maker -> Q_min
        self.share_sum: dict[str, dict[str, Decimal]] = {}  # cid -> maker -> sum of Q_normal
        self.history: dict[str, list[tuple[int, float]]] = {}  # cid -> [(t, yes mid)]

    def maybe_sample(self, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        if now < self._next:
            return False
        self.sample(now)
        # one sample in each period, at a random moment of it ("calculated every minute using
        # random sampling", the venue's docs)
        period = self.sample_secs
        self._next = (math.floor(now / period) + 1) * period + self._rng.uniform(0, period)
        return True

    def sample(self, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        # Both locks (always in this order; the exchange never takes ours): a report that shows
        # sample n shows the scores of the book as it was when sample n was taken.
        with self._lock, self.x.lock:
            books = {cid: (m, self.x._books[cid]) for cid, m in self.x.markets.items()}
            scored = {cid: _score_book(m, book) for cid, (m, book) in books.items()}
            self.samples += 1
            for cid, (mid, scores) in scored.items():
                if mid is not None:
                    hist = self.history.setdefault(cid, [])
                    hist.append((int(now), float(mid)))
                    del hist[:-HISTORY_POINTS]
                if not has_rewards(books[cid][0]):
                    continue
                self.last[cid] = scores
                total = sum(scores.values(), Decimal(0))
                sums = self.share_sum.setdefault(cid, {})
                for maker, q in scores.items():
                    if total > 0:
                        sums[maker] = sums.get(maker, Decimal(0)) + q / total

    def report(self, maker: str | None = None) -> dict:
        with self._lock:
            out: dict[str, Any] = {"samples": self.samples, "markets": {}}
            for cid, scores in self.last.items():
                total = sum(scores.values(), Decimal(0))
                picked = {a: q for a, q in scores.items() if maker is None or a == maker.lower()}
                out["markets"][cid] = {
                    "total_q_min": str(total),
                    "makers": {
                        a: {
                            "q_min": str(q),
                            "share": str(q / total if total > 0 else Decimal(0)),
                            "share_sum": str(self.share_sum.get(cid, {}).get(a, Decimal(0))),
                        }
                        for a, q in picked.items()
                    },
                }
            return out

    def prices_history(self, cid: str, is_yes: bool) -> list[dict]:
        with self._lock:
            points = list(self.history.get(cid, ()))
        return [{"t": t, "p": p if is_yes else round(1 - p, 6)} for t, p in points]


def _score_book(m: Any, book: Any) -> tuple[Decimal | None, dict[str, Decimal]]:
    """(adjusted YES mid, maker address -> Q_min) for one unified book."""
    cutoff = m.rewards_min_size
    good_bids = [p for p in book.bid_prices if book.bid_total[p] >= cutoff]
    good_asks = [p for p in book.ask_prices if book.ask_total[p] >= cutoff]
    if not good_bids or not good_asks:
        return None, {}
    mid = (good_bids[-1] + good_asks[0]) / 2
    if not has_rewards(m):
        return mid, {}
    v = m.rewards_max_spread
    sides: dict[str, list[Decimal]] = {}  # maker -> [bid points, ask points]
    for order in book.orders():
        size = order.remaining
        distance = abs(order.yes_price - mid) * 100
        if size < cutoff or distance >= v:
            continue
        points = sides.setdefault(order.address, [Decimal(0), Decimal(0)])
        points[0 if order.yes_side == "BUY" else 1] += (1 - distance / v) ** 2 * size
    two_sided_only = not (_LOW <= mid <= _HIGH)
    scores = {}
    for maker, (bid_pts, ask_pts) in sides.items():
        both = min(bid_pts, ask_pts)
        scores[maker] = both if two_sided_only else max(both, bid_pts / _C, ask_pts / _C)
    return mid, {a: q for a, q in scores.items() if q > 0}


# --------------------------------------------------------------------------- endpoints


class RewardRoutes:
    """The reward endpoints, for the REST route table; ``reply(status, body)`` builds the
    transport's reply (``pmbot.sim.rest.Reply``). ``sampler`` is driven by the sim's clock."""

    def __init__(self, exchange: Any, reply: Callable[[int, Any], Any]) -> None:
        self.x = exchange
        self._reply = reply
        self.sampler = RewardSampler(exchange)

    def maybe_sample(self) -> bool:
        return self.sampler.maybe_sample()

    def current(self, req: Any) -> Any:
        """``GET /rewards/markets/current``: every reward market, paged."""
        return self._listing(req, None)

    def market(self, req: Any, condition_id: str) -> Any:
        """``GET /rewards/markets/{condition_id}``: the same envelope, that market only."""
        return self._listing(req, condition_id)

    def _listing(self, req: Any, condition_id: str | None) -> Any:
        markets = [m for m in list(self.x.markets.values()) if has_rewards(m)]
        if condition_id is not None:
            markets = [m for m in markets if m.condition_id == condition_id]
        rows = [market_reward(m) for m in markets]
        try:
            page = paging.paginate(rows, req.query.get("next_cursor"), REWARDS_PAGE)
        except ValueError:
            return self._reply(400, {"error": "invalid next_cursor"})
        return self._reply(200, page)

    def prices_history(self, req: Any) -> Any:
        """``GET /prices-history?market=<token>``: the sampled mids (NO mirrored)."""
        token = req.query.get("market", "")
        try:
            market = self.x.market_of_token(token)
        except KeyError:
            return self._reply(400, {"error": "invalid market"})
        history = self.sampler.prices_history(market.condition_id, token == market.yes_token)
        return self._reply(200, {"history": history})

    def scores(self, req: Any) -> Any:
        """``GET /_sim/rewards[?maker=0x..]``: the last sample's scores and the summed shares."""
        return self._reply(200, self.sampler.report(req.query.get("maker")))
