"""EOA transaction sender over JSON-RPC: gas and fees from the node, a nonce manager, receipts
awaited with a timeout, a dropped or stuck transaction replaced with the same nonce and a higher
fee. Every signed transaction is journalled before it is broadcast, so a restart resumes it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from eth_account import Account

from pmbot.errors import FatalError, RejectedError, TransientError
from pmbot.onchain import gas
from pmbot.onchain.journal import IntentJournal, SentTx
from pmbot.onchain.nonce import NonceManager
from pmbot.onchain.receipts import Receipt, parse_receipt
from pmbot.onchain.rpc import RpcError, quantity

log = logging.getLogger(__name__)


class Rpc(Protocol):
    def call(self, method: str, *params: Any) -> Any: ...


class Stopping(Exception):
    """The worker is stopping; the intent stays open in the journal."""


class EoaSender:
    def __init__(
        self,
        rpc: Rpc,
        private_key: str,
        journal: IntentJournal,
        *,
        stop: threading.Event,
        receipt_timeout_secs: float = 60.0,
        poll_secs: float = 2.0,
        max_fee_cap_wei: int = 1_000 * 10**9,
        max_replacements: int = 5,
        chain_id: int | None = None,
    ) -> None:
        self._rpc = rpc
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address
        self._journal = journal
        self._stop = stop
        self._timeout = receipt_timeout_secs
        self._poll = poll_secs
        self._cap = max_fee_cap_wei
        self._max_replacements = max_replacements
        self._chain_id = chain_id
        self.nonces = NonceManager()
        self.replacements = 0  # total same-nonce replacements sent (metrics)

    def start(self) -> None:
        node_chain = quantity(self._rpc.call("eth_chainId"))
        if self._chain_id is not None and node_chain != self._chain_id:
            raise FatalError(f"onchain: node chain id {node_chain} != configured {self._chain_id}")
        self._chain_id = node_chain
        self.nonces.sync(self._tx_count("pending"), self._journal.max_nonce())

    # --- the node ----------------------------------------------------------------------------

    def _tx_count(self, tag: str) -> int:
        return quantity(self._rpc.call("eth_getTransactionCount", self.address, tag))

    def _fees(self) -> gas.Fees:
        block = self._rpc.call("eth_getBlockByNumber", "latest", False)
        base = quantity(block.get("baseFeePerGas", "0x0")) if isinstance(block, dict) else 0
        tip = quantity(self._rpc.call("eth_maxPriorityFeePerGas"))
        return gas.price(base, tip, cap=self._cap)

    def _receipt(self, tx_hash: str) -> Receipt | None:
        raw = self._rpc.call("eth_getTransactionReceipt", tx_hash)
        if raw is None:
            return None
        try:
            return parse_receipt(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"malformed receipt for {tx_hash}: {exc}") from None

    def _find(self, sends: list[SentTx]) -> Receipt | None:
        for s in sends:
            r = self._receipt(s.tx_hash)
            if r is not None:
                return r
        return None

    # --- signing and broadcasting ------------------------------------------------------------

    def _sign_and_send(
        self, intent_id: str, to: str, data: bytes, nonce: int, g: int, fees: gas.Fees
    ) -> bool:
        tx = {
            "type": 2,
            "chainId": self._chain_id,
            "nonce": nonce,
            "to": to,
            "data": "0x" + data.hex(),
            "value": 0,
            "gas": g,
            "maxFeePerGas": fees.max_fee,
            "maxPriorityFeePerGas": fees.tip,
        }
        signed = self._account.sign_transaction(tx)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        tx_hash = "0x" + bytes(signed.hash).hex()
        sent = SentTx(nonce, tx_hash, raw, fees.max_fee, fees.tip, g)
        self._journal.add_sent(intent_id, sent)  # before the broadcast: a restart can resume it
        log.info(
            "onchain tx %s intent=%s nonce=%d maxFee=%d tip=%d",
            tx_hash,
            intent_id,
            nonce,
            fees.max_fee,
            fees.tip,
        )
        return self._broadcast(raw, tx_hash)

    def _broadcast(self, raw: str, tx_hash: str) -> bool:
        """False when the node refused it as underpriced; raises on a definite refusal."""
        try:
            self._rpc.call("eth_sendRawTransaction", raw)
        except TransientError as exc:
            log.warning("onchain tx %s: broadcast outcome unknown (%s)", tx_hash, exc)
        except RpcError as exc:
            msg = exc.rpc_message.lower()
            if "underpriced" in msg:
                return False
            if "already known" in msg or "known transaction" in msg or "nonce too low" in msg:
                return True  # the receipt or the nonce check decides
            raise
        return True

    # --- the lifecycle -----------------------------------------------------------------------

    def execute(self, intent_id: str, to: str, data: bytes) -> Receipt:
        """Send (or resume) the intent's transaction and return its successful receipt.

        Raises RejectedError when it reverted or cannot be sent (positions unchanged),
        TransientError when it is not final yet (call again later: it resumes), Stopping."""
        record = self._journal.records[intent_id]
        if record.sends:
            found = self._find(record.sends)
            if found is not None:
                return self._final(found)
            last = record.sends[-1]
            if self._tx_count("latest") <= last.nonce:
                self._broadcast(last.raw, last.tx_hash)
        else:
            try:
                estimate = quantity(
                    self._rpc.call(
                        "eth_estimateGas",
                        {"from": self.address, "to": to, "data": "0x" + data.hex()},
                    )
                )
            except RpcError as exc:
                raise RejectedError(f"would revert: {exc.rpc_message}") from None
            # another sender of this EOA (a hand-made approval) may have used nonces meanwhile
            self.nonces.sync(self._tx_count("pending"), self._journal.max_nonce())
            nonce = self.nonces.allocate()
            self._sign_and_send(intent_id, to, data, nonce, gas.gas_limit(estimate), self._fees())
        return self._await(intent_id, to, data)

    def _await(self, intent_id: str, to: str, data: bytes) -> Receipt:
        sends = self._journal.records[intent_id].sends
        for _ in range(self._max_replacements + 1):
            found = self._wait(sends)
            if found is not None:
                return self._final(found)
            last = sends[-1]
            if self._tx_count("latest") > last.nonce:
                found = self._find(sends)  # mined between the last poll and the count
                if found is not None:
                    return self._final(found)
                raise RejectedError(
                    f"nonce {last.nonce} was used by a transaction not in the journal"
                )
            fees = gas.bump(gas.Fees(last.max_fee, last.tip), self._fees(), cap=self._cap)
            if fees is None:
                log.warning(
                    "onchain intent %s: fee cap reached, waiting on %s", intent_id, last.tx_hash
                )
                continue
            self.replacements += 1
            log.warning(
                "onchain intent %s: %s not mined in %.0fs, replacing",
                intent_id,
                last.tx_hash,
                self._timeout,
            )
            self._sign_and_send(intent_id, to, data, last.nonce, last.gas, fees)
        raise TransientError(
            f"intent {intent_id}: not mined after {self._max_replacements} replacements"
        )

    def _wait(self, sends: list[SentTx]) -> Receipt | None:
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                found = self._find(sends)
            except TransientError as exc:
                log.warning("onchain: receipt poll failed (%s)", exc)
                found = None
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if self._stop.wait(min(self._poll, remaining)):
                raise Stopping()

    @staticmethod
    def _final(receipt: Receipt) -> Receipt:
        if receipt.status != 1:
            raise RejectedError(f"tx {receipt.tx_hash} reverted in block {receipt.block}")
        return receipt
