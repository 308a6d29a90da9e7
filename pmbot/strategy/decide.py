"""``decide``: the single entry point the strategy thread calls. Pure: values in, values out.

    decision = decide(StrategyInput(...), memory, params)

How the strategy thread uses it (the contract):

1. Build ``StrategyInput`` from its state after applying a batch of events:
   ``now`` (unix seconds), the quoted ``markets``, ``books`` (token -> ``BookView``; the YES book of
   each market is required, NO books are used by arbitrage when present), ``inventory`` (token ->
   shares), ``hedged`` (token -> shares held in completed arbitrage sets; treated as flat by the
   quoting skew and never sold by quotes), ``unhedged_position_usd`` (what the position limit
   reads; ``pmbot.strategy.position`` defines it), ``hedged_position_usd`` and
   ``position_value_usd`` (their sum, informational) and ``daily_pnl_usd`` from the inventory,
   ``open_orders`` (every live or pending order of the bot as ``LiveOrder``, with its tag),
   ``just_gone`` (its orders finished within the last second, maybe still on the feed's book),
   ``user_feed_up``, ``venue_mode``, ``recent_rejects`` (timestamps of rejected orders),
   ``trading_day`` (e.g. the UTC date; a change lifts the daily-loss halt), ``events`` (neg-risk
   events to watch for baskets) and ``arb_exposure_usd`` (capital in open hedged sets).
2. Call ``decide`` with the memory returned by the previous call (``StrategyMemory()`` at start).
3. If ``decision.cancel_all``: send ``CancelAll(decision.cancel_all_reason)`` first (the markets'
   decisions then treat nothing as resting: the reduce-only orders of a breach go out after it).
4. For each ``MarketDecision``: cancel ``cancel_ids``, then place ``new_orders`` (``Replace``
   batches them with cancels first); mark them pending / cancel-pending in the order tracker so
   the next call sees them (``LiveOrder.pending`` / ``cancel_pending``).
5. Send ``decision.arb_orders`` (BUY, FOK/FAK, not post-only, tag ``arb``) as one batch; feed uneven
   leg fills to ``arbitrage.plan_leg_repair``.
6. Log / export verdicts that changed (``decision.verdict`` global, ``MarketDecision.verdict`` per
   market; ``str(verdict)`` is ``quoting`` or ``paused(reason)`` etc.) and opportunities by
   ``skipped`` reason.
7. Keep ``decision.memory`` for the next call.

Per market: book health and price-jump guards, then the chosen model (``edge`` or ``avellaneda``)
computes a ladder, the extreme-price guard checks it, reduce-only near the end date filters it, and
the re-quote rule decides whether to touch the resting quotes at all; if so, ``reconcile`` diffs the
desired orders against the open ones. A paused market's desired set is empty, so its quotes are
cancelled. With the venue disabled nothing is sent (cancels would fail as well).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from pmbot.model import ZERO, EventInfo, MarketInfo, VenueMode
from pmbot.strategy import arbitrage, rewards_band, risk
from pmbot.strategy.avellaneda import avellaneda_ladder, update_variance
from pmbot.strategy.external_book import market_mid
from pmbot.strategy.params import StrategyParams
from pmbot.strategy.quoting import Ladder, edge_ladder, ladder_orders, quote_size, within_balance
from pmbot.strategy.reconcile import reconcile, resting_keys
from pmbot.strategy.requote import QuoteState, mid_bucket, requote_reason
from pmbot.strategy.views import (
    PAUSED,
    QUOTING,
    REDUCE_ONLY,
    BookView,
    DesiredOrder,
    LiveOrder,
    QuoteKey,
    Verdict,
    orders_by_market,
)


@dataclass(frozen=True, slots=True)
class StrategyInput:
    now: float
    markets: tuple[MarketInfo, ...]
    books: Mapping[str, BookView]
    inventory: Mapping[str, Decimal] = field(default_factory=dict)
    position_value_usd: Decimal = ZERO
    daily_pnl_usd: Decimal = ZERO
    open_orders: tuple[LiveOrder, ...] = ()
    user_feed_up: bool = True
    venue_mode: VenueMode = VenueMode.NORMAL
    recent_rejects: tuple[float, ...] = ()
    hedged: Mapping[str, Decimal] = field(default_factory=dict)
    trading_day: str = ""
    events: tuple[EventInfo, ...] = ()
    arb_exposure_usd: Decimal = ZERO
    unhedged_position_usd: Decimal = ZERO
    hedged_position_usd: Decimal = ZERO
    operator_paused: frozenset[str] = frozenset()  # condition ids an operator paused (ctl pause)
    # pUSD balance minus what the bot's open BUY orders lock; None = unknown (nothing capped)
    free_balance_usd: Decimal | None = None
    # own orders finished moments ago: maybe still on the feed's book (only ``market_mid`` reads)
    just_gone: tuple[LiveOrder, ...] = ()


@dataclass(frozen=True, slots=True)
class MarketMemory:
    state: QuoteState | None = None  # the re-quote state when the market was last (re)quoted
    wanted: tuple[QuoteKey, ...] = ()  # the quote set wanted then
    last_mid: Decimal | None = None
    last_mid_ts: float | None = None
    variance_per_sec: Decimal | None = None
    jump_until: float = 0.0
    # (inputs, decision) of the last call that left the quotes alone: the same inputs again give
    # the same decision, so it is reused instead of recomputed (``_unchanged``)
    reuse: tuple[tuple, MarketDecision] | None = None


@dataclass(frozen=True, slots=True)
class StrategyMemory:
    markets: Mapping[str, MarketMemory] = field(default_factory=dict)
    risk: risk.RiskMemory = field(default_factory=risk.RiskMemory)
    arb_fired: Mapping[str, float] = field(default_factory=dict)  # opportunity key -> last fired


@dataclass(frozen=True, slots=True)
class MarketDecision:
    condition_id: str
    verdict: Verdict
    cancel_ids: tuple[str, ...] = ()
    new_orders: tuple[DesiredOrder, ...] = ()
    requote_reason: str = ""  # "" = quotes left alone
    desired: tuple[DesiredOrder, ...] = ()  # what the model wants resting right now


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    markets: tuple[MarketDecision, ...]
    memory: StrategyMemory
    cancel_all: bool = False
    cancel_all_reason: str = ""
    opportunities: tuple[arbitrage.Opportunity, ...] = ()
    arb_orders: tuple[DesiredOrder, ...] = ()

    @property
    def cancel_ids(self) -> tuple[str, ...]:
        return tuple(i for m in self.markets for i in m.cancel_ids)

    @property
    def new_orders(self) -> tuple[DesiredOrder, ...]:
        return tuple(o for m in self.markets for o in m.new_orders)

    def verdict_of(self, condition_id: str) -> Verdict:
        for m in self.markets:
            if m.condition_id == condition_id:
                return m.verdict
        raise KeyError(condition_id)


def decide(inp: StrategyInput, memory: StrategyMemory, params: StrategyParams) -> Decision:
    g = risk.evaluate_global(
        now=inp.now,
        unhedged_position_usd=inp.unhedged_position_usd,
        daily_pnl_usd=inp.daily_pnl_usd,
        trading_day=inp.trading_day,
        user_feed_up=inp.user_feed_up,
        venue_mode=inp.venue_mode,
        recent_rejects=inp.recent_rejects,
        memory=memory.risk,
        params=params.risk,
    )
    if g.cancel_all:  # the engine cancels everything first: nothing of ours rests any more
        inp = replace(inp, open_orders=())
    market_decisions: list[MarketDecision] = []
    market_memory: dict[str, MarketMemory] = dict(memory.markets)
    by_market = orders_by_market(inp.markets, inp.open_orders)
    gone_by_market = orders_by_market(inp.markets, inp.just_gone)
    for market in inp.markets:
        prev = memory.markets.get(market.condition_id, MarketMemory())
        mine = tuple(by_market.get(market.condition_id, ()))
        gone = tuple(gone_by_market.get(market.condition_id, ()))
        md, mm = _decide_market(inp, market, mine, gone, prev, g.verdict, params)
        market_decisions.append(md)
        market_memory[market.condition_id] = mm
    free = inp.free_balance_usd
    if free is not None:  # new BUY quotes within the free pUSD, baskets within what is left
        market_decisions, free = _within_balance(market_decisions, free)

    opportunities: tuple[arbitrage.Opportunity, ...] = ()
    arb_orders: tuple[DesiredOrder, ...] = ()
    arb_fired = memory.arb_fired
    # Hedged sets are not directional risk: arbitrage goes on while the position limit reduces.
    arb_ok = g.verdict.state == QUOTING or g.verdict == risk.POSITION_LIMIT_VERDICT
    if params.arbitrage.enabled and arb_ok and inp.venue_mode is VenueMode.NORMAL:
        opportunities, arb_orders, arb_fired = _arbitrage(inp, memory, params, free)

    return Decision(
        verdict=g.verdict,
        markets=tuple(market_decisions),
        memory=StrategyMemory(markets=market_memory, risk=g.memory, arb_fired=arb_fired),
        cancel_all=g.cancel_all,
        cancel_all_reason=g.verdict.reason if g.cancel_all else "",
        opportunities=opportunities,
        arb_orders=arb_orders,
    )


def _decide_market(
    inp: StrategyInput,
    market: MarketInfo,
    mine: tuple[LiveOrder, ...],
    gone: tuple[LiveOrder, ...],  # own orders finished moments ago (only the market mid reads)
    prev: MarketMemory,
    global_verdict: Verdict,
    params: StrategyParams,
) -> tuple[MarketDecision, MarketMemory]:
    q, r = params.quoting, params.risk
    book = inp.books.get(market.yes_token)
    tick = book.tick if book is not None else market.tick
    problem = risk.book_problem(book, r)
    key = _inputs_key(inp, market, mine, prev, global_verdict, params, problem, gone)
    if key is not None and prev.reuse is not None and prev.reuse[0] == key:
        return prev.reuse[1], replace(prev, last_mid_ts=inp.now)
    mid = book.mid if (book is not None and not problem) else None
    seen = market_mid(book, mine + gone, market) if mid is not None else None  # without its own

    cooling, jump_until = risk.jump_cooloff(inp.now, seen, prev.last_mid, prev.jump_until, r)
    variance = prev.variance_per_sec
    if q.name == "avellaneda":
        variance = update_variance(variance, prev.last_mid, prev.last_mid_ts, seen, inp.now, q)
    verdict = risk.combine(
        global_verdict,
        problem or ("price_jump" if cooling else ""),
        risk.near_end(market, inp.now, r),
    )
    if market.condition_id in inp.operator_paused and global_verdict.may_quote:
        verdict = Verdict(PAUSED, "operator")  # no quotes: the resting ones are cancelled

    free_yes = inp.inventory.get(market.yes_token, ZERO) - inp.hedged.get(market.yes_token, ZERO)
    free_no = inp.inventory.get(market.no_token, ZERO) - inp.hedged.get(market.no_token, ZERO)
    net_yes = free_yes - free_no
    ladder = Ladder()
    band = rewards_band.band_for(market, book, mine, q) if book and mid is not None else None
    if verdict.may_quote and book is not None:
        verdict, ladder = _ladder(
            book, tick, market, verdict, net_yes, variance, inp.now, params, band
        )
    desired: tuple[DesiredOrder, ...] = ()
    if verdict.may_quote:
        desired = ladder_orders(
            market,
            ladder,
            max(free_yes, ZERO),
            reduce_only_net=net_yes if verdict.state == REDUCE_ONLY else None,
            free_no_shares=max(free_no, ZERO),
        )
    base = replace(
        prev,
        last_mid=seen if seen is not None else prev.last_mid,
        last_mid_ts=inp.now if seen is not None else prev.last_mid_ts,
        variance_per_sec=variance,
        jump_until=jump_until,
    )
    current = QuoteState(mid_bucket(mid), ladder.skew, tick, str(verdict))
    md, mm = _settle(inp, market, mine, base, current, verdict, desired, band)
    left_alone = not md.requote_reason and inp.venue_mode is not VenueMode.DISABLED
    return md, replace(mm, reuse=(key, md) if key is not None and left_alone else None)


def _inputs_key(
    inp: StrategyInput,
    market: MarketInfo,
    mine: tuple[LiveOrder, ...],
    prev: MarketMemory,
    global_verdict: Verdict,
    params: StrategyParams,
    problem: str,
    gone: tuple[LiveOrder, ...],
) -> tuple | None:
    """Everything ``edge`` quoting of one market reads, time reduced to the guards' verdicts (book
    problem incl. staleness, jump cool-off, near end). None (never reused) for ``avellaneda``,
    whose variance and horizon move with time, and for a market without a quotable book. With the
    same key and the quotes left alone last time, the full computation gives the same decision:
    the mid equals the remembered one (no new jump), the re-quote state and wanted set are kept."""
    book = inp.books.get(market.yes_token)
    if params.quoting.name != "edge" or book is None or problem:
        return None
    return (
        (book.best_bid, book.best_ask, book.bid_size, book.ask_size, book.bids, book.asks),
        (book.tick, market, params, global_verdict, inp.venue_mode, mine, gone),
        inp.now < prev.jump_until,
        risk.near_end(market, inp.now, params.risk),
        tuple(
            d.get(t, ZERO)
            for d in (inp.inventory, inp.hedged)
            for t in (market.yes_token, market.no_token)
        ),
    )


def _ladder(
    book: BookView,
    tick: Decimal,
    market: MarketInfo,
    verdict: Verdict,
    net_yes: Decimal,
    variance: Decimal | None,
    now: float,
    params: StrategyParams,
    band: rewards_band.Band | None = None,
) -> tuple[Verdict, Ladder]:
    """The model's quotes for a quotable book, or a pause when they are extreme or missing."""
    q, r = params.quoting, params.risk
    size = quote_size(q.order_size, market)
    if q.name == "avellaneda":
        v = q.initial_variance_per_sec if variance is None else variance
        ladder = avellaneda_ladder(book, tick, net_yes, size, v, market, now, q, band)
    else:
        ladder = edge_ladder(book, tick, net_yes, size, q, r)
        if band is not None:
            ladder = rewards_band.keep_in_band(ladder, band, tick, book)
    if risk.extreme_price(ladder.best_bid, ladder.best_ask, r):
        return Verdict(PAUSED, "extreme_price"), Ladder()
    if not ladder.bids and not ladder.asks:
        return Verdict(PAUSED, "no_valid_quote"), ladder
    return verdict, ladder


