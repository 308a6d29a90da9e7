"""A trade made just before a fresh start is counted once: the Data API seed holds it, so the user
channel's first REST catch-up (which looks back ``overlap_secs``) must not book it again."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.botproc import ROOT, TEST_KEY, BotProcess, SimProcess, venue_client
from tests.integration.test_ctl_bot import buy_yes, infos
from tests.waiting import wait_for


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    s = SimProcess()
    yield s
    s.stop()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = tempfile.mkdtemp(prefix="pmb", dir="/tmp")  # a socket path must fit in 107 bytes
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def yes_shares(bot: BotProcess) -> Decimal | None:
    out = subprocess.run(
        [sys.executable, "bot.py", "ctl", "--config", str(bot.config_path), "--json", "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, POLYMARKET_PRIVATE_KEY=TEST_KEY),
    )
    if out.returncode != 0:
        return None
    return Decimal(json.loads(out.stdout)["data"]["markets"][0]["yes_shares"])


def test_a_trade_just_before_a_fresh_start_is_counted_once(sim, short_dir: Path) -> None:
    rest, address = venue_client(sim)
    m1 = infos(sim)[0]
    buy_yes(sim, m1.yes_token, 20)
    bought = time.time()
    wait_for(lambda: Decimal(str(sim.ledger(address)["positions"].get(m1.yes_token, 0))) == 20, 10)
    # Venue trade times are whole seconds: a trade in the seed's own second is booked (see
    # Holdings.seeded_before); this one is made in an earlier second, as a real restart does.
    wait_for(lambda: time.time() >= math.floor(bought) + 1, 3, "the next second")
    market = {"yes_token": m1.yes_token, "no_token": m1.no_token}
    bot = BotProcess(sim, short_dir, extra={"state_dir": str(short_dir / "s"), "markets": [market]})
    try:
        wait_for(lambda: "user channel catch-up #1 delivered" in bot.log(), 60, "first catch-up")
        assert "seeded 1 position(s)" in bot.log()
        # Quotes are 10 shares: a BUY 20 fill can only be the pre-start trade booked again.
        assert yes_shares(bot) == 20, bot.log()[-3000:]
        log = bot.log()
        assert "fill BUY 20 YES" not in log and "position mismatch" not in log, log[-3000:]
    finally:
        code = bot.terminate()
    assert code == 0, bot.log()[-3000:]
