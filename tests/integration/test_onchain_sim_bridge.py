"""pmbot.sim.chain_bridge: the sim's markets are the CTF's own conditions on the in-process chain,
and one wallet is kept in step between the sim ledger and the chain in both directions."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from eth_account import Account

from pmbot.onchain import abi
from pmbot.sim.chain import SimChain
from pmbot.sim.chain_bridge import SIM_ORACLE_KEY, ChainBridge
from pmbot.sim.chain_ids import SIM_ORACLE
from pmbot.sim.engine import Exchange
from pmbot.sim.markets import load_sim_config

D = Decimal
KEY = "0x" + "4b" * 32


def make() -> tuple[Exchange, SimChain, ChainBridge, str]:
    exchange = Exchange(dataclasses.replace(load_sim_config(None), background=False))
    chain = SimChain()
    bridge = ChainBridge(exchange, chain)  # raises if a sim condition id is not the CTF's
    return exchange, chain, bridge, bridge.attach(KEY)


def test_oracle_constant_is_the_oracle_key_address() -> None:
    assert Account.from_key(SIM_ORACLE_KEY).address.lower() == "0x" + SIM_ORACLE.hex()


def test_markets_prepared_and_wallet_mirrored_both_ways() -> None:
    exchange, chain, bridge, wallet = make()
    assert len(bridge.tokens) == 2 * len(exchange.markets) > 0
    start = exchange.balance(wallet)
    assert chain.pusd_balance(wallet) == int(start * 10**6)  # the sim's initial balance, on chain
    market = next(iter(exchange.markets.values()))
    yes, no = (bridge.tokens[t].position_id for t in (market.yes_token, market.no_token))
    # the ledger gains shares (fills): the chain follows
    exchange.set_position(wallet, market.yes_token, D("7.5"))
    exchange.set_position(wallet, market.no_token, D("5"))
    bridge.sync_once()
    assert (chain.token_balance(wallet, yes), chain.token_balance(wallet, no)) == (
        7_500_000,
        5_000_000,
    )
    # the wallet merges on chain: the ledger follows (4 sets -> 4 pUSD)
    chain.transact(
        wallet, chain.ctf, abi.merge_positions(chain.pusd, market.condition_id, 4_000_000)
    )
    bridge.sync_once()
    assert exchange.position(wallet, market.yes_token) == D("3.5")
    assert exchange.position(wallet, market.no_token) == D("1")
    assert exchange.balance(wallet) == start + 4
    assert chain.pusd_balance(wallet) == int((start + 4) * 10**6)
    # the ledger loses shares and cash (a sale, a fee): the chain follows
    exchange.set_position(wallet, market.yes_token, D("1"))
    exchange.set_balance(wallet, start + D("3.25"))
    bridge.sync_once()
    assert chain.token_balance(wallet, yes) == 1_000_000
    assert chain.pusd_balance(wallet) == int((start + D("3.25")) * 10**6)
    assert bridge.sync_errors == 0
    # resolution through the sim oracle makes the condition redeemable on chain
    bridge.resolve(market.condition_id, 0)
    chain.transact(wallet, chain.ctf, abi.redeem_positions(chain.pusd, market.condition_id))
    bridge.sync_once()
    assert exchange.position(wallet, market.yes_token) == 0
    assert exchange.position(wallet, market.no_token) == 0
    assert exchange.balance(wallet) == start + D("3.25") + 1  # 1 winning YES share