def _settle(
    inp: StrategyInput,
    market: MarketInfo,
    mine: tuple[LiveOrder, ...],
    base: MarketMemory,
    current: QuoteState,
    verdict: Verdict,
    desired: tuple[DesiredOrder, ...],
    band: rewards_band.Band | None = None,
) -> tuple[MarketDecision, MarketMemory]:
    """Apply the re-quote rule: leave the resting quotes alone, or reconcile them with ``desired``.
    ``base`` is the market's memory with this call's mid/variance figures, last quote state kept.
    With a rewards band, resting quotes outside it are replaced when something else is wanted."""
    if inp.venue_mode is VenueMode.DISABLED:
        return MarketDecision(market.condition_id, verdict, desired=desired), replace(
            base, state=current
        )
    quotes = [o for o in mine if o.tag == "quote"]
    resting = resting_keys(quotes)
    why = requote_reason(base.state, base.wanted, current, resting)
    if not why and band is not None and rewards_band.resting_outside(band, market, quotes):
        why = "rewards_band" if +resting != Counter(d.key for d in desired) else ""
    if not why:
        return MarketDecision(market.condition_id, verdict, desired=desired), base
    rec = reconcile(desired, quotes)
    mm = replace(base, state=current, wanted=tuple(d.key for d in desired))
    md = MarketDecision(market.condition_id, verdict, rec.cancel_ids, rec.new_orders, why, desired)
    return md, mm


