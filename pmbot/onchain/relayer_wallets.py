"""Relayer requests for proxy, Safe and deposit wallets, signed by the owner EOA (pure).

Follows py-builder-relayer-client 0.0.3 field by field (builder/safe.py, builder/proxy.py,
builder/deposit_wallet.py, models.py): the same EIP-712 SafeTx digest signed with the EIP-191
prefix and v+4 (Safe's eth_sign signature type), the same "rlx:" proxy hash, the same
DepositWallet Batch typed data, and the same JSON field names. ``request_digest`` recomputes
the signed digest from a request, so the sim relayer verifies exactly what a signer signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct, encode_typed_data
from eth_utils import keccak, to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
PROXY_GAS_LIMIT = "500000"  # the client's DEFAULT_GAS_LIMIT
CALL_TYPE_CALL = 1  # the proxy factory's CallType: 0 invalid, 1 call, 2 delegatecall

SAFE_TYPES = {
    "EIP712Domain": [
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "SafeTx": [
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "data", "type": "bytes"},
        {"name": "operation", "type": "uint8"},
        {"name": "safeTxGas", "type": "uint256"},
        {"name": "baseGas", "type": "uint256"},
        {"name": "gasPrice", "type": "uint256"},
        {"name": "gasToken", "type": "address"},
        {"name": "refundReceiver", "type": "address"},
        {"name": "nonce", "type": "uint256"},
    ],
}
WALLET_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Call": [
        {"name": "target", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "data", "type": "bytes"},
    ],
    "Batch": [
        {"name": "wallet", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
        {"name": "calls", "type": "Call[]"},
    ],
}


@dataclass(frozen=True, slots=True)
class RelayContracts:
    """Per-chain addresses (py-builder-relayer-client config.py for 137)."""

    proxy_factory: str = "0xaB45c5A4B0c941a2F231C04C3f49182e1A254052"
    relay_hub: str = "0xD216153c06E857cD7f72665E0aF1d7D82172F494"
    deposit_wallet_factory: str = "0x00000000000Fb5C9ADea0298D729A0CB3823Cc07"


def _safe_digest(chain_id: int, safe: str, to: str, data: str, nonce: int) -> bytes:
    msg = encode_typed_data(
        full_message={
            "types": SAFE_TYPES,
            "primaryType": "SafeTx",
            "domain": {"chainId": chain_id, "verifyingContract": to_checksum_address(safe)},
            "message": {
                "to": to_checksum_address(to),
                "value": 0,
                "data": bytes.fromhex(data.removeprefix("0x")),
                "operation": 0,
                "safeTxGas": 0,
                "baseGas": 0,
                "gasPrice": 0,
                "gasToken": ZERO_ADDRESS,
                "refundReceiver": ZERO_ADDRESS,
                "nonce": nonce,
            },
        }
    )
    return _hash_eip191_message(msg)


def _proxy_digest(
    eoa: str, factory: str, data: str, gas_limit: str, nonce: int, hub: str, relay: str
) -> bytes:
    message = (
        b"rlx:"
        + bytes.fromhex(eoa.removeprefix("0x"))
        + bytes.fromhex(factory.removeprefix("0x"))
        + bytes.fromhex(data.removeprefix("0x"))
        + (0).to_bytes(32, "big")  # relayer fee
        + (0).to_bytes(32, "big")  # gas price
        + int(gas_limit).to_bytes(32, "big")
        + nonce.to_bytes(32, "big")
        + bytes.fromhex(hub.removeprefix("0x"))
        + bytes.fromhex(relay.removeprefix("0x"))
    )
    return keccak(message)


def _wallet_typed(
    chain_id: int, wallet: str, nonce: int, deadline: int, calls: Sequence[dict[str, Any]]
) -> Any:
    return encode_typed_data(
        full_message={
            "types": WALLET_TYPES,
            "primaryType": "Batch",
            "domain": {
                "name": "DepositWallet",
                "version": "1",
                "chainId": chain_id,
                "verifyingContract": to_checksum_address(wallet),
            },
            "message": {
                "wallet": to_checksum_address(wallet),
                "nonce": nonce,
                "deadline": deadline,
                "calls": [
                    {
                        "target": to_checksum_address(c["target"]),
                        "value": int(c["value"]),
                        "data": bytes.fromhex(str(c["data"]).removeprefix("0x")),
                    }
                    for c in calls
                ],
            },
        }
    )


def proxy_calldata(to: str, data: bytes) -> str:
    """``proxy((uint8,address,uint256,bytes)[])`` wrapping one Call."""
    sel = keccak(b"proxy((uint8,address,uint256,bytes)[])")[:4]
    return (
        "0x"
        + (
            sel
            + encode(
                ["(uint8,address,uint256,bytes)[]"],
                [[(CALL_TYPE_CALL, to_checksum_address(to), 0, data)]],
            )
        ).hex()
    )


def _eth_sign(key: str, digest: bytes, *, safe_v: bool) -> str:
    sig = bytes(Account.sign_message(encode_defunct(digest), key).signature)
    if safe_v:  # split_and_pack_sig: v in {27,28} -> {31,32}
        sig = sig[:64] + bytes([sig[64] + 4])
    return "0x" + sig.hex()


def safe_request(
    key: str, chain_id: int, safe: str, to: str, data: bytes, nonce: int
) -> dict[str, Any]:
    eoa = Account.from_key(key).address
    hexdata = "0x" + data.hex()
    sig = _eth_sign(key, _safe_digest(chain_id, safe, to, hexdata, nonce), safe_v=True)
    params = {
        "gasPrice": "0",
        "operation": "0",
        "safeTxnGas": "0",
        "baseGas": "0",
        "gasToken": ZERO_ADDRESS,
        "refundReceiver": ZERO_ADDRESS,
    }
    return {
        "type": "SAFE",
        "from": eoa,
        "to": to_checksum_address(to),
        "proxyWallet": safe,
        "data": hexdata,
        "signature": sig,
        "value": "0",
        "signatureParams": params,
        "nonce": str(nonce),
        "metadata": "",
    }


def proxy_request(
    key: str, c: RelayContracts, proxy: str, to: str, data: bytes, nonce: int, relay: str
) -> dict[str, Any]:
    eoa = Account.from_key(key).address
    wrapped = proxy_calldata(to, data)
    digest = _proxy_digest(
        eoa, c.proxy_factory, wrapped, PROXY_GAS_LIMIT, nonce, c.relay_hub, relay
    )
    params = {"gasPrice": "0", "relayerFee": "0", "gasLimit": PROXY_GAS_LIMIT}
    params.update(relayHub=c.relay_hub, relay=relay)
    return {
        "type": "PROXY",
        "from": eoa,
        "to": c.proxy_factory,
        "proxyWallet": proxy,
        "data": wrapped,
        "signature": _eth_sign(key, digest, safe_v=False),
        "signatureParams": params,
        "nonce": str(nonce),
        "metadata": "",
    }


def wallet_request(
    key: str,
    c: RelayContracts,
    chain_id: int,
    wallet: str,
    to: str,
    data: bytes,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    eoa = Account.from_key(key).address
    calls = [{"target": to_checksum_address(to), "value": "0", "data": "0x" + data.hex()}]
    signed = Account.sign_message(_wallet_typed(chain_id, wallet, nonce, deadline, calls), key)
    return {
        "type": "WALLET",
        "from": eoa,
        "to": c.deposit_wallet_factory,
        "nonce": str(nonce),
        "signature": "0x" + bytes(signed.signature).hex(),
        "depositWalletParams": {"depositWallet": wallet, "deadline": str(deadline), "calls": calls},
    }


def request_signer(req: dict[str, Any], chain_id: int) -> str:
    """The address that signed ``req`` (sim relayer side); ValueError when malformed."""
    sig = bytes.fromhex(str(req["signature"]).removeprefix("0x"))
    if len(sig) != 65:
        raise ValueError("bad signature length")
    kind, nonce = req["type"], int(req["nonce"])
    if kind == "WALLET":
        p = req["depositWalletParams"]
        typed = _wallet_typed(chain_id, p["depositWallet"], nonce, int(p["deadline"]), p["calls"])
        return str(Account.recover_message(typed, signature=sig))
    if kind == "SAFE":
        digest = _safe_digest(chain_id, req["proxyWallet"], req["to"], req["data"], nonce)
        sig = sig[:64] + bytes([sig[64] - 4])
    elif kind == "PROXY":
        sp = req["signatureParams"]
        digest = _proxy_digest(
            req["from"], req["to"], req["data"], sp["gasLimit"], nonce, sp["relayHub"], sp["relay"]
        )
    else:
        raise ValueError(f"unknown request type {kind!r}")
    return str(Account.recover_message(encode_defunct(digest), signature=sig))
