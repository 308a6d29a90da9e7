"""ABI encoding of the contract calls the bot makes on chain (pure; eth-abi does the packing).

Signatures follow the protocol reference section 6.6: the Conditional Tokens calls (also exposed
with the same signatures by Polymarket's CtfCollateralAdapter / NegRiskCtfCollateralAdapter) and
the legacy NegRiskAdapter's ``mergePositions(bytes32,uint256)`` / ``convertPositions``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak

ZERO32 = b"\x00" * 32
BINARY_PARTITION = (1, 2)  # index sets of YES (outcome 0) and NO (outcome 1)
MAX_UINT256 = 2**256 - 1
_SIG = re.compile(r"^(\w+)\((.*)\)$")


def _types(signature: str) -> list[str]:
    m = _SIG.match(signature)
    if m is None:
        raise ValueError(f"bad signature {signature!r}")
    inner = m.group(2)
    return [t for t in inner.split(",") if t] if inner else []


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def call_data(signature: str, *args: Any) -> bytes:
    """4-byte selector plus the ABI-encoded arguments of ``signature``."""
    return selector(signature) + encode(_types(signature), list(args))


def bytes32(value: str | bytes) -> bytes:
    """A 0x-hex (or raw) 32-byte value; errors on any other length."""
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else value
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def decode_words(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    return decode(list(types), data)


# --- Conditional Tokens (and the pUSD collateral adapters, same signatures) -----------------


def merge_positions(collateral: str, condition_id: str, amount: int) -> bytes:
    return call_data(
        "mergePositions(address,bytes32,bytes32,uint256[],uint256)",
        collateral,
        ZERO32,
        bytes32(condition_id),
        list(BINARY_PARTITION),
        amount,
    )


def split_position(collateral: str, condition_id: str, amount: int) -> bytes:
    return call_data(
        "splitPosition(address,bytes32,bytes32,uint256[],uint256)",
        collateral,
        ZERO32,
        bytes32(condition_id),
        list(BINARY_PARTITION),
        amount,
    )


def redeem_positions(collateral: str, condition_id: str) -> bytes:
    return call_data(
        "redeemPositions(address,bytes32,bytes32,uint256[])",
        collateral,
        ZERO32,
        bytes32(condition_id),
        list(BINARY_PARTITION),
    )


def set_approval_for_all(operator: str, approved: bool = True) -> bytes:
    return call_data("setApprovalForAll(address,bool)", operator, approved)


def erc1155_balance_of(owner: str, token_id: int) -> bytes:
    return call_data("balanceOf(address,uint256)", owner, token_id)


def erc20_balance_of(owner: str) -> bytes:
    return call_data("balanceOf(address)", owner)


def payout_denominator(condition_id: str) -> bytes:
    return call_data("payoutDenominator(bytes32)", bytes32(condition_id))


# --- legacy NegRiskAdapter ------------------------------------------------------------------


def neg_risk_merge(condition_id: str, amount: int) -> bytes:
    return call_data("mergePositions(bytes32,uint256)", bytes32(condition_id), amount)


def neg_risk_convert(market_id: str, index_set: int, amount: int) -> bytes:
    return call_data(
        "convertPositions(bytes32,uint256,uint256)", bytes32(market_id), index_set, amount
    )
