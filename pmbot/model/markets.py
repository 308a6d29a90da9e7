"""Market facts and market data: the static description of a market or event, and the book and
feed messages the market channel puts on the strategy thread's queue."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmbot.fees import WORST_CASE_RATE
from pmbot.model.vocabulary import ZERO, Outcome


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One binary market (one condition): YES and NO tokens, tick, minimum size, fees."""

    condition_id: str
    yes_token: str
    no_token: str
    tick: Decimal = Decimal("0.01")
    min_size: Decimal = Decimal(5)
    neg_risk: bool = False
    fee_rate: Decimal = ZERO  # issue 13: the CLOB's fd.r / fd.e; Gamma's only as a fallback
    fee_exponent: int = 1  # taker fee = shares * fee_rate * (p * (1 - p)) ** fee_exponent
    fee_known: bool = True  # False: neither source said; never costed as zero (see fee_terms)
    slug: str = ""
    question: str = ""
    end_date_ts: float | None = None  # unix seconds; None = unknown
    event_slug: str = ""  # the neg-risk event this market belongs to, if any
    outcome_label: str = ""  # e.g. the candidate's name inside a multi-outcome event
    # liquidity rewards (pmbot.rewards), as the venue publishes them; 0 = the market pays none
    rewards_max_spread: Decimal = ZERO  # cents from the size-adjusted midpoint
    rewards_min_size: Decimal = ZERO  # shares
    rewards_daily_rate: Decimal = ZERO  # pool per day (USD)

    def outcome_of(self, token_id: str) -> Outcome:
        if token_id == self.yes_token:
            return Outcome.YES
        if token_id == self.no_token:
            return Outcome.NO
        raise KeyError(token_id)

    def other_token(self, token_id: str) -> str:
        return self.no_token if token_id == self.yes_token else self.yes_token

    def fee_terms(self) -> tuple[Decimal, int]:
        """(rate, exponent) a cost model must assume: the market's, or the worst case
        (``pmbot.fees.WORST_CASE_RATE``, exponent 1) when its fee is unknown."""
        if not self.fee_known:
            return WORST_CASE_RATE, 1
        return self.fee_rate, self.fee_exponent


@dataclass(frozen=True, slots=True)
class EventInfo:
    """A multi-outcome (neg-risk) event: one binary market per outcome."""

    slug: str
    markets: tuple[MarketInfo, ...]
    neg_risk: bool = True
    neg_risk_augmented: bool = False


# --------------------------------------------------------------------------- inbound: market data


Level = tuple[Decimal, Decimal]  # (price, size)


@dataclass(frozen=True, slots=True)
class MarketUpdate:
    """A token's book changed. Levels are best first (bids descending, asks ascending), at most a
    few levels deep, enough for depth-aware arbitrage. ``live`` is False while the book is being
    resynced, is inconsistent or its connection is down: nothing may be quoted on it then."""

    token_id: str
    market: str  # condition id
    best_bid: Decimal | None
    best_ask: Decimal | None
    bid_size: Decimal
    ask_size: Decimal
    tick: Decimal
    live: bool
    recv_ns: int  # time.monotonic_ns() when the frame came off the socket
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    reason: str = ""  # why not live
    last_trade_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A connection's health changed (connected, disconnected, rotated for silence)."""

    connection: str
    up: bool
    reason: str = ""
