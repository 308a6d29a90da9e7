"""Issue 16 end to end: the bot as a process against the simulator, steered with `bot.py ctl` and
SIGHUP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.integration.botproc import (
    ROOT,
    TEST_KEY,
    BotProcess,
    SimProcess,
    stop_process,
    venue_client,
)
from tests.waiting import holds_for, wait_for


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


def ctl(bot: BotProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bot.py", "ctl", "--config", str(bot.config_path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, POLYMARKET_PRIVATE_KEY=TEST_KEY),
    )


def rests_within(rest, condition_id: str, secs: float) -> bool:
    """Does the bot have an order on the market now, or within ``secs``?"""
    try:
        wait_for(lambda: condition_id in orders_by_market(rest), secs, "an order on the market")
    except AssertionError:
        return False
    return True


def orders_by_market(rest) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for o in rest.open_orders():
        out.setdefault(o["market"], []).append(o)
    return out


def start(sim: SimProcess, d: Path, markets: list[dict], **extra) -> BotProcess:
    return BotProcess(sim, d, extra={"state_dir": str(d / "s"), "markets": markets, **extra})


def infos(sim: SimProcess):
    from pmbot.venue import markets as vm

    rest, _ = venue_client(sim)
    return [m for m in vm.list_clob_markets(rest) if not m.neg_risk]


def test_pause_survives_a_restart_while_another_market_quotes_then_resume(sim, short_dir) -> None:
    rest, _ = venue_client(sim)
    m1, m2 = infos(sim)[:2]
    markets = [{"yes_token": m.yes_token, "no_token": m.no_token} for m in (m1, m2)]
    bot = start(sim, short_dir, markets)
    try:
        wait_for(lambda: len(orders_by_market(rest)) == 2, 60, "quotes on both markets")
        asked = time.monotonic()
        out = ctl(bot, "pause", m1.condition_id)
        answered = time.monotonic()
        assert out.returncode == 0, out.stderr + bot.log()[-2000:]
        # The issue asks for "within 2 s"; the deadline here is a budget for a busy machine, the
        # measured time is printed (pytest -s) for the report.
        wait_for(lambda: m1.condition_id not in orders_by_market(rest), 5, "M1's orders gone")
        gone = time.monotonic()
        print(
            json.dumps(
                {
                    "metric": "ctl_pause_orders_gone_secs",
                    "after_answer": round(gone - answered, 3),
                    "including_ctl_process": round(gone - asked, 3),
                }
            )
        )
        # Sampled every 50 ms: a re-quote of M2 whose pull (issue 20) went out before its new
        # quotes can leave M2 bare for a few ms, so each sample allows that gap to close; a paused
        # M2 stays bare for the whole window and fails.
        holds_for(lambda: rests_within(rest, m2.condition_id, 0.5), 2, "M2 keeps quoting")
        assert bot.terminate() == 0
        assert not list((short_dir / "s").glob("pmbot-*.sock")), "the socket is removed at exit"
        bot = start(sim, short_dir, markets)
        wait_for(lambda: m2.condition_id in orders_by_market(rest), 60, "M2 quoting again")
        holds_for(lambda: m1.condition_id not in orders_by_market(rest), 3, "M1 stays paused")
        status = ctl(bot, "status")
        assert status.returncode == 0 and "paused (operator) by uid" in status.stdout
        assert bot.metric("pmbot_risk_paused", market=m1.condition_id, reason="operator") == 1
        out = ctl(bot, "resume", m1.slug or m1.condition_id)  # a slug names a market too
        assert out.returncode == 0, out.stderr
        wait_for(lambda: m1.condition_id in orders_by_market(rest), 30, "M1 quoting again")
    finally:
        code = bot.terminate()
    assert code == 0


def buy_yes(sim: SimProcess, token: str, size: int) -> None:
    """A taker BUY of exactly ``size`` shares by the test wallet. An FAK is a market order on the
    venue: a BUY spends size x price at that price or better (py-clob-client-v2 #89), so it is
    priced at the best ask, where the book holds at least ``size`` (the sim's seeded ladders do)."""
    from py_clob_client_v2.client import ClobClient
    from py_clob_client_v2.clob_types import OrderArgs, OrderType

    asks = sim.get(f"/book?token_id={token}")["asks"]
    best = min(asks, key=lambda lv: Decimal(lv["price"]))
    assert Decimal(best["size"]) >= size, best
    client = ClobClient(sim.urls["clob_url"], 137, key=TEST_KEY)
    client.set_api_creds(client.create_or_derive_api_key())
    order = client.create_order(
        OrderArgs(token_id=token, price=float(best["price"]), size=size, side="BUY")
    )
    resp = client.post_order(order, OrderType.FAK)
    assert resp["success"], resp


def test_flatten_sells_the_inventory_and_leaves_no_order(sim, short_dir) -> None:
    rest, address = venue_client(sim)
    m1 = infos(sim)[0]
    bot = start(sim, short_dir, [{"yes_token": m1.yes_token, "no_token": m1.no_token}])
    try:
        wait_for(lambda: orders_by_market(rest), 60, "quotes")
        assert ctl(bot, "pause", m1.condition_id).returncode == 0
        wait_for(lambda: not orders_by_market(rest), 10, "quotes pulled")
        buy_yes(sim, m1.yes_token, 20)  # the bot sees its own taker fill on the user channel

        def yes_shares() -> Decimal:
            row = yaml.safe_load(ctl(bot, "--json", "status").stdout)["data"]["markets"][0]
            return Decimal(row["yes_shares"])

        wait_for(lambda: yes_shares() == 20, 20, "20 YES in inventory")
        out = ctl(bot, "flatten", m1.condition_id, "--max-slippage", "0.5")
        assert out.returncode == 0, out.stderr + bot.log()[-3000:]
        assert "SELL 20.00 YES" in out.stdout

        def flat() -> bool:
            row = yaml.safe_load(ctl(bot, "--json", "status").stdout)["data"]["markets"][0]
            return Decimal(row["yes_shares"]) == 0 and Decimal(row["no_shares"]) == 0

        try:
            wait_for(flat, 30, "zero inventory on M1")
        except AssertionError as exc:
            lines = [ln for ln in bot.log().splitlines() if "status asked" not in ln]
            raise AssertionError(
                f"{exc}\n{ctl(bot, 'status').stdout}\n" + "\n".join(lines[-60:])
            ) from None
        wait_for(lambda: not orders_by_market(rest), 10, "no order left")
    finally:
        code = bot.terminate()
    assert code == 0, bot.log()[-3000:]


def quotes(rest, token: str) -> set[str]:
    return {o["price"] for o in rest.open_orders() if o["asset_id"] == token}


def test_sighup_reloads_params_markets_and_refuses_bad_files(sim, short_dir) -> None:
    rest, _ = venue_client(sim)
    m1, m2 = infos(sim)[:2]
    ref = {"yes_token": m1.yes_token, "no_token": m1.no_token}
    ref2 = {"yes_token": m2.yes_token, "no_token": m2.no_token}
    bot = start(sim, short_dir, [ref], strategy={"edge_fraction": 0.1})
    cfg = yaml.safe_load(bot.config_path.read_text())

    def rewrite(**changes) -> None:
        bot.config_path.write_text(yaml.safe_dump({**cfg, **changes}))

    try:
        wait_for(lambda: quotes(rest, m1.yes_token), 60, "quotes on M1")
        same = ctl(bot, "reload")  # the file as loaded: the socket's reload finds nothing to do
        assert same.returncode == 0 and same.stdout.strip() == "no change", same.stderr
        before = quotes(rest, m1.yes_token)
        rewrite(strategy={"edge_fraction": 0.5})
        bot.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: (q := quotes(rest, m1.yes_token)) and q != before, 20, "quotes moved")
        rewrite(strategy={"edge_fraction": 0.5}, markets=[ref, ref2])
        bot.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: m2.condition_id in orders_by_market(rest), 30, "the added market quoted")
        rewrite(strategy={"edge_fraction": 0.5}, markets=[ref2])
        bot.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: m1.condition_id not in orders_by_market(rest), 10, "removed M1 cancelled")
        bot.config_path.write_text("strategy: {edge_fraction: 7}\n")
        bot.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "invalid config, nothing changed" in bot.log(), 10, "the refusal logged")
        rewrite(strategy={"edge_fraction": 7}, markets=[ref2])  # bad, but names the state dir
        refused = ctl(bot, "reload")  # so ctl still reaches the bot, which says what is wrong
        assert refused.returncode == 1 and "strategy.edge_fraction" in refused.stderr
        rewrite(strategy={"edge_fraction": 0.5}, markets=[ref2], wallet={"funder": "0x" + "1" * 40})
        bot.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "wallet.funder cannot change at runtime" in bot.log(), 10, "refused")
        assert m2.condition_id in orders_by_market(rest)
        assert m1.condition_id not in orders_by_market(rest)  # the refused files changed nothing
        if os.environ.get("SHOW_LOG"):
            print("\n".join(ln for ln in bot.log().splitlines() if "reload" in ln.lower()))
    finally:
        code = bot.terminate()
    assert code == 0, bot.log()[-3000:]


def test_sim_mode_with_a_generated_wallet_serves_ctl_from_the_configured_state_dir(
    short_dir,
) -> None:
    """No key: the journal goes to a throw-away directory, the socket to the configured state dir
    (``ctl`` finds it from the config alone); it is gone after exit."""
    cfg = short_dir / "c.yaml"
    state = short_dir / "s"
    cfg.write_text(yaml.safe_dump({"metrics": {"enabled": False}, "state_dir": str(state)}))
    env = {k: v for k, v in os.environ.items() if k != "POLYMARKET_PRIVATE_KEY"}
    log_path = short_dir / "bot.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "bot.py", "--config", str(cfg)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: list(state.glob("pmbot-*.sock")), 60, "the control socket")
        out = subprocess.run(
            [sys.executable, "bot.py", "ctl", "--config", str(cfg), "--json", "status"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr + log_path.read_text()[-2000:]
        data = json.loads(out.stdout)["data"]
        assert data["mode"] == "sim" and data["markets"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log_path.read_text()[-3000:]
        assert not list(state.glob("pmbot-*.sock"))
    finally:
        stop_process(proc, signal.SIGKILL)
