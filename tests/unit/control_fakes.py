"""Hand-written fakes for the control plane's collaborators (shared by its unit tests)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D

from pmbot.control.bridge import ReloadApply
from pmbot.control.desk import FlattenInputs
from pmbot.control.flatten import FlattenPlan
from pmbot.control.pauses import OperatorPauses
from pmbot.control.status import BotStatus, MarketStatus
from pmbot.model import MarketInfo

RAIN = MarketInfo(condition_id="0xrain" + "0" * 60, yes_token="Y1", no_token="N1", slug="rain")
SNOW = MarketInfo(condition_id="0xsnow" + "0" * 60, yes_token="Y2", no_token="N2", slug="snow")


class FakeSurface:
    """Records what the desk asked of the engine, in order, in a log shared with the store."""

    def __init__(self, log: list[tuple], markets: Sequence[MarketInfo] = (RAIN, SNOW)) -> None:
        self.log = log
        self._markets = list(markets)
        self.open_orders = {m.condition_id: 2 for m in self._markets}
        self.inputs = FlattenInputs(D(20), D(0), ((D("0.5"), D(100)),), ())

    def markets(self) -> Sequence[MarketInfo]:
        return self._markets

    def status(self, pauses: OperatorPauses) -> BotStatus:
        rows = tuple(
            MarketStatus(
                m.condition_id,
                m.slug,
                "paused" if pauses.paused(m.condition_id) else "quoting",
                "operator" if pauses.paused(m.condition_id) else "",
                p.who if (p := pauses.paused(m.condition_id)) else "",
                self.open_orders[m.condition_id],
                D(0),
                D(0),
                None,
                D(0),
                None,
            )
            for m in self._markets
        )
        return BotStatus("sim", "0xf", 1.0, "quoting", "", "", rows)

    def cancel_orders(self, condition_id: str | None, reason: str) -> int:
        self.log.append(("cancel", condition_id, reason))
        cids = [condition_id] if condition_id else list(self.open_orders)
        n = sum(self.open_orders[c] for c in cids)
        for c in cids:
            self.open_orders[c] = 0
        return n

    def flatten_inputs(self, market: MarketInfo) -> FlattenInputs:
        return self.inputs

    def submit_flatten(self, plan: FlattenPlan) -> None:
        self.log.append(("flatten", plan))

    def apply_reload(self, change: ReloadApply) -> str:
        self.log.append(("reload", change))
        return change.plan.summary()


class FakeStore:
    def __init__(self, log: list[tuple], text: str | None = None) -> None:
        self.log = log
        self.text = text

    def load_operator_pauses(self) -> str | None:
        return self.text

    def save_operator_pauses(self, text: str) -> None:
        self.log.append(("journal", text))
        self.text = text
