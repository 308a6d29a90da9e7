"""Request/reply between the control thread and the strategy thread: answers come back on a
per-request queue within a deadline; reload validates and resolves before the strategy sees it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmbot.config import MarketRef, parse_config
from pmbot.control.bridge import OperatorCommand, QueuedBotControl, ref_matches
from pmbot.control.desk import OperatorDesk
from pmbot.control.protocol import Command, ControlRequest, Peer
from pmbot.errors import PmbotError
from pmbot.model import MarketInfo
from tests.unit.control_fakes import RAIN, FakeStore, FakeSurface

BASE: dict[str, Any] = {"markets": [{"slug": "rain"}], "strategy": {"edge_fraction": 0.1}}
PEER = Peer(uid=1000, pid=42)


class StrategyThread:
    """The engine's loop reduced to what matters here: drain the inbound queue, hand operator
    commands to the desk."""

    def __init__(self) -> None:
        self.inbound: queue.Queue[Any] = queue.Queue()
        self.log: list[tuple] = []
        self.desk = OperatorDesk(FakeSurface(self.log), FakeStore(self.log), clock=lambda: 5.0)
        self.thread = threading.Thread(target=self._run, name="fake-strategy")
        self.thread.start()

    def _run(self) -> None:
        while (ev := self.inbound.get()) is not None:
            if isinstance(ev, OperatorCommand):
                self.desk.on_command(ev)

    def stop(self) -> None:
        self.inbound.put(None)
        self.thread.join(5)


@pytest.fixture
def strategy() -> Iterator[StrategyThread]:
    s = StrategyThread()
    yield s
    s.stop()


def config_file(tmp_path: Path, **changes: Any) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, **changes}))
    return str(path)


def control(inbound: queue.Queue[Any], path: str, **kw: Any) -> QueuedBotControl:
    return QueuedBotControl(inbound, config_path=path, loaded_config=parse_config(BASE), **kw)


def test_pause_reaches_the_strategy_thread_and_its_answer_comes_back(
    strategy: StrategyThread, tmp_path: Path
) -> None:
    ctl = control(strategy.inbound, config_file(tmp_path))
    ans = ctl.handle(ControlRequest(Command.PAUSE, "rain"), PEER)
    assert ans.ok and ans.message.startswith("paused rain")
    assert strategy.desk.pauses.paused(RAIN.condition_id).who == "uid 1000 (pid 42)"


def test_no_answer_within_the_deadline_is_a_failure_that_says_so(tmp_path: Path) -> None:
    inbound: queue.Queue[Any] = queue.Queue()  # nobody drains it
    ctl = control(inbound, config_file(tmp_path), deadline_secs=0.05)
    ans = ctl.handle(ControlRequest(Command.CANCEL_ALL), PEER)
    assert not ans.ok and "did not answer" in ans.message
    assert isinstance(inbound.get_nowait(), OperatorCommand)


def test_reload_applies_a_valid_change_once(strategy: StrategyThread, tmp_path: Path) -> None:
    path = config_file(tmp_path, strategy={"edge_fraction": 0.25})
    ctl = control(strategy.inbound, path)
    ans = ctl.reload("SIGHUP")
    assert ans.ok and "strategy.edge_fraction 0.1 -> 0.25" in ans.message
    (kind, change) = strategy.log[-1]
    assert kind == "reload" and change.config.strategy.edge_fraction == Decimal("0.25")
    assert ctl.config.strategy.edge_fraction == Decimal("0.25")
    again = ctl.handle(ControlRequest(Command.RELOAD), PEER)
    assert again.ok and again.message == "no change"
    assert len([e for e in strategy.log if e[0] == "reload"]) == 1


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"strategy": {"edge_fraction": 7}}, "strategy.edge_fraction"),
        ({"wallet": {"funder": "0xb"}}, "wallet.funder cannot change at runtime"),
    ],
)
def test_bad_or_refused_reload_never_reaches_the_strategy_thread(
    tmp_path: Path, changes: dict[str, Any], why: str
) -> None:
    inbound: queue.Queue[Any] = queue.Queue()
    ctl = control(inbound, config_file(tmp_path, **changes))
    ans = ctl.reload("uid 1 (pid 2)")
    assert not ans.ok and why in ans.message
    assert inbound.empty()
    assert ctl.config.strategy.edge_fraction == Decimal("0.1")


def test_added_markets_are_resolved_before_the_strategy_sees_them(
    strategy: StrategyThread, tmp_path: Path
) -> None:
    asked: list[tuple[MarketRef, ...]] = []
    hail = MarketInfo(condition_id="0xhail", yes_token="Y9", no_token="N9", slug="hail")

    def resolve(refs: tuple[MarketRef, ...]) -> tuple[MarketInfo, ...]:
        asked.append(refs)
        return (hail,)

    path = config_file(tmp_path, markets=[{"slug": "rain"}, {"slug": "hail"}])
    ans = control(strategy.inbound, path, resolve_markets=resolve).reload("SIGHUP")
    assert ans.ok and ans.data["reload"]["markets_added"] == ["hail"]
    assert asked == [(MarketRef(slug="hail"),)]
    assert strategy.log[-1][1].added == (hail,)


def test_unresolvable_added_market_changes_nothing(tmp_path: Path) -> None:
    inbound: queue.Queue[Any] = queue.Queue()

    def resolve(refs: tuple[MarketRef, ...]) -> tuple[MarketInfo, ...]:
        raise PmbotError("Gamma has no market 'hail'")

    path = config_file(tmp_path, markets=[{"slug": "rain"}, {"slug": "hail"}])
    ans = control(inbound, path, resolve_markets=resolve).reload("SIGHUP")
    assert not ans.ok and "Gamma has no market 'hail'" in ans.message
    assert inbound.empty()


def test_ref_matches_by_slug_or_by_both_tokens() -> None:
    assert ref_matches(MarketRef(slug="rain"), RAIN)
    assert ref_matches(MarketRef(yes_token="Y1", no_token="N1"), RAIN)
    assert not ref_matches(MarketRef(yes_token="N1", no_token="Y1"), RAIN)
    assert not ref_matches(MarketRef(slug="snow"), RAIN)


def test_a_late_second_answer_never_blocks_the_strategy_thread() -> None:
    cmd = OperatorCommand(ControlRequest(Command.STATUS), "x", queue.Queue(maxsize=1))
    from pmbot.control.protocol import ControlAnswer

    cmd.answer(ControlAnswer(True, "first"))
    cmd.answer(ControlAnswer(True, "second"))  # returns instead of blocking
    assert cmd.reply.get_nowait().message == "first"


class RecordingFeed:
    def __init__(self, log: list[tuple]) -> None:
        self.log = log

    def add_markets(self, markets: Any) -> None:
        self.log.append(("subscribe", tuple(m.slug for m in markets)))

    def remove_markets(self, markets: Any) -> None:
        self.log.append(("unsubscribe", tuple(m.slug for m in markets)))


def test_feeds_subscribe_before_and_unsubscribe_after_the_strategy_applies(
    strategy: StrategyThread, tmp_path: Path
) -> None:
    hail = MarketInfo(condition_id="0xhail", yes_token="Y9", no_token="N9", slug="hail")
    gamma = {"hail": hail, "rain": RAIN}
    path = config_file(tmp_path, markets=[{"slug": "hail"}])
    ctl = control(
        strategy.inbound,
        path,
        markets=(RAIN,),
        resolve_markets=lambda refs: tuple(gamma[r.slug] for r in refs),
        feeds=RecordingFeed(strategy.log),
    )
    ans = ctl.reload("SIGHUP")
    assert ans.ok, ans.message
    assert [e[0] for e in strategy.log] == ["subscribe", "reload", "unsubscribe"]
    assert strategy.log[0] == ("subscribe", ("hail",))
    assert strategy.log[2] == ("unsubscribe", ("rain",))
    change = strategy.log[1][1]
    assert change.added == (hail,) and change.removed == (RAIN,)
    # The next reload knows the new set: going back removes hail and adds rain.
    path = config_file(tmp_path, markets=[{"slug": "rain"}])
    assert ctl.reload("SIGHUP").ok
    assert strategy.log[-1] == ("unsubscribe", ("hail",))


def test_no_feed_change_when_the_strategy_does_not_answer(tmp_path: Path) -> None:
    log: list[tuple] = []
    inbound: queue.Queue[Any] = queue.Queue()
    path = config_file(tmp_path, markets=[])
    ctl = control(inbound, path, markets=(RAIN,), feeds=RecordingFeed(log), deadline_secs=0.05)
    ans = ctl.reload("SIGHUP")
    assert not ans.ok and "did not answer" in ans.message
    assert log == []  # rain stays subscribed: the strategy may still be quoting it
    assert ctl.config.markets == (MarketRef(slug="rain"),)
