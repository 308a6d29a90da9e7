"""Risk guards for every quoting model. Each guard fails closed and names its reason.

Global guards (first match names the verdict; all of them update their memory every call):

- ``venue_disabled``      venue trading disabled: halted, nothing can be sent (cancels would fail
                          too).
- ``daily_loss_limit``    daily P&L <= -limit: cancel all and halt until the trading day changes
                          (``StrategyInput.trading_day``; with a constant day: until restart).
- ``venue_cancel_only``   the venue accepts only cancels: no new quotes.
- ``user_feed_down``      fills cannot be seen: no new quotes (resting quotes are cancelled, since
                          inventory is unknown until the channel is back and reconciled).
- ``reject_breaker``      ``reject_breaker_count`` rejects within the window: pause for the
                          cool-off; only rejects after the last trip count toward the next one.
- ``position_limit``      unhedged position value (``pmbot.strategy.position``; hedged sets do not
                          count) > ``max_position_size_usd``: cancel all once, then reduce-only
                          (every market quotes only what shrinks its unhedged position) until the
                          value is back under ``resume_fraction`` * limit (hysteresis). Evaluated
                          last among the global guards because it still lets orders out.

Per-market guards: ``no_book`` / ``not_live`` / ``stale_book`` / ``one_sided_book`` /
``crossed_book`` (inconsistent book), ``price_jump`` (the mid moved >= ``jump_threshold`` since the
last decision: cool off), ``extreme_price`` (computed bid <= ``min_bid`` or ask >= ``max_ask``), and
``near_end`` (reduce-only within ``reduce_only_before_end_secs`` of the end date).

``cancel_all`` is asked for once, on the transition into a guard that requires it; while the guard
holds, the per-market reconcile keeps cancelling anything that still rests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import MarketInfo, VenueMode
from pmbot.strategy.params import RiskParams
from pmbot.strategy.views import HALTED, PAUSED, QUOTING_VERDICT, REDUCE_ONLY, BookView, Verdict

CANCEL_ALL_REASONS = frozenset({"daily_loss_limit", "position_limit"})
POSITION_LIMIT_VERDICT = Verdict(REDUCE_ONLY, "position_limit")


@dataclass(frozen=True, slots=True)
class RiskMemory:
    position_reducing: bool = False
    halted_day: str | None = None  # the trading day the daily loss limit tripped on
    breaker_until: float = 0.0
    breaker_tripped_at: float | None = None
    last_global: str = "quoting"


@dataclass(frozen=True, slots=True)
class GlobalRisk:
    verdict: Verdict
    cancel_all: bool
    memory: RiskMemory


def evaluate_global(
    *,
    now: float,
    unhedged_position_usd: Decimal,
    daily_pnl_usd: Decimal,
    trading_day: str,
    user_feed_up: bool,
    venue_mode: VenueMode,
    recent_rejects: Sequence[float],
    memory: RiskMemory,
    params: RiskParams,
) -> GlobalRisk:
    # daily loss: halt until the day changes
    halted_day = memory.halted_day
    if halted_day is not None and halted_day != trading_day:
        halted_day = None
    if daily_pnl_usd <= -params.daily_loss_limit_usd:
        halted_day = trading_day
    daily_halt = halted_day is not None

    position_reducing = _position_reducing(unhedged_position_usd, memory.position_reducing, params)
    breaker_until, tripped_at = _breaker(now, recent_rejects, memory, params)
    breaker = now < breaker_until

    if venue_mode is VenueMode.DISABLED:
        verdict = Verdict(HALTED, "venue_disabled")
    elif daily_halt:
        verdict = Verdict(HALTED, "daily_loss_limit")
    elif venue_mode is VenueMode.CANCEL_ONLY:
        verdict = Verdict(PAUSED, "venue_cancel_only")
    elif not user_feed_up:
        verdict = Verdict(PAUSED, "user_feed_down")
    elif breaker:
        verdict = Verdict(PAUSED, "reject_breaker")
    elif position_reducing:
        verdict = POSITION_LIMIT_VERDICT
    else:
        verdict = QUOTING_VERDICT
    label = str(verdict)
    cancel_all = verdict.reason in CANCEL_ALL_REASONS and label != memory.last_global
    new_memory = RiskMemory(
        position_reducing=position_reducing,
        halted_day=halted_day,
        breaker_until=breaker_until,
        breaker_tripped_at=tripped_at,
        last_global=label,
    )
    return GlobalRisk(verdict=verdict, cancel_all=cancel_all, memory=new_memory)


def _position_reducing(unhedged_usd: Decimal, reducing: bool, params: RiskParams) -> bool:
    """Past the limit: reduce until under ``resume_fraction`` of it (hysteresis)."""
    limit = params.max_position_size_usd
    if reducing:
        return unhedged_usd >= limit * params.resume_fraction
    return unhedged_usd > limit


def _breaker(
    now: float, recent_rejects: Sequence[float], memory: RiskMemory, params: RiskParams
) -> tuple[float, float | None]:
    """(cool-off end, last trip time) of the reject-rate breaker; rejects before the last trip
    never count toward the next one."""
    breaker_until, tripped_at = memory.breaker_until, memory.breaker_tripped_at
    if now >= breaker_until:
        window_start = now - float(params.reject_breaker_window_secs)
        counted = [
            t for t in recent_rejects if t > window_start and (tripped_at is None or t > tripped_at)
        ]
        if len(counted) >= params.reject_breaker_count:
            breaker_until = now + float(params.reject_cooloff_secs)
            tripped_at = now
    return breaker_until, tripped_at


def book_problem(book: BookView | None, params: RiskParams) -> str:
    """Why this YES book cannot be quoted, or "" when it can."""
    if book is None:
        return "no_book"
    if not book.live:
        return "not_live"
    if book.age_secs > float(params.stale_book_secs):
        return "stale_book"
    if book.best_bid is None or book.best_ask is None:
        return "one_sided_book"
    if book.best_bid >= book.best_ask:
        return "crossed_book"
    return ""


def jump_cooloff(
    now: float, mid: Decimal | None, last_mid: Decimal | None, jump_until: float, params: RiskParams
) -> tuple[bool, float]:
    """(cooling off?, new cool-off end). A mid move of at least ``jump_threshold`` restarts it."""
    if mid is not None and last_mid is not None and abs(mid - last_mid) >= params.jump_threshold:
        jump_until = now + float(params.jump_cooloff_secs)
    return now < jump_until, jump_until


def extreme_price(bid: Decimal | None, ask: Decimal | None, params: RiskParams) -> bool:
    """The seed's rule: no quoting while the computed bid <= min_bid or ask >= max_ask."""
    return (bid is not None and bid <= params.min_bid) or (
        ask is not None and ask >= params.max_ask
    )


def near_end(market: MarketInfo, now: float, params: RiskParams) -> bool:
    if market.end_date_ts is None:
        return False
    return market.end_date_ts - now <= float(params.reduce_only_before_end_secs)


def combine(global_verdict: Verdict, market_reason: str, reduce_only: bool) -> Verdict:
    """The market's verdict: a global stop wins, then a market pause, then a global reduce-only
    (``reduce_only(position_limit)``), then the market's own reduce-only (``near_end``)."""
    if not global_verdict.may_quote:
        return global_verdict
    if market_reason:
        return Verdict(PAUSED, market_reason)
    if global_verdict.state == REDUCE_ONLY:
        return global_verdict
    if reduce_only:
        return Verdict(REDUCE_ONLY, "near_end")
    return QUOTING_VERDICT
