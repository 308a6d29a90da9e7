"""The strategy thread's side: pauses journalled before they act and kept across restarts, flatten
pausing and cancelling before it sells, every command answered exactly once."""

from __future__ import annotations

import queue
from decimal import Decimal as D

from pmbot.control.bridge import OperatorCommand
from pmbot.control.desk import OperatorDesk
from pmbot.control.protocol import Command, ControlAnswer, ControlRequest
from tests.unit.control_fakes import RAIN, SNOW, FakeStore, FakeSurface


def ask(desk: OperatorDesk, command: Command, market: str = "", **kw: D) -> ControlAnswer:
    cmd = OperatorCommand(ControlRequest(command, market, **kw), "uid 7 (pid 9)", queue.Queue(1))
    desk.on_command(cmd)
    return cmd.reply.get_nowait()


def make(log: list, store_text: str | None = None) -> tuple[OperatorDesk, FakeSurface, FakeStore]:
    surface, store = FakeSurface(log), FakeStore(log, store_text)
    return OperatorDesk(surface, store, clock=lambda: 1000.0), surface, store


def test_pause_journals_then_cancels_that_market_only() -> None:
    log: list = []
    desk, surface, _ = make(log)
    ans = ask(desk, Command.PAUSE, "rain")
    assert ans.ok and "paused rain" in ans.message and ans.data["cancelled"] == 2
    assert [e[0] for e in log] == ["journal", "cancel"]
    assert log[1][1] == RAIN.condition_id
    assert surface.open_orders[SNOW.condition_id] == 2
    assert desk.pauses.paused(RAIN.condition_id).who == "uid 7 (pid 9)"
    assert desk.pauses.paused(SNOW.condition_id) is None


def test_a_pause_survives_a_restart_until_resumed() -> None:
    log: list = []
    desk, _, store = make(log)
    ask(desk, Command.PAUSE, RAIN.condition_id)
    restarted, _, _ = make([], store.text)
    assert restarted.pauses.paused(RAIN.condition_id) is not None
    ans = ask(restarted, Command.RESUME, "rain")
    assert ans.ok and ans.message == "resumed rain"
    again, _, _ = make([], restarted.store.load_operator_pauses())
    assert again.pauses.paused(RAIN.condition_id) is None


def test_bot_wide_pause_and_resume_of_a_market_under_it() -> None:
    log: list = []
    desk, surface, _ = make(log)
    assert ask(desk, Command.PAUSE).message == "paused the bot; cancelling 4 order(s)"
    assert log[-1] == ("cancel", None, "operator pause by uid 7 (pid 9)")
    ans = ask(desk, Command.RESUME, "snow")
    assert ans.ok and "bot-wide pause by uid 7 (pid 9) still holds" in ans.message
    assert ask(desk, Command.PAUSE).message.startswith("the bot already paused")
    assert ask(desk, Command.RESUME).message == "resumed the bot"
    assert desk.pauses.paused(SNOW.condition_id) is None


def test_unknown_market_is_refused_and_changes_nothing() -> None:
    log: list = []
    desk, _, _ = make(log)
    ans = ask(desk, Command.PAUSE, "hail")
    assert not ans.ok and "no market 'hail'" in ans.message
    assert log == []


def test_flatten_pauses_cancels_then_sells() -> None:
    log: list = []
    desk, _, _ = make(log)
    ans = ask(desk, Command.FLATTEN, "rain", max_slippage=D("0.05"))
    assert ans.ok and "rain stays paused" in ans.message
    assert [e[0] for e in log] == ["journal", "cancel", "flatten"]
    plan = log[2][1]
    assert [(s.token_id, s.size, s.price) for s in plan.sells] == [("Y1", D(20), D("0.5"))]
    assert ans.data["plan"]["complete"] is True
    assert desk.pauses.paused(RAIN.condition_id) is not None


def test_cancel_all_is_one_shot_and_pauses_nothing() -> None:
    log: list = []
    desk, _, _ = make(log)
    ans = ask(desk, Command.CANCEL_ALL)
    assert ans.ok and ans.data == {"cancelled": 4}
    assert [e[0] for e in log] == ["cancel"]
    assert desk.pauses.by_scope == {}


def test_status_reports_operator_pauses() -> None:
    desk, _, _ = make([])
    ask(desk, Command.PAUSE, "snow")
    data = ask(desk, Command.STATUS).data
    rows = {m["slug"]: m for m in data["markets"]}
    assert rows["snow"]["verdict"] == "paused" and rows["snow"]["paused_by"] == "uid 7 (pid 9)"
    assert rows["rain"]["verdict"] == "quoting"


def test_a_surface_failure_still_answers() -> None:
    desk, surface, _ = make([])

    def boom(condition_id: str | None, reason: str) -> int:
        raise RuntimeError("engine bug")

    surface.cancel_orders = boom  # type: ignore[method-assign]  # a fake that fails on purpose
    ans = ask(desk, Command.CANCEL_ALL)
    assert not ans.ok and "internal error" in ans.message
