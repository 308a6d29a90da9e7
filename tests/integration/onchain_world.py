"""Shared set-up for the on-chain tests: the sim chain on loopback, a funded bot wallet holding
both outcomes of a prepared binary condition, and a worker wired to a list sink."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmbot.onchain import abi
from pmbot.onchain.eoa import EoaSender
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.messages import OnchainFailed, OnchainSettled
from pmbot.onchain.rpc import JsonRpc
from pmbot.onchain.worker import OnchainWorker, Targets
from pmbot.sim.chain import SimChain
from pmbot.sim.chain_rpc import ChainServer

BOT_KEY = "0x" + "4b" * 32
SPLIT_UNITS = 10_000_000  # 10 sets
FUNDED_UNITS = 100_000_000


@dataclass
class World:
    chain: SimChain
    server: ChainServer
    bot: str
    oracle: str
    question_id: bytes
    condition_id: str
    yes_id: int
    no_id: int
    workers: list[OnchainWorker] = field(default_factory=list)

    @property
    def targets(self) -> Targets:
        return Targets(collateral=self.chain.pusd, binary=self.chain.ctf, neg_risk=self.chain.ctf)

    def balances(self) -> tuple[int, int, int]:
        c = self.chain
        return (
            c.pusd_balance(self.bot),
            c.token_balance(self.bot, self.yes_id),
            c.token_balance(self.bot, self.no_id),
        )

    def worker(
        self,
        journal_path: Path,
        sink: Any,
        rpc: Any = None,
        **sender_kw: Any,
    ) -> tuple[OnchainWorker, EoaSender]:
        journal = IntentJournal(journal_path)
        kw: dict[str, Any] = {"receipt_timeout_secs": 2.0, "poll_secs": 0.05}
        kw.update(sender_kw)
        stop = threading.Event()
        sender = EoaSender(rpc or JsonRpc(self.server.url), BOT_KEY, journal, stop=stop, **kw)
        report = sink if callable(sink) else sink.append  # a list, or the engine-like inbound.put
        w = OnchainWorker(sender, journal, self.targets, report, backoff_secs=0.05)
        w.stop_event = stop
        self.workers.append(w)
        w.start()
        return w, sender

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.server.stop()


def make_world() -> World:
    chain = SimChain()
    server = ChainServer(chain).start()
    oracle = chain.tester.get_accounts()[1]
    qid = os.urandom(32)
    cid = chain.prepare_condition(oracle, qid)
    bot = chain.add_key(BOT_KEY)
    chain.fund(bot, pusd_units=FUNDED_UNITS)
    chain.transact(
        bot, chain.pusd, abi.call_data("approve(address,uint256)", chain.ctf, abi.MAX_UINT256)
    )
    chain.transact(bot, chain.ctf, abi.split_position(chain.pusd, cid, SPLIT_UNITS))
    return World(
        chain, server, bot, oracle, qid, cid, chain.position_id(cid, 1), chain.position_id(cid, 2)
    )


def wait_for(pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll a condition with a deadline (never a bare sleep as synchronisation)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def settled(sink: list[Any]) -> list[OnchainSettled]:
    return [m for m in sink if isinstance(m, OnchainSettled)]


def failed(sink: list[Any]) -> list[OnchainFailed]:
    return [m for m in sink if isinstance(m, OnchainFailed)]
