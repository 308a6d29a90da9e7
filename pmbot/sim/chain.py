"""An in-process EVM chain (eth-tester + py-evm) with the real ConditionalTokens and a pUSD ERC-20.

``SimChain`` deploys the compiled contracts (see chain_artifacts) and keeps its own mempool in
front of eth-tester so that the faults an EOA sender must survive can be produced on purpose:

- ``auto_mine``: every accepted transaction is mined at once (one block each), as on a fast chain;
  with it off, ``mine()`` mines what is pending.
- ``drop_next(n)``: the next n transactions are accepted (their hash returned) but never mined,
  as when a node evicts a transaction from its pool.
- ``min_tip_wei``: transactions tipping less stay pending (underpriced), until replaced.
- a replacement (same sender and nonce) must raise both fee caps by 10%, as geth/bor require.

chain_rpc serves it as JSON-RPC on loopback so the bot talks to it as it would to Polygon.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_tester import EthereumTester, PyEVMBackend  # type: ignore[import-untyped]
from eth_utils import keccak
from hexbytes import HexBytes

from pmbot.onchain import abi
from pmbot.sim.chain_artifacts import load_artifact

REPLACEMENT_BUMP_PCT = 10


class ChainError(Exception):
    """A JSON-RPC level error (the node refused the request)."""

    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class _Pending:
    raw: str
    tx_hash: str
    sender: str
    nonce: int
    max_fee: int
    tip: int
    dropped: bool = False


def _decode_raw(raw_hex: str) -> _Pending:
    raw = bytes.fromhex(raw_hex.removeprefix("0x"))
    sender = Account.recover_transaction(raw)
    tx_hash = "0x" + keccak(raw).hex()
    if raw and raw[0] <= 0x7F:
        d = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        max_fee = int(d.get("maxFeePerGas", d.get("gasPrice", 0)))
        tip = int(d.get("maxPriorityFeePerGas", d.get("gasPrice", 0)))
        nonce = int(d["nonce"])
    else:
        import rlp  # type: ignore[import-untyped]

        fields = rlp.decode(raw)
        nonce = int.from_bytes(fields[0], "big")
        max_fee = tip = int.from_bytes(fields[1], "big")
    return _Pending(raw_hex, tx_hash, sender, nonce, max_fee, tip)


class SimChain:
    """A chain with ``ctf`` (ConditionalTokens) and ``pusd`` (ERC20Mintable) deployed."""

    def __init__(self, contracts_dir: Path | None = None) -> None:
        self._lock = threading.RLock()
        self.tester = EthereumTester(PyEVMBackend())
        self.admin: str = self.tester.get_accounts()[0]
        self.auto_mine = True
        self.min_tip_wei = 0
        self._drop = 0
        self._pool: dict[tuple[str, int], _Pending] = {}
        self._seen: dict[str, _Pending] = {}
        self.accepted: list[str] = []  # every hash accepted, in order (tests inspect it)
        self.pusd = self._deploy(load_artifact("ERC20Mintable", contracts_dir).bytecode)
        self.ctf = self._deploy(load_artifact("ConditionalTokens", contracts_dir).bytecode)

    @property
    def chain_id(self) -> int:
        return int(self.tester.backend.chain.chain_id)

    # --- set-up helpers (tests and the sim relayer) -------------------------------------------

    def _deploy(self, bytecode: str) -> str:
        h = self.tester.send_transaction(
            {"from": self.admin, "data": bytecode, "gas": 6_000_000, "value": 0}
        )
        address = self.tester.get_transaction_receipt(h)["contract_address"]
        if not address:
            raise ChainError("deployment failed")
        return str(address)

    def transact(self, sender: str, to: str, data: bytes, gas: int = 1_000_000) -> dict[str, Any]:
        """Send from an unlocked tester account (admin, or one added with add_key); its receipt."""
        with self._lock:
            h = self.tester.send_transaction(
                {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": gas, "value": 0}
            )
            receipt: dict[str, Any] = self.tester.get_transaction_receipt(h)
        if receipt["status"] != 1:
            raise ChainError(f"transaction {h} reverted")
        return receipt

    def add_key(self, private_key: str) -> str:
        """Unlock an account for ``transact`` (the test drives the bot's wallet by hand)."""
        address = Account.from_key(private_key).address
        if address not in self.tester.get_accounts():
            self.tester.add_account(private_key)
        return str(address)

    def fund(self, address: str, *, wei: int = 10**20, pusd_units: int = 0) -> None:
        with self._lock:
            if wei:
                self.tester.send_transaction(
                    {"from": self.admin, "to": address, "value": wei, "gas": 21_000}
                )
            if pusd_units:
                self.transact(
                    self.admin,
                    self.pusd,
                    abi.call_data("mint(address,uint256)", address, pusd_units),
                )

    def prepare_condition(self, oracle: str, question_id: bytes, outcomes: int = 2) -> str:
        data = abi.call_data(
            "prepareCondition(address,bytes32,uint256)", oracle, question_id, outcomes
        )
        self.transact(self.admin, self.ctf, data)
        got = self.call(
            self.ctf,
            abi.call_data("getConditionId(address,bytes32,uint256)", oracle, question_id, outcomes),
        )
        return "0x" + got.hex()

    def report_payouts(self, oracle: str, question_id: bytes, payouts: list[int]) -> None:
        data = abi.call_data("reportPayouts(bytes32,uint256[])", question_id, payouts)
        self.transact(oracle, self.ctf, data)

    def position_id(self, condition_id: str, index_set: int) -> int:
        cid = abi.bytes32(condition_id)
        coll = self.call(
            self.ctf,
            abi.call_data("getCollectionId(bytes32,bytes32,uint256)", abi.ZERO32, cid, index_set),
        )
        pos = self.call(
            self.ctf, abi.call_data("getPositionId(address,bytes32)", self.pusd, coll[:32])
        )
        return int.from_bytes(pos[:32], "big")

    def token_balance(self, owner: str, token_id: int) -> int:
        return int.from_bytes(self.call(self.ctf, abi.erc1155_balance_of(owner, token_id)), "big")

    def pusd_balance(self, owner: str) -> int:
        return int.from_bytes(self.call(self.pusd, abi.erc20_balance_of(owner)), "big")

    def block_number(self) -> int:
        with self._lock:
            return int(self.tester.get_block_by_number("latest")["number"])

    def call(self, to: str, data: bytes) -> bytes:
        with self._lock:
            out = self.tester.call(
                {"from": self.admin, "to": to, "data": "0x" + data.hex(), "gas": 5_000_000}
            )
        return bytes.fromhex(str(out).removeprefix("0x"))

    # --- the mempool -----------------------------------------------------------------------------

    def drop_next(self, n: int = 1) -> None:
        with self._lock:
            self._drop += n

    def send_raw(self, raw_hex: str) -> str:
        tx = _decode_raw(raw_hex)
        with self._lock:
            if tx.tx_hash in self._seen:
                raise ChainError("already known")
            if tx.nonce < self.tester.get_nonce(tx.sender):
                raise ChainError("nonce too low")
            old = self._pool.get((tx.sender, tx.nonce))
            if old is not None and not old.dropped and not self._bumped(old, tx):
                raise ChainError("replacement transaction underpriced")
            if self._drop > 0:
                self._drop -= 1
                tx.dropped = True
            self._pool[(tx.sender, tx.nonce)] = tx
            self._seen[tx.tx_hash] = tx
            self.accepted.append(tx.tx_hash)
            if self.auto_mine:
                self.mine()
        return tx.tx_hash

    @staticmethod
    def _bumped(old: _Pending, new: _Pending) -> bool:
        factor = 100 + REPLACEMENT_BUMP_PCT
        return new.max_fee * 100 >= old.max_fee * factor and new.tip * 100 >= old.tip * factor

    def mine(self) -> int:
        """Mine every minable pending transaction (one block each); how many were mined."""
        mined = 0
        with self._lock:
            progress = True
            while progress:
                progress = False
                for key, tx in sorted(self._pool.items(), key=lambda kv: kv[0][1]):
                    if tx.dropped or tx.tip < self.min_tip_wei:
                        continue
                    if tx.nonce != self.tester.get_nonce(tx.sender):
                        continue
                    del self._pool[key]
                    self.tester.send_raw_transaction(tx.raw)
                    mined += 1
                    progress = True
                    break
            if mined == 0:
                self.tester.mine_blocks(1)
        return mined

    def pending_nonce(self, address: str) -> int:
        with self._lock:
            nonce = int(self.tester.get_nonce(address))
            while (address, nonce) in self._pool and not self._pool[(address, nonce)].dropped:
                nonce += 1
            return nonce

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        with self._lock:
            try:
                r: dict[str, Any] = self.tester.get_transaction_receipt(tx_hash)
            except Exception:  # eth-tester raises TransactionNotFound for unknown hashes
                return None
        return r if r.get("block_number") is not None else None
