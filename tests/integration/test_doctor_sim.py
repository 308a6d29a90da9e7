"""``bot.py doctor`` as a user runs it, against pmbot.sim in its own process (live mode, URLs on
the sim): each broken setting is named with its cause and the exit code is 1; a bad config is 2;
``--livetest`` places, sees, cancels and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from pmbot import eip712
from pmbot.sim.markets import BUNDLED_CONFIG
from tests.integration.botproc import (
    ROOT,
    TEST_KEY,
    SimProcess,
    free_port,
    stop_process,
    venue_client,
)

EOA = eip712.address_of(TEST_KEY)
WALLET = eip712.checksum_address("0x" + "d3" * 20)


def sim_with(tmp_path, name: str, **top) -> SimProcess:
    with open(BUNDLED_CONFIG, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    raw.update(top)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return SimProcess("--config", str(path))


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    proc = sim_with(tmp_path_factory.mktemp("sim"), "plain")
    yield proc
    stop_process(proc.proc)


def doctor(sim: SimProcess, tmp_path, *flags: str, **sections) -> tuple[int, str]:
    cfg = {
        "mode": "live",
        "venue": {
            k: sim.urls[k]
            for k in ("clob_url", "market_ws_url", "user_ws_url", "data_api_url", "gamma_url")
        },
        "state_dir": str(tmp_path / "state"),
        "markets": sim.binary_markets()[:1],
    }
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(cfg.get(section), dict):
            cfg[section] = {**cfg[section], **values}  # type: ignore[dict-item]
        else:
            cfg[section] = values
    path = tmp_path / "doctor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, POLYMARKET_PRIVATE_KEY=TEST_KEY)
    done = subprocess.run(
        [sys.executable, "bot.py", "doctor", "--config", str(path), *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def line(out: str, name: str) -> str:
    found = [ln for ln in out.splitlines() if ln.split(" ", 1)[-1].startswith(name)]
    assert found, f"no line for {name!r} in:\n{out}"
    return found[0]


def test_healthy_account_passes_and_livetest_leaves_nothing(sim, tmp_path) -> None:
    code, out = doctor(sim, tmp_path, "--livetest")
    assert code == 0, out
    assert line(out, "livetest").startswith("PASS")
    assert "cancelled, gone" in line(out, "livetest")
    assert line(out, "API key").startswith("PASS") and EOA in line(out, "API key")
    assert line(out, "outcome-token approval").startswith("PASS")
    rest, _ = venue_client(sim)
    assert rest.open_orders() == []


def test_dead_url_names_the_url_and_the_cause(sim, tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    code, out = doctor(sim, tmp_path, venue={"clob_url": dead})
    assert code == 1
    got = line(out, "reach venue.clob_url")
    assert got.startswith("FAIL") and dead in got and "connection refused" in got
    assert "check venue.clob_url" in got


def test_wrong_chain_id_is_named(sim, tmp_path) -> None:
    code, out = doctor(sim, tmp_path, venue={"chain_id": 80002})
    assert code == 1
    got = line(out, "API key")
    assert got.startswith("FAIL") and "Invalid L1 Request headers" in got
    assert "venue.chain_id" in got


def test_unknown_token_is_named(sim, tmp_path) -> None:
    code, out = doctor(sim, tmp_path, markets=[{"yes_token": "123", "no_token": "456"}])
    assert code == 1
    got = line(out, "markets[0]")
    assert got.startswith("FAIL") and "not found" in got and "fix markets[0]" in got


@pytest.mark.parametrize(
    ("wallet", "cause"),
    [
        ({"signature_type": 2, "funder": EOA}, "is the key's own address (an EOA)"),
        ({"signature_type": 1}, "type 1 needs wallet.funder"),
        ({"signature_type": 0, "funder": WALLET}, "type 0 trades from the key's own address"),
    ],
)
def test_funder_that_does_not_match_the_wallet_type(sim, tmp_path, wallet, cause) -> None:
    code, out = doctor(sim, tmp_path, "--livetest", wallet=wallet)
    assert code == 1
    got = line(out, f"wallet type {wallet['signature_type']}")
    assert got.startswith("FAIL") and cause in got
    assert line(out, "livetest").startswith("FAIL")


def test_unfunded_wallet_and_missing_allowance(tmp_path) -> None:
    proc = sim_with(tmp_path, "poor", initial_balance=0, extra={"no_allowance": [EOA]})
    try:
        code, out = doctor(proc, tmp_path)
    finally:
        stop_process(proc.proc)
    assert code == 1
    assert line(out, "pUSD balance").startswith("FAIL") and "holds 0 pUSD" in out
    allowance = line(out, "pUSD allowance")
    assert allowance.startswith("FAIL") and "approve pUSD" in allowance
    assert line(out, "outcome-token approval").startswith("FAIL")


def test_deposit_wallet_other_scheme_fails_livetest_naming_the_fix(tmp_path) -> None:
    extra = {"deposit_wallets": {"scheme": "erc7739", "accounts": {WALLET: EOA}}}
    proc = sim_with(tmp_path, "dw", extra=extra)
    wallet = {"signature_type": 3, "funder": WALLET}
    try:
        code, out = doctor(
            proc, tmp_path, "--livetest", wallet={**wallet, "deposit_signature": "plain"}
        )
        good, good_out = doctor(
            proc, tmp_path, "--livetest", wallet={**wallet, "deposit_signature": "erc7739"}
        )
    finally:
        stop_process(proc.proc)
    assert code == 1
    assert line(out, "API key").startswith("WARN")  # wallet-bound L1 refused: EOA key instead
    got = line(out, "livetest")
    assert got.startswith("FAIL") and "the order signer address has to be" in got
    assert "wallet.deposit_signature" in got
    assert good == 0, good_out
    assert f"bound to the deposit wallet {WALLET}" in line(good_out, "API key")
    assert line(good_out, "livetest").startswith("PASS")


def test_bad_config_exits_2(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("mode: live\nwallet: {signature_type: 9}\n")
    done = subprocess.run(
        [sys.executable, "bot.py", "doctor", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "wallet.signature_type" in done.stderr


def test_a_running_bot_is_not_disturbed(sim, tmp_path) -> None:
    from pmbot.lockfile import WalletLock

    lock = WalletLock(str(tmp_path / "state"), EOA)
    lock.acquire()
    try:
        code, out = doctor(sim, tmp_path, "--livetest")
    finally:
        lock.release()
    assert code == 0, out
    assert line(out, "wallet lock").startswith("WARN") and "already running" in out
    assert "livetest:" not in out and "heartbeat endpoint:" not in out  # both skipped
