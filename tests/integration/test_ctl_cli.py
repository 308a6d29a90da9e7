"""``python bot.py ctl ...`` as a real process against a real control socket, served the way the
bot serves it (ControlServer -> QueuedBotControl -> strategy-thread desk), with the engine replaced
by a recording fake: socket discovery from the config, output, and the exit codes
0 ok / 1 refused or failed / 2 bad usage / 3 bot not running."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from pmbot.config import load_config
from pmbot.control.bridge import OperatorCommand, QueuedBotControl
from pmbot.control.desk import OperatorDesk
from pmbot.control.paths import socket_path
from pmbot.control.server import ControlServer
from tests.integration.botproc import ROOT
from tests.unit.control_fakes import RAIN, FakeStore, FakeSurface

FUNDER = "0x00000000000000000000000000000000000000Aa"


@dataclass
class Bot:
    config: str
    state_dir: str
    server: ControlServer
    desk: OperatorDesk
    log: list[tuple]


def write_config(path: str, state_dir: str, **extra: Any) -> None:
    raw = {"mode": "sim", "state_dir": state_dir, "wallet": {"funder": FUNDER}}
    raw.update(extra)
    with open(path, "w") as fh:
        yaml.safe_dump(raw, fh)


@pytest.fixture
def bot() -> Iterator[Bot]:
    state_dir = tempfile.mkdtemp(prefix="pmctl", dir="/tmp")
    config = os.path.join(state_dir, "bot.yaml")
    write_config(config, state_dir)
    inbound: queue.Queue[Any] = queue.Queue()
    log: list[tuple] = []
    desk = OperatorDesk(FakeSurface(log), FakeStore(log), clock=lambda: 1.0)

    def strategy() -> None:
        while (ev := inbound.get()) is not None:
            if isinstance(ev, OperatorCommand):
                desk.on_command(ev)

    thread = threading.Thread(target=strategy, name="fake-strategy")
    thread.start()
    control = QueuedBotControl(inbound, config_path=config, loaded_config=load_config(config))
    server = ControlServer(socket_path(state_dir, FUNDER), control)
    server.start()
    try:
        yield Bot(config, state_dir, server, desk, log)
    finally:
        server.stop()
        inbound.put(None)
        thread.join(5)
        shutil.rmtree(state_dir, ignore_errors=True)


def ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "bot.py"), "ctl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_status_prints_the_table_and_json_on_request(bot: Bot) -> None:
    out = ctl("--config", bot.config, "status")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("mode sim  wallet 0xf")
    assert any(line.split()[:2] == ["rain", "quoting"] for line in lines)
    raw = json.loads(ctl("--config", bot.config, "--json", "status").stdout)
    assert raw["ok"] is True and {m["slug"] for m in raw["data"]["markets"]} == {"rain", "snow"}
    assert json.loads(ctl("--config", bot.config, "status", "--json").stdout) == raw


def test_pause_and_resume_a_market_by_slug(bot: Bot) -> None:
    out = ctl("--config", bot.config, "pause", "rain")
    assert out.returncode == 0 and out.stdout.startswith("paused rain"), out.stderr
    assert bot.desk.pauses.paused(RAIN.condition_id) is not None
    assert "paused (operator) by uid" in ctl("--config", bot.config, "status").stdout
    out = ctl("--config", bot.config, "resume", RAIN.condition_id)
    assert out.returncode == 0 and out.stdout.strip() == "resumed rain"
    assert bot.desk.pauses.paused(RAIN.condition_id) is None


def test_flatten_prints_the_plan_summary(bot: Bot) -> None:
    out = ctl("--config", bot.config, "flatten", "rain", "--max-slippage", "0.02")
    assert out.returncode == 0, out.stderr
    assert "SELL 20.00 YES down to 0.5" in out.stdout and "rain stays paused" in out.stdout


def test_refusals_exit_1_with_the_reason_on_stderr(bot: Bot) -> None:
    out = ctl("--config", bot.config, "pause", "hail")
    assert out.returncode == 1 and "no market 'hail'" in out.stderr
    write_config(bot.config, bot.state_dir, venue={"clob_url": "https://elsewhere.example"})
    out = ctl("--config", bot.config, "reload")
    assert out.returncode == 1 and "venue.clob_url cannot change at runtime" in out.stderr


def test_reload_applies_a_parameter(bot: Bot) -> None:
    write_config(bot.config, bot.state_dir, strategy={"edge_fraction": 0.2})
    out = ctl("--config", bot.config, "reload")
    assert out.returncode == 0, out.stderr
    assert "strategy.edge_fraction 0.10 -> 0.2" in out.stdout
    assert [e[0] for e in bot.log] == ["reload"]


@pytest.mark.parametrize(
    "args",
    [
        ("flatten",),
        ("flatten", "rain", "--max-slippage", "2"),
        ("explode",),
        ("status", "extra"),
    ],
)
def test_bad_usage_exits_2(bot: Bot, args: tuple[str, ...]) -> None:
    assert ctl("--config", bot.config, *args).returncode == 2


def test_a_bad_config_file_exits_2(bot: Bot) -> None:
    with open(bot.config, "w") as fh:
        fh.write("strategy: {edge_fraction: 9}\n")
    out = ctl("--config", bot.config, "status")
    assert out.returncode == 2 and "strategy.edge_fraction" in out.stderr


def test_the_only_socket_is_found_without_a_funder(bot: Bot) -> None:
    cfg = os.path.join(bot.state_dir, "nofunder.yaml")
    with open(cfg, "w") as fh:
        yaml.safe_dump({"state_dir": bot.state_dir}, fh)
    assert ctl("--config", cfg, "status").returncode == 0


def test_no_bot_exits_3() -> None:
    state_dir = tempfile.mkdtemp(prefix="pmctl", dir="/tmp")
    try:
        config = os.path.join(state_dir, "bot.yaml")
        write_config(config, state_dir)
        out = ctl("--config", config, "status")
        assert out.returncode == 3 and "is the bot running?" in out.stderr
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def test_a_stopped_bots_leftover_socket_exits_3(bot: Bot) -> None:
    bot.server.stop()
    import socket

    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(socket_path(bot.state_dir, FUNDER))
    leftover.close()
    out = ctl("--config", bot.config, "status")
    assert out.returncode == 3 and "no bot listens" in out.stderr
