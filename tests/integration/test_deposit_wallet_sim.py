"""A deposit-wallet account (signature type 3) against pmbot.sim run as its own process: the bot
(live mode, every URL on the sim, a fixed key from the environment) binds its API key to the
deposit wallet and quotes with type-3 orders in the configured scheme; the sim refuses the rest
with the venue's strings. Evidence for the scheme default: tests/unit/test_deposit_wallet.py."""

from __future__ import annotations

import pytest
import yaml

from pmbot import eip712
from pmbot.sim.markets import BUNDLED_CONFIG
from pmbot.venue.deposit_wallet import derive_wallet_bound_creds
from pmbot.venue.rest import ClobRest
from tests.integration.botproc import TEST_KEY, BotProcess, SimProcess, stop_process, wait_for

WALLET = eip712.checksum_address("0x" + "d3" * 20)
OWNER = eip712.address_of(TEST_KEY)


def deposit_sim(tmp_path, scheme: str = "plain", **extra) -> SimProcess:
    with open(BUNDLED_CONFIG, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    raw["background"] = True
    raw["extra"] = {
        "deposit_wallets": {"scheme": scheme, "accounts": {WALLET: OWNER}},
        **extra,
    }
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(raw))
    return SimProcess("--config", str(path))


def wallet_rest(sim: SimProcess, scheme: str) -> ClobRest:
    creds = derive_wallet_bound_creds(sim.urls["clob_url"], TEST_KEY, WALLET, scheme, 137)
    assert creds.address == WALLET.lower()
    return ClobRest(sim.urls["clob_url"], creds=creds, address=WALLET)


@pytest.mark.parametrize("scheme", ["plain", "erc7739"])
def test_bot_quotes_with_type_3_from_a_deposit_wallet(tmp_path, scheme) -> None:
    sim = deposit_sim(tmp_path, scheme)
    try:
        bot = BotProcess(
            sim,
            tmp_path,
            extra={"wallet": {"signature_type": 3, "funder": WALLET, "deposit_signature": scheme}},
        )
        try:
            rest = wallet_rest(sim, scheme)
            orders = wait_for(rest.open_orders, 60, what="the bot's type-3 quotes")
            assert {o["maker_address"].lower() for o in orders} == {WALLET.lower()}
            assert "bound to deposit wallet" in bot.log()
        finally:
            assert bot.terminate() == 0, bot.log()[-3000:]
        assert wait_for(lambda: rest.open_orders() == [], 10, what="no order left")
    finally:
        stop_process(sim.proc)


def test_the_other_scheme_is_refused_and_nothing_rests(tmp_path) -> None:
    sim = deposit_sim(tmp_path, "erc7739")
    try:
        bot = BotProcess(
            sim,
            tmp_path,
            extra={"wallet": {"signature_type": 3, "funder": WALLET, "deposit_signature": "plain"}},
        )
        try:
            # L1 itself is checked by the wallet's scheme: the bot falls back to the EOA's key,
            # whose type-3 orders the venue refuses with its exact string.
            wait_for(
                lambda: (
                    "the order signer address has to be the address of the API KEY" in bot.log()
                ),
                60,
                what="the venue's refusal in the log",
            )
            assert wallet_rest(sim, "erc7739").open_orders() == []
        finally:
            bot.terminate()
    finally:
        stop_process(sim.proc)
