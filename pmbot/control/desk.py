"""OperatorDesk: the strategy thread's side of the control plane.

The engine owns one desk and hands it every ``OperatorCommand`` it drains from its inbound queue;
the desk decides, journals operator pauses before acting on them, asks the engine (through the
narrow ``TradingSurface``) to cancel, sell or apply a reload, and answers on the command's reply
queue. Everything runs on the strategy thread, so the single-writer rule holds.

Semantics:
- ``pause [M]``: an operator pause of M (or of every market) is journalled, then M's quotes are
  cancelled; the engine keeps M out of quoting (risk state ``paused``, reason ``operator``) until
  ``resume``. Pauses survive restarts.
- ``cancel-all``: cancel every order of the bot now (one shot: unpaused markets quote again at the
  next decision; use ``pause`` to keep them off).
- ``flatten M``: pause M (so no new quote refills the inventory), cancel its quotes, then sell its
  inventory with marketable FAK orders within the slippage bound (see ``flatten.py``).
- ``reload``: apply a validated ``ReloadApply`` (see ``bridge.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from pmbot.control.bridge import OperatorCommand, ReloadApply
from pmbot.control.flatten import FlattenPlan, plan_flatten, plan_to_data
from pmbot.control.pauses import BOT, OperatorPauses
from pmbot.control.protocol import Command, ControlAnswer
from pmbot.control.resolve import UnknownMarket, resolve_market
from pmbot.control.status import BotStatus
from pmbot.model import Level, MarketInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FlattenInputs:
    yes_shares: Decimal
    no_shares: Decimal
    yes_bids: tuple[Level, ...]
    no_bids: tuple[Level, ...]
    can_merge: bool = False


class TradingSurface(Protocol):
    """What the desk needs from the engine (all called on the strategy thread)."""

    def markets(self) -> Sequence[MarketInfo]: ...

    def status(self, pauses: OperatorPauses) -> BotStatus: ...

    def cancel_orders(self, condition_id: str | None, reason: str) -> int:
        """Cancel the bot's orders on one market (None: all markets); how many were live."""
        ...

    def flatten_inputs(self, market: MarketInfo) -> FlattenInputs: ...

    def submit_flatten(self, plan: FlattenPlan) -> None:
        """Send the plan's SELL orders (FAK, tag "unwind") and merges, after the cancels."""
        ...

    def apply_reload(self, change: ReloadApply) -> str:
        """Apply parameters and markets at once; returns a one-line summary."""
        ...


class PauseStore(Protocol):
    """The journal's side: one text record, written before the pause takes effect."""

    def load_operator_pauses(self) -> str | None: ...

    def save_operator_pauses(self, text: str) -> None: ...


class OperatorDesk:
    def __init__(
        self, surface: TradingSurface, store: PauseStore, clock: Callable[[], float]
    ) -> None:
        self.surface = surface
        self.store = store
        self.clock = clock
        self.pauses = OperatorPauses.from_json(store.load_operator_pauses())
        for scope, p in self.pauses.by_scope.items():
            log.warning(
                "operator pause of %s kept from the journal (%s)", scope or "the bot", p.who
            )

    def on_command(self, cmd: OperatorCommand) -> None:
        try:
            answer = self._dispatch(cmd)
        except UnknownMarket as exc:
            answer = ControlAnswer(False, str(exc))
        except Exception:  # never leave the asker without an answer, never kill the strategy loop
            log.exception("control: %s failed", cmd.request.command.value)
            answer = ControlAnswer(False, "internal error: see the bot's log")
        cmd.answer(answer)

    def _dispatch(self, cmd: OperatorCommand) -> ControlAnswer:
        c = cmd.request.command
        if c is Command.STATUS:
            return ControlAnswer(True, "", self.surface.status(self.pauses).to_data())
        if c is Command.PAUSE:
            return self._pause(cmd.request.market, cmd.who)
        if c is Command.RESUME:
            return self._resume(cmd.request.market, cmd.who)
        if c is Command.CANCEL_ALL:
            n = self.surface.cancel_orders(None, f"operator cancel-all by {cmd.who}")
            log.warning("operator cancel-all by %s: %d order(s)", cmd.who, n)
            return ControlAnswer(True, f"cancelling {n} order(s)", {"cancelled": n})
        if c is Command.FLATTEN:
            return self._flatten(cmd)
        if c is Command.RELOAD and cmd.reload is not None:
            summary = self.surface.apply_reload(cmd.reload)
            log.warning("reload by %s applied: %s", cmd.who, summary)
            return ControlAnswer(True, f"applied: {summary}")
        return ControlAnswer(False, f"{c.value} is not handled by the strategy thread")

    def _scope(self, text: str) -> tuple[str, str]:
        if not text:
            return BOT, "the bot"
        m = resolve_market(text, self.surface.markets())
        return m.condition_id, m.slug or m.condition_id

    def _set(self, pauses: OperatorPauses) -> None:
        if pauses is not self.pauses:
            self.store.save_operator_pauses(pauses.to_json())  # journal first, then act
            self.pauses = pauses

    def _pause(self, market: str, who: str) -> ControlAnswer:
        scope, name = self._scope(market)
        held = self.pauses.by_scope.get(scope)
        if held is not None:
            return ControlAnswer(True, f"{name} already paused by {held.who}")
        self._set(self.pauses.pause(scope, who, self.clock()))
        n = self.surface.cancel_orders(scope or None, f"operator pause by {who}")
        log.warning("operator pause of %s by %s: cancelling %d order(s)", name, who, n)
        return ControlAnswer(True, f"paused {name}; cancelling {n} order(s)", {"cancelled": n})

    def _resume(self, market: str, who: str) -> ControlAnswer:
        scope, name = self._scope(market)
        if scope not in self.pauses.by_scope:
            still = self.pauses.bot if scope else None
            note = f" (the bot-wide pause by {still.who} still holds)" if still else ""
            return ControlAnswer(True, f"{name} was not paused{note}")
        self._set(self.pauses.resume(scope))
        log.warning("operator resume of %s by %s", name, who)
        still = self.pauses.bot if scope else None
        note = f"; the bot-wide pause by {still.who} still holds" if still else ""
        return ControlAnswer(True, f"resumed {name}{note}")

    def _flatten(self, cmd: OperatorCommand) -> ControlAnswer:
        m = resolve_market(cmd.request.market, self.surface.markets())
        name = m.slug or m.condition_id
        self._set(self.pauses.pause(m.condition_id, cmd.who, self.clock()))
        inputs = self.surface.flatten_inputs(m)
        cancelled = self.surface.cancel_orders(m.condition_id, f"operator flatten by {cmd.who}")
        plan = plan_flatten(
            m,
            yes_shares=inputs.yes_shares,
            no_shares=inputs.no_shares,
            yes_bids=inputs.yes_bids,
            no_bids=inputs.no_bids,
            max_slippage=cmd.request.max_slippage,
            can_merge=inputs.can_merge,
        )
        self.surface.submit_flatten(plan)
        sold = ", ".join(f"SELL {s.size} {s.outcome.value} down to {s.price}" for s in plan.sells)
        left = "" if plan.complete else f"; left: {'; '.join(plan.notes)}"
        log.warning(
            "operator flatten of %s by %s: %s%s", name, cmd.who, sold or "nothing to sell", left
        )
        message = f"flatten {name}: {sold or 'nothing to sell'}{left}; {name} stays paused"
        return ControlAnswer(True, message, {"cancelled": cancelled, "plan": plan_to_data(plan)})