def _within_balance(
    decisions: list[MarketDecision], free: Decimal
) -> tuple[list[MarketDecision], Decimal]:
    out = []
    for md in decisions:
        kept, free = within_balance(md.new_orders, free)
        out.append(md if kept == md.new_orders else replace(md, new_orders=kept))
    return out, free


def _arbitrage(
    inp: StrategyInput, memory: StrategyMemory, params: StrategyParams, free: Decimal | None
) -> tuple[tuple[arbitrage.Opportunity, ...], tuple[DesiredOrder, ...], Mapping[str, float]]:
    a = params.arbitrage
    busy_tokens = {
        o.token_id for o in inp.open_orders if o.tag in ("arb", "unwind") and not o.cancel_pending
    }
    budget = a.max_total_usd - inp.arb_exposure_usd
    found = arbitrage.scan(
        tuple(m for m in inp.markets if m.condition_id not in inp.operator_paused)
        if a.binary_markets
        else (),
        inp.events,
        inp.books,
        a,
        now_budget_usd=budget,
        stale_secs=float(params.risk.stale_book_secs),
        free_usd=free,
    )
    fired = dict(memory.arb_fired)
    out: list[arbitrage.Opportunity] = []
    orders: list[DesiredOrder] = []
    for opp in found:
        if opp.actionable:
            last = fired.get(opp.key)
            if last is not None and inp.now - last < a.arb_cooldown_secs:
                opp = opp.skip("cooldown")
            elif any(leg.token_id in busy_tokens for leg in opp.legs):
                opp = opp.skip("in_flight")
            elif opp.cost_usd + opp.fees_usd > budget or (free is not None and opp.locks > free):
                opp = opp.skip("budget")
            else:
                budget -= opp.cost_usd + opp.fees_usd
                free = None if free is None else free - opp.locks
                fired[opp.key] = inp.now
                orders.extend(opp.orders())
        out.append(opp)
    return tuple(out), tuple(orders), fired
