"""One log line per change of the strategy's risk verdicts (the metrics carry the state itself).

Start-up states (no book yet, user channel connecting) are expected: a pause is logged at INFO until
the bot (or the market) has quoted once, at WARNING after that.
"""

from __future__ import annotations

import logging

from pmbot.strategy.decide import Decision
from pmbot.trading.context import MarketIndex

log = logging.getLogger(__name__)


class VerdictLog:
    def __init__(self, index: MarketIndex) -> None:
        self.index = index
        self.ever_quoted: set[str] = set()  # "bot" and condition ids that have quoted at least once

    def changes(self, previous: Decision | None, decision: Decision) -> None:
        quoted = self.ever_quoted
        if previous is None or str(previous.verdict) != str(decision.verdict):
            may = decision.verdict.may_quote or "bot" not in quoted
            log.log(logging.INFO if may else logging.WARNING, "risk: bot %s", decision.verdict)
        if decision.verdict.may_quote:
            quoted.add("bot")
        before = {md.condition_id: str(md.verdict) for md in previous.markets} if previous else {}
        for md in decision.markets:
            now_v = str(md.verdict)
            if before.get(md.condition_id, "quoting") != now_v:
                market = self.index.by_cid.get(md.condition_id)
                name = (market.slug or market.question) if market is not None else ""
                may = md.verdict.may_quote or md.condition_id not in quoted
                level = logging.INFO if may else logging.WARNING
                log.log(level, "risk: market %s %s %s", md.condition_id[:10], name[:40], now_v)
            if md.verdict.may_quote and md.desired:
                quoted.add(md.condition_id)
