"""The bot's own liquidity-reward estimate per reward market, by the venue's formula
(``pmbot.rewards``): ``pmbot_reward_score`` and ``pmbot_reward_share_estimate``. Refreshed at most
once a second (the venue samples once a minute)."""

from __future__ import annotations

import time

from pmbot import rewards
from pmbot.model import ZERO
from pmbot.trading.context import Books, MarketIndex
from pmbot.trading.orders import OrderTracker
from pmbot.trading.ports import TradingMetrics

REFRESH_SECS = 1.0


class RewardGauges:
    def __init__(self, index: MarketIndex, books: Books, tracker: OrderTracker) -> None:
        self.index = index
        self.books = books
        self.tracker = tracker
        self._last = 0.0

    def publish(self, metrics: TradingMetrics) -> None:
        if time.monotonic() - self._last < REFRESH_SECS:
            return
        self._last = time.monotonic()
        own: dict[str, list[rewards.Quote]] = {}
        for t in self.tracker.all():
            mk = self.index.by_cid.get(t.order.market)
            if mk is not None and t.order_id:  # acknowledged: resting on the venue's book
                is_yes = t.order.token_id == mk.yes_token
                q = rewards.yes_terms(is_yes, t.order.side.value, t.order.price, t.remaining)
                own.setdefault(mk.condition_id, []).append(q)
        for cid, mk in self.index.by_cid.items():
            book = self.books.latest.get(mk.yes_token)
            if mk.rewards_max_spread <= ZERO or book is None:
                continue
            est = rewards.own_estimate(mk, book.bids, book.asks, own.get(cid, ()))
            metrics.reward_score.labels(market=cid).set(float(est.score) if est else 0.0)
            metrics.reward_share_estimate.labels(market=cid).set(float(est.share) if est else 0.0)
