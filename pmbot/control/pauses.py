"""Operator pauses: a risk state of their own (``pmbot_risk_paused{reason="operator"}``), for the
whole bot or for single markets, that survives a restart until an operator resumes.

A value object owned by the strategy thread; every change returns a new one, which the engine
journals (``to_json`` into the journal's meta table) before acting on it, so a crash between the
two never forgets a pause.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

BOT = ""  # the key of a whole-bot pause
REASON = "operator"
JOURNAL_KEY = "operator_pauses"


@dataclass(frozen=True, slots=True)
class Pause:
    who: str  # "uid 1000 (pid 42)"
    since: float  # unix seconds


@dataclass(frozen=True, slots=True)
class OperatorPauses:
    by_scope: Mapping[str, Pause] = field(default_factory=lambda: MappingProxyType({}))

    def pause(self, scope: str, who: str, now: float) -> OperatorPauses:
        """``scope``: a condition id, or ``BOT`` for every market. Pausing twice keeps the first."""
        if scope in self.by_scope:
            return self
        return replace(self, by_scope=MappingProxyType({**self.by_scope, scope: Pause(who, now)}))

    def resume(self, scope: str) -> OperatorPauses:
        """Resume one market, or with ``BOT`` the bot-wide pause (market pauses stay)."""
        if scope not in self.by_scope:
            return self
        rest = {k: v for k, v in self.by_scope.items() if k != scope}
        return replace(self, by_scope=MappingProxyType(rest))

    def paused(self, condition_id: str) -> Pause | None:
        """Why this market may not quote: its own pause, else the bot-wide one."""
        return self.by_scope.get(condition_id) or self.by_scope.get(BOT)

    @property
    def bot(self) -> Pause | None:
        return self.by_scope.get(BOT)

    def to_json(self) -> str:
        return json.dumps(
            {k: {"who": p.who, "since": p.since} for k, p in sorted(self.by_scope.items())}
        )

    @classmethod
    def from_json(cls, text: str | None) -> OperatorPauses:
        """What the journal kept; an unreadable record pauses the whole bot (fail closed)."""
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            return cls(
                MappingProxyType(
                    {str(k): Pause(str(v["who"]), float(v["since"])) for k, v in raw.items()}
                )
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls(MappingProxyType({BOT: Pause("unreadable journal record", 0.0)}))
