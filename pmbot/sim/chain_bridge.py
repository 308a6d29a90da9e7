"""Sim mode with the chain (issue 18): the sim exchange's ledger and the in-process chain kept in
step for the bot's wallet, so that the bot merges and redeems on the real ConditionalTokens.

- Every sim market is a prepared condition on the chain: the sim's condition ids are CTF's
  ``getConditionId(SIM_ORACLE, questionId, 2)`` (pmbot.sim.markets), so the bot's
  ``mergePositions`` names the very condition it traded. YES is index set 1, NO index set 2.
  Neg-risk event markets are prepared the same way, as plain binary conditions on pUSD: the sim
  chain has no NegRiskAdapter (its compiled artifact is not on npm), see README.
- The exchange's admin account is the custodian: what the bot buys on the sim exchange it receives
  on chain (from the custodian's stock, split from minted pUSD as needed), what it sells goes back
  (the bot's wallet approves the custodian once, at attach, before the bot sends anything).
- ``sync_once`` is a three-way merge against the last agreed balances: the ledger's changes (fills,
  fees) are applied to the chain, the chain's changes (the bot's merges and redemptions) to the
  ledger. Amounts are 6-decimal base units; ledger dust below one unit waits for the next tick.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from eth_account import Account

from pmbot.config import OnchainConfig
from pmbot.onchain import abi
from pmbot.onchain.messages import SCALE, UNIT
from pmbot.sim.chain import ChainError, SimChain
from pmbot.sim.chain_ids import question_id_for

log = logging.getLogger("pmbot.sim.chain_bridge")

SIM_ORACLE_KEY = "0x" + "0a" * 32  # its address is pmbot.sim.markets.SIM_ORACLE
PUSD = "pusd"
GAS_WEI = 10**21


class Exchange(Protocol):
    """What the bridge needs of ``pmbot.sim.engine.Exchange``."""

    lock: Any
    markets: dict[str, Any]
    config: Any

    def account(self, address: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Mirrored:
    """A sim token and its ERC-1155 position id on the chain."""

    token: str
    position_id: int


def units(amount: Decimal) -> int:
    """Ledger amount to base units, rounded toward zero (dust waits for the next tick)."""
    return int((amount.quantize(UNIT, rounding=ROUND_DOWN) * SCALE).to_integral_value())


class ChainBridge:
    """Prepares the sim's markets on ``chain`` and mirrors one wallet between ledger and chain."""

    def __init__(self, exchange: Exchange, chain: SimChain, poll_secs: float = 0.02) -> None:
        self.exchange, self.chain, self.poll_secs = exchange, chain, poll_secs
        self.custodian = chain.admin
        self.oracle = chain.add_key(SIM_ORACLE_KEY)
        self.tokens: dict[str, Mirrored] = {}
        self.wallet = ""
        self._synced: dict[str, int] = {}
        self._on_chain: dict[str, int] = {}
        self._sync_lock = threading.Lock()  # the bridge thread and the RPC server both sync
        self._block = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sync_errors = 0
        chain.fund(self.oracle, wei=GAS_WEI)
        chain.transact(
            self.custodian, chain.pusd, abi.call_data("approve(address,uint256)", chain.ctf, 2**255)
        )
        self._prepare_markets()

    def _prepare_markets(self) -> None:
        seed = self.exchange.config.seed
        for cid, market in sorted(self.exchange.markets.items()):
            got = self.chain.prepare_condition(self.oracle, question_id_for(seed, market.slug))
            if got.lower() != cid.lower():
                raise ChainError(
                    f"sim market {market.slug}: condition {cid} is not the CTF's {got}"
                )
            for token, index_set in ((market.yes_token, 1), (market.no_token, 2)):
                self.tokens[token] = Mirrored(token, self.chain.position_id(cid, index_set))

    def resolve(self, condition_id: str, winner_index: int) -> None:
        """Report the payouts of a sim market on chain (the sim oracle), so it can be redeemed."""
        market = self.exchange.markets[condition_id]
        qid = question_id_for(self.exchange.config.seed, market.slug)
        payouts = [1 if i == winner_index else 0 for i in range(2)]
        self.chain.report_payouts(self.oracle, qid, payouts)

    # --- the bot's wallet ---------------------------------------------------------------------

    def attach(self, private_key: str) -> str:
        """Fund the bot's wallet with gas, approve the custodian, mirror its ledger; its address.
        Call before the bot's on-chain worker starts (these use the wallet's first nonces)."""
        chain = self.chain
        wallet = Account.from_key(private_key).address
        chain.add_key(private_key)
        chain.fund(wallet, wei=GAS_WEI)
        chain.transact(
            wallet, chain.pusd, abi.call_data("approve(address,uint256)", self.custodian, 2**255)
        )
        chain.transact(wallet, chain.ctf, abi.set_approval_for_all(self.custodian))
        self.wallet = wallet
        self._synced = {PUSD: 0, **{t: 0 for t in self.tokens}}
        with self.exchange.lock:
            self.exchange.account(wallet)  # created with the sim's initial balance
        self.sync_once()
        return wallet

    def start(self) -> ChainBridge:
        self._thread = threading.Thread(target=self._run, name="sim-chain-bridge", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_secs):
            try:
                self.sync_once()
            except Exception:  # the sim keeps running; the next tick retries from fresh balances
                self.sync_errors += 1
                log.exception("sim chain bridge: sync failed")

    # --- the three-way sync -------------------------------------------------------------------

    def chain_balances(self) -> dict[str, int]:
        """The wallet's pUSD and every mirrored position, in two calls (balanceOfBatch)."""
        chain, tokens = self.chain, list(self.tokens.values())
        data = abi.call_data(
            "balanceOfBatch(address[],uint256[])",
            [self.wallet] * len(tokens),
            [m.position_id for m in tokens],
        )
        (values,) = abi.decode_words(["uint256[]"], chain.call(chain.ctf, data))
        out = {PUSD: chain.pusd_balance(self.wallet)}
        out.update({m.token: int(v) for m, v in zip(tokens, values, strict=True)})
        return out

    def sync_once(self) -> None:
        """Apply the ledger's changes to the chain and the chain's to the ledger. The chain is
        read again only after a new block (nothing on it moves otherwise)."""
        if not self.wallet:
            return
        with self._sync_lock:
            self._sync()

    def _sync(self) -> None:
        block = self.chain.block_number()
        if block != self._block:
            self._on_chain, self._block = self.chain_balances(), block
        on_chain = self._on_chain
        to_chain: dict[str, int] = {}
        with self.exchange.lock:
            acct = self.exchange.account(self.wallet)
            for key, synced in self._synced.items():
                held = acct.collateral if key == PUSD else acct.positions.get(key, Decimal(0))
                d_ledger, d_chain = units(held) - synced, on_chain[key] - synced
                if d_chain:
                    _credit(acct, key, Decimal(d_chain) / SCALE)
                if d_ledger:
                    to_chain[key] = d_ledger
                self._synced[key] = synced + d_chain + d_ledger
        for key, delta in to_chain.items():
            try:
                self._move(key, delta)
            except ChainError as exc:  # e.g. the bot merged what the ledger just sold
                self._synced[key] -= delta  # retried against fresh balances next tick
                self.sync_errors += 1
                log.warning("sim chain bridge: could not mirror %s %+d: %s", key, delta, exc)

    def _move(self, key: str, delta: int) -> None:
        chain, custodian, wallet = self.chain, self.custodian, self.wallet
        if key == PUSD:
            if delta > 0:
                chain.transact(custodian, chain.pusd, _mint(wallet, delta))
            else:
                data = abi.call_data(
                    "transferFrom(address,address,uint256)", wallet, custodian, -delta
                )
                chain.transact(custodian, chain.pusd, data)
            return
        pid = self.tokens[key].position_id
        if delta < 0:
            chain.transact(custodian, chain.ctf, _transfer(wallet, custodian, pid, -delta))
            return
        short = delta - chain.token_balance(custodian, pid)
        if short > 0:  # the custodian mints sets for the shortfall (its complement stays with it)
            chain.transact(custodian, chain.pusd, _mint(custodian, short))
            cid = self._condition_of(key)
            chain.transact(custodian, chain.ctf, abi.split_position(chain.pusd, cid, short))
        chain.transact(custodian, chain.ctf, _transfer(custodian, wallet, pid, delta))

    def _condition_of(self, token: str) -> str:
        for cid, m in self.exchange.markets.items():
            if token in (m.yes_token, m.no_token):
                return str(cid)
        raise KeyError(token)


