"""Proxy, Safe and deposit wallets: the bot's relayer path against the sim relayer, which checks
the builder HMAC and the owner's signature and executes the call on the real CTF as the wallet."""

from __future__ import annotations

import base64
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pmbot.onchain import abi
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.messages import MergeIntent, RedeemIntent
from pmbot.onchain.relayer import BuilderCreds, RelayerClient, RelayerSender
from pmbot.onchain.rpc import JsonRpc
from pmbot.onchain.worker import OnchainWorker
from pmbot.sim.relayer import RelayerServer, SimRelayer
from tests.integration.onchain_world import (
    BOT_KEY,
    SPLIT_UNITS,
    World,
    failed,
    make_world,
    settled,
    wait_for,
)

SECRET = base64.urlsafe_b64encode(b"s" * 32).decode()
CREDS = BuilderCreds("builder-key", SECRET, "pass")
TYPES = {"PROXY": 1, "SAFE": 2, "WALLET": 3}


class RelayWorld:
    def __init__(self, world: World, kind: str) -> None:
        self.world = world
        self.kind = kind
        self.sim = SimRelayer(world.chain, CREDS.key, CREDS.secret, CREDS.passphrase)
        self.server = RelayerServer(self.sim).start()
        self.wallet = self.sim.open_wallet(world.bot, kind)
        chain, cid = world.chain, world.condition_id
        chain.fund(self.wallet, wei=0, pusd_units=SPLIT_UNITS)
        approve = abi.call_data("approve(address,uint256)", chain.ctf, abi.MAX_UINT256)
        chain.transact(self.wallet, chain.pusd, approve)
        chain.transact(self.wallet, chain.ctf, abi.split_position(chain.pusd, cid, SPLIT_UNITS))
        self.workers: list[OnchainWorker] = []

    def balances(self) -> tuple[int, int, int]:
        c = self.world.chain
        return (
            c.pusd_balance(self.wallet),
            c.token_balance(self.wallet, self.world.yes_id),
            c.token_balance(self.wallet, self.world.no_id),
        )

    def worker(self, path: Path, sink: list[Any], creds: BuilderCreds = CREDS) -> OnchainWorker:
        journal = IntentJournal(path)
        stop = threading.Event()
        sender = RelayerSender(
            RelayerClient(self.server.url, creds),
            JsonRpc(self.world.server.url),
            BOT_KEY,
            journal,
            signature_type=TYPES[self.kind],
            wallet=self.wallet,
            chain_id=self.world.chain.chain_id,
            stop=stop,
            poll_secs=0.05,
            timeout_secs=30.0,
        )
        w = OnchainWorker(sender, journal, self.world.targets, sink.append, backoff_secs=0.05)
        w.stop_event = stop
        self.workers.append(w)
        w.start()
        return w

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.server.stop()


@pytest.fixture
def world() -> Any:
    w = make_world()
    yield w
    w.close()


@pytest.fixture(params=["SAFE", "PROXY", "WALLET"])
def relay(world: World, request: Any) -> Any:
    r = RelayWorld(world, request.param)
    yield r
    r.close()


def test_merge_through_the_relayer(relay: RelayWorld, tmp_path: Path) -> None:
    pusd0, yes0, no0 = relay.balances()
    sink: list[Any] = []
    w = relay.worker(tmp_path / "j.jsonl", sink)
    w.submit(MergeIntent("m1", relay.world.condition_id, Decimal(3), reason="arbitrage"))
    wait_for(lambda: settled(sink) or failed(sink), "outcome")
    (s,) = settled(sink)
    assert s.collateral == Decimal(3) and s.cost_native == 0
    assert relay.balances() == (pusd0 + 3_000_000, yes0 - 3_000_000, no0 - 3_000_000)
    assert relay.sim.wallets[relay.wallet.lower()].nonce == 1


def test_redeem_through_the_relayer(relay: RelayWorld, tmp_path: Path) -> None:
    world = relay.world
    world.chain.report_payouts(world.oracle, world.question_id, [0, 1])
    pusd0, _, _ = relay.balances()
    sink: list[Any] = []
    w = relay.worker(tmp_path / "j.jsonl", sink)
    w.submit(RedeemIntent("r1", world.condition_id))
    wait_for(lambda: settled(sink) or failed(sink), "outcome")
    assert settled(sink)[0].collateral == Decimal(SPLIT_UNITS) / 10**6
    assert relay.balances() == (pusd0 + SPLIT_UNITS, 0, 0)


@pytest.mark.parametrize("kind", ["SAFE"])
def test_failed_relay_changes_nothing(world: World, tmp_path: Path, kind: str) -> None:
    relay = RelayWorld(world, kind)
    try:
        before = relay.balances()
        relay.sim.fail_next = 1
        sink: list[Any] = []
        w = relay.worker(tmp_path / "j.jsonl", sink)
        w.submit(MergeIntent("m1", world.condition_id, Decimal(3)))
        wait_for(lambda: failed(sink), "failure")
        assert failed(sink)[0].final and not settled(sink)
        assert relay.balances() == before
    finally:
        relay.close()


def test_lost_submit_answer_is_found_not_posted_twice(world: World, tmp_path: Path) -> None:
    relay = RelayWorld(world, "SAFE")
    try:
        pusd0, _, _ = relay.balances()
        relay.sim.lose_next_response = 1
        sink: list[Any] = []
        w = relay.worker(tmp_path / "j.jsonl", sink)
        w.submit(MergeIntent("m1", world.condition_id, Decimal(2)))
        wait_for(lambda: settled(sink), "settled after the lost answer")
        assert [f.final for f in failed(sink)] == [False]
        assert relay.sim.submits == 1 and len(settled(sink)) == 1
        assert relay.balances()[0] == pusd0 + 2_000_000
    finally:
        relay.close()


def test_bad_builder_credentials_stop_the_worker_and_change_nothing(
    world: World, tmp_path: Path
) -> None:
    relay = RelayWorld(world, "SAFE")
    try:
        before = relay.balances()
        sink: list[Any] = []
        bad = BuilderCreds("builder-key", base64.urlsafe_b64encode(b"x" * 32).decode(), "pass")
        w = relay.worker(tmp_path / "j.jsonl", sink, creds=bad)
        w.submit(MergeIntent("m1", world.condition_id, Decimal(2)))
        wait_for(lambda: failed(sink), "failure")
        assert "credentials" in failed(sink)[0].error
        assert relay.balances() == before
        assert IntentJournal(tmp_path / "j.jsonl").open_intents() != []  # resumable once fixed
    finally:
        relay.close()


def test_restart_while_relayed_tx_pending_settles_once(world: World, tmp_path: Path) -> None:
    relay = RelayWorld(world, "WALLET")
    path = tmp_path / "j.jsonl"
    try:
        pusd0, _, _ = relay.balances()
        relay.sim.hold = True
        w1 = relay.worker(path, [])
        w1.submit(MergeIntent("m1", world.condition_id, Decimal(4)))
        wait_for(
            lambda: (
                IntentJournal(path).records.get("m1") is not None
                and IntentJournal(path).records["m1"].relay_ids != []
            ),
            "relayed",
        )
        w1.stop()  # the bot dies while the relayer still works on it
        relay.sim.release()
        sink2: list[Any] = []
        relay.worker(path, sink2)
        wait_for(lambda: settled(sink2), "settled after restart")
        assert len(settled(sink2)) == 1 and relay.sim.submits == 1
        assert relay.balances()[0] == pusd0 + 4_000_000
    finally:
        relay.close()
