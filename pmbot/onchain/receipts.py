"""Transaction receipts, parsed from JSON-RPC, and the pUSD they paid to the wallet (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


@dataclass(frozen=True, slots=True)
class Log:
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: str
    status: int
    block: int
    gas_used: int
    effective_gas_price: int
    logs: tuple[Log, ...]

    @property
    def cost_wei(self) -> int:
        return self.gas_used * self.effective_gas_price


def parse_receipt(raw: dict[str, Any]) -> Receipt:
    """A JSON-RPC receipt object; ValueError/KeyError/TypeError when malformed."""
    logs = tuple(
        Log(str(lg["address"]), tuple(str(t) for t in lg["topics"]), str(lg["data"]))
        for lg in raw.get("logs", [])
    )
    return Receipt(
        tx_hash=str(raw["transactionHash"]),
        status=int(raw["status"], 16),
        block=int(raw["blockNumber"], 16),
        gas_used=int(raw["gasUsed"], 16),
        effective_gas_price=int(raw.get("effectiveGasPrice", "0x0"), 16),
        logs=logs,
    )


def _topic_address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def collateral_received(receipt: Receipt, collateral: str, wallet: str) -> int:
    """Base units of ``collateral`` (an ERC-20) transferred to ``wallet`` by this transaction."""
    total = 0
    for lg in receipt.logs:
        if lg.address.lower() != collateral.lower() or len(lg.topics) != 3:
            continue
        if lg.topics[0].lower() != TRANSFER_TOPIC or _topic_address(lg.topics[2]) != wallet.lower():
            continue
        total += int(lg.data, 16)
    return total
