"""The strategy thread's side of the on-chain work (single writer: the strategy thread).

The engine owns an ``OnchainDesk``. It tells the desk what happened (an arbitrage set completed,
a market resolved, a settlement or failure arrived on the inbound queue); on each decision tick
the desk plans (pmbot.onchain.planner) and submits intents to the worker. A settlement becomes
two synthetic SELL fills, fee 0, whose notionals add up exactly to the pUSD received (a merge
books $1 per set; a redeem books the payout), so inventory, P&L and the fills journal take it
through the ordinary fill path. Their trade ids (``onchain:<intent>:yes|no``) make a replayed
settlement a duplicate the fill tracker drops: a settlement is booked once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol

from pmbot.model import Fill, MarketInfo, Side, TradeStatus
from pmbot.onchain.messages import OnchainFailed, OnchainIntent, OnchainSettled
from pmbot.onchain.planner import Holding, PlanLimits, plan

ZERO = Decimal(0)
ONE = Decimal(1)


class IntentSink(Protocol):
    def submit(self, intent: OnchainIntent) -> None: ...


def _new_id(kind: str, condition_id: str) -> str:
    return f"{kind}-{condition_id[2:10]}-{uuid.uuid4().hex[:12]}"


class OnchainDesk:
    def __init__(
        self,
        sink: IntentSink,
        limits: PlanLimits,
        *,
        new_id: Callable[[str, str], str] = _new_id,
    ) -> None:
        self._sink = sink
        self._limits = limits
        self._new_id = new_id
        self.pending: dict[str, OnchainIntent] = {}  # intent id -> intent
        self.resolved: dict[str, str | None] = {}  # condition id -> winning token (None: unknown)
        self._arb_ready: set[str] = set()

    # --- events ----------------------------------------------------------------------------------

    def on_arbitrage_set(self, condition_id: str) -> None:
        """A binary complete set was completed by the arbitrage desk: merge it at the next tick."""
        self._arb_ready.add(condition_id)

    def on_resolved(self, condition_id: str, winning_token: str | None) -> None:
        """From ``market_resolved`` (or at start-up for markets already resolved)."""
        self.resolved[condition_id] = winning_token

    def is_resolved(self, condition_id: str) -> bool:
        """Stop quoting a resolved market."""
        return condition_id in self.resolved

    def restore_pending(self, intents: Iterable[OnchainIntent]) -> None:
        """At start-up: the worker's journal's open intents (their tokens are in flight)."""
        for i in intents:
            self.pending[i.intent_id] = i

    # --- planning --------------------------------------------------------------------------------

    def tick(
        self,
        markets: Iterable[MarketInfo],
        shares: Callable[[str], Decimal],
        keep: Callable[[str], Decimal],
    ) -> list[OnchainIntent]:
        """Plan and submit. ``shares(token)``: held; ``keep(token)``: needed for quoting."""
        holdings = [
            Holding(
                m.condition_id,
                shares(m.yes_token),
                shares(m.no_token),
                keep(m.yes_token),
                keep(m.no_token),
                resolved=m.condition_id in self.resolved,
                neg_risk=m.neg_risk,
                arbitrage=m.condition_id in self._arb_ready,
            )
            for m in markets
        ]
        busy = {i.condition_id for i in self.pending.values()}
        intents = plan(holdings, busy, self._limits, self._new_id)
        for intent in intents:
            self.pending[intent.intent_id] = intent
            self._arb_ready.discard(intent.condition_id)
            self._sink.submit(intent)
        return intents

    def pending_tokens(self, markets: Iterable[MarketInfo]) -> set[str]:
        """Tokens with a merge/redeem in flight: the positions reconciler must not see drift."""
        busy = {i.condition_id for i in self.pending.values()}
        return {t for m in markets if m.condition_id in busy for t in (m.yes_token, m.no_token)}

    # --- outcomes --------------------------------------------------------------------------------

    def on_failed(self, ev: OnchainFailed) -> None:
        if ev.final:
            self.pending.pop(ev.intent_id, None)

    def on_settled(
        self,
        ev: OnchainSettled,
        market: MarketInfo,
        shares: Callable[[str], Decimal],
        avg_cost: Callable[[str], Decimal],
        ts: float = 0.0,
    ) -> list[Fill]:
        """The fills that book ``ev`` (apply them through the engine's fill path)."""
        self.pending.pop(ev.intent_id, None)
        if ev.kind == "merge":
            q_yes = q_no = ev.shares
            a_yes, a_no = avg_cost(market.yes_token), avg_cost(market.no_token)
            p_yes = a_yes / (a_yes + a_no) if a_yes > 0 and a_no > 0 else Decimal("0.5")
        else:
            q_yes, q_no = shares(market.yes_token), shares(market.no_token)
            winner = self.resolved.get(market.condition_id)
            p_yes = (
                ONE
                if winner == market.yes_token
                else ZERO
                if winner == market.no_token
                else Decimal("0.5")
            )
        n_yes = min(ev.collateral, q_yes * p_yes)
        n_no = ev.collateral - n_yes
        out = []
        for token, size, notional, leg in (
            (market.yes_token, q_yes, n_yes, "yes"),
            (market.no_token, q_no, n_no, "no"),
        ):
            if size <= 0:
                continue
            out.append(
                Fill(
                    trade_id=f"onchain:{ev.intent_id}:{leg}",
                    order_id=f"onchain:{ev.kind}",
                    market=market.condition_id,
                    token_id=token,
                    side=Side.SELL,
                    price=(notional / size).quantize(Decimal("0.000001")),
                    size=size,
                    fee_usd=ZERO,
                    is_maker=False,
                    status=TradeStatus.CONFIRMED,
                    ts=ts,
                    notional=notional,
                )
            )
        return out