def _credit(acct: Any, key: str, amount: Decimal) -> None:
    """A chain-side change booked in the ledger: pUSD to collateral, a burnt or redeemed position
    out of the positions (its cost basis shrinks in proportion)."""
    if key == PUSD:
        acct.collateral += amount
        return
    held = acct.positions.get(key, Decimal(0))
    basis = acct.cost.get(key)
    if basis is not None and held > 0 and amount < 0:
        basis[0] -= basis[0] * min(-amount, held) / held
    acct.positions[key] = held + amount


def _mint(to: str, amount: int) -> bytes:
    return abi.call_data("mint(address,uint256)", to, amount)


def _transfer(src: str, dst: str, position_id: int, amount: int) -> bytes:
    return abi.call_data(
        "safeTransferFrom(address,address,uint256,uint256,bytes)",
        src,
        dst,
        position_id,
        amount,
        b"",
    )


class SimChainRun:
    """Sim mode with ``onchain.enabled``: the chain, its JSON-RPC server on loopback and the
    bridge, started together; ``attach`` the bot's key once it is known, ``stop`` at exit."""

    def __init__(self, exchange: Exchange, host: str = "127.0.0.1") -> None:
        from pmbot.sim.chain_rpc import ChainServer

        self.chain = SimChain()
        self.bridge = ChainBridge(exchange, self.chain)
        self.server = ChainServer(self.chain, host=host)
        # What the bot asks the chain sees what it traded on the sim exchange so far, as on the
        # venue once its trades are mined (the bridge thread catches up the rest).
        self.server.rpc.before_state = self.bridge.sync_once
        self.server.start()

    def onchain_config(self, base: OnchainConfig) -> OnchainConfig:
        """``base`` pointed at this chain: its RPC, pUSD and CTF (no adapters: the CTF direct)."""
        c = self.chain
        return dataclasses.replace(
            base,
            rpc_url=self.server.url,
            collateral=c.pusd,
            ctf_address=c.ctf,
            ctf_target=c.ctf,
            neg_risk_target=c.ctf,
        )

    def attach(self, private_key: str) -> str:
        wallet = self.bridge.attach(private_key)
        self.bridge.start()
        c = self.chain
        log.info(
            "sim chain on %s (pUSD %s, CTF %s): wallet %s mirrored from the sim ledger",
            self.server.url,
            c.pusd,
            c.ctf,
            wallet,
        )
        return wallet

    def stop(self) -> None:
        self.bridge.stop()
        self.server.stop()
