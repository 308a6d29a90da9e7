"""Local inventory against the venue's positions (Data API): pure comparison with memory.

The Data API lags the CLOB (settlement plus indexing), so a difference is only trusted once it has
stayed the same for longer than the settlement lag; the strategy thread then sets the position to
the venue's (journal first). Fetching and polling stay in ``pmbot.venue.positions``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pmbot.model import ZERO, PositionRow


@dataclass(frozen=True, slots=True)
class PositionAction:
    """``mismatch``: a new difference beyond dust (log and count it). ``adopt``: the same difference
    outlived the settlement lag; set the local position to ``venue`` (and journal it).
    ``cleared``: local and venue agree again."""

    kind: str
    token_id: str
    local: Decimal
    venue: Decimal
    avg_price: Decimal | None
    since: float


class PositionReconciler:
    """Pure comparison of local inventory with the venue's positions, with memory of how long each
    difference has lasted. A difference that changes (a new fill, the Data API catching up) restarts
    its clock; only one that stays the same past ``settlement_lag_secs`` is resolved for the
    venue."""

    def __init__(
        self, *, settlement_lag_secs: float = 60.0, dust: Decimal = Decimal("0.01")
    ) -> None:
        self.settlement_lag_secs = settlement_lag_secs
        self.dust = dust
        self._open: dict[str, tuple[float, Decimal]] = {}  # token -> (since, diff)
        self._adopted: set[str] = set()

    def pending(self) -> dict[str, Decimal]:
        return {t: diff for t, (_, diff) in self._open.items()}

    def compare(
        self,
        local: Mapping[str, Decimal],
        venue: Iterable[PositionRow],
        now: float,
        *,
        tokens: Collection[str] | None = None,
    ) -> list[PositionAction]:
        venue_rows = {r.token_id: r for r in venue}
        universe = set(venue_rows) | {t for t, s in local.items() if s != 0} | set(self._open)
        if tokens is not None:
            universe &= set(tokens)
        actions: list[PositionAction] = []
        for token in sorted(universe):
            mine = local.get(token, ZERO)
            row = venue_rows.get(token)
            theirs = row.size if row is not None else ZERO
            avg = row.avg_price if row is not None else None
            diff = mine - theirs
            opened = self._open.get(token)
            if abs(diff) <= self.dust:
                if opened is not None:
                    del self._open[token]
                    self._adopted.discard(token)
                    actions.append(PositionAction("cleared", token, mine, theirs, avg, now))
                continue
            if opened is None or opened[1] != diff:
                self._open[token] = (now, diff)
                self._adopted.discard(token)
                actions.append(PositionAction("mismatch", token, mine, theirs, avg, now))
                continue
            since = opened[0]
            if now - since >= self.settlement_lag_secs and token not in self._adopted:
                self._adopted.add(token)
                actions.append(PositionAction("adopt", token, mine, theirs, avg, since))
        return actions
