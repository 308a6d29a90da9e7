"""The two signature schemes a Polymarket deposit wallet (signature type 3, POLY_1271) may accept.

Pure functions, no I/O. A deposit wallet is an ERC-1271 contract owned by an EOA; the venue (and,
at settlement, the exchange contract) asks the wallet ``isValidSignature(hash, signature)``.
Public reports differ on what the deployed wallets verify (see README "Deposit wallets"):

- ``plain``: the owner's 65-byte ECDSA signature over the EIP-712 digest itself (order digest
  under the exchange domain; ClobAuth digest under ``ClobAuthDomain``). Measured on-chain against a
  relayer-deployed deposit wallet (py-clob-client-v2 #70, 2026-07-25): valid (``0x1626ba7e``).
- ``erc7739``: Solady's nested ``TypedDataSign`` wrapper the official SDKs build (py-clob-client-v2
  PR #39, rs-clob-client-v2 PR #33): ``sig(65) | appDomainSeparator(32) | contentsHash(32) |
  contentsType | uint16(len(contentsType))`` where the owner signs
  ``keccak(0x1901 | appDomainSeparator | hashStruct(TypedDataSign(contents, "DepositWallet", "1",
  chainId, wallet, 0x0)))``.

Both are implemented for orders and for ClobAuth (L1) messages; :func:`recover_owner` returns
the EOA that signed, or raises ValueError when the bytes do not fit the scheme.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pmbot import eip712

Scheme = Literal["plain", "erc7739"]
SCHEMES: tuple[Scheme, ...] = ("plain", "erc7739")
DEFAULT_SCHEME: Scheme = "plain"

CLOB_AUTH_TYPE_STRING = "ClobAuth(address address,string timestamp,uint256 nonce,string message)"
_NAME_HASH = eip712.keccak256(b"DepositWallet")
_VERSION_HASH = eip712.keccak256(b"1")
_ZERO32 = bytes(32)


def _typed_data_sign_type_hash(contents_type: str) -> bytes:
    """``TypedDataSign(<Primary> contents,...)<contents type>`` as ERC-7739 spells it."""
    primary = contents_type.split("(", 1)[0]
    head = (
        f"TypedDataSign({primary} contents,string name,string version,uint256 chainId,"
        "address verifyingContract,bytes32 salt)"
    )
    return eip712.keccak256((head + contents_type).encode("ascii"))


def wrapped_digest(
    app_domain_separator: bytes,
    contents_hash: bytes,
    contents_type: str,
    wallet: str,
    chain_id: int,
) -> bytes:
    """The digest the owner signs under ``erc7739`` for a wallet at address ``wallet``."""
    wallet20 = bytes.fromhex(eip712.checksum_address(wallet)[2:])
    struct_hash = eip712.keccak256(
        _typed_data_sign_type_hash(contents_type)
        + contents_hash
        + _NAME_HASH
        + _VERSION_HASH
        + chain_id.to_bytes(32, "big")
        + bytes(12)
        + wallet20
        + _ZERO32
    )
    return eip712.keccak256(b"\x19\x01" + app_domain_separator + struct_hash)


def sign(
    scheme: Scheme,
    private_key: Any,
    *,
    app_domain_separator: bytes,
    contents_hash: bytes,
    contents_type: str,
    wallet: str,
    chain_id: int,
) -> str:
    """The owner's signature for ``wallet`` over the typed data (``0x`` hex)."""
    if scheme == "plain":
        digest = eip712.eip712_digest(app_domain_separator, contents_hash)
        return eip712.sign_digest(private_key, digest)
    if scheme != "erc7739":
        raise ValueError(f"deposit signature scheme must be one of {SCHEMES}")
    digest = wrapped_digest(app_domain_separator, contents_hash, contents_type, wallet, chain_id)
    tail = contents_type.encode("ascii")
    inner = eip712.sign_digest(private_key, digest)
    return (
        inner
        + app_domain_separator.hex()
        + contents_hash.hex()
        + tail.hex()
        + len(tail).to_bytes(2, "big").hex()
    )


def recover_owner(
    scheme: Scheme,
    signature: str,
    *,
    app_domain_separator: bytes,
    contents_hash: bytes,
    contents_type: str,
    wallet: str,
    chain_id: int,
) -> str:
    """The EOA whose signature this is under ``scheme``; ValueError when it does not fit."""
    body = signature[2:] if signature.startswith(("0x", "0X")) else signature
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError("signature: not hex") from None
    if scheme == "plain":
        if len(raw) != 65:
            raise ValueError("signature: a plain deposit-wallet signature is 65 bytes")
        digest = eip712.eip712_digest(app_domain_separator, contents_hash)
        return eip712.recover_digest_signer(digest, raw)
    tail = contents_type.encode("ascii")
    if len(raw) != 65 + 64 + len(tail) + 2:
        raise ValueError("signature: not an ERC-7739 wrapper for this type")
    if raw[65:97] != app_domain_separator or raw[97:129] != contents_hash:
        raise ValueError("signature: ERC-7739 wrapper is for other typed data")
    if raw[129:] != tail + len(tail).to_bytes(2, "big"):
        raise ValueError("signature: ERC-7739 contents type differs")
    digest = wrapped_digest(app_domain_separator, contents_hash, contents_type, wallet, chain_id)
    return eip712.recover_digest_signer(digest, raw[:65])


# ------------------------------------------------------------------ orders and ClobAuth


def order_owner(
    scheme: Scheme, order: Mapping[str, Any], *, neg_risk: bool, chain_id: int = 137
) -> str:
    """The EOA that signed a type-3 ``order`` (``signer`` = the deposit wallet) under ``scheme``."""
    return recover_owner(
        scheme,
        str(order["signature"]),
        app_domain_separator=eip712.exchange_domain_separator(neg_risk=neg_risk, chain_id=chain_id),
        contents_hash=eip712.order_struct_hash(order),
        contents_type=eip712.ORDER_TYPE_STRING,
        wallet=str(order["signer"]),
        chain_id=chain_id,
    )


def _clob_auth_parts(wallet: str, timestamp: str, nonce: int, chain_id: int) -> tuple[bytes, bytes]:
    digest_domain = eip712._clob_auth_domain_separator(chain_id)
    struct_hash = eip712.keccak256(
        eip712.keccak256(CLOB_AUTH_TYPE_STRING.encode("ascii"))
        + bytes(12)
        + bytes.fromhex(eip712.checksum_address(wallet)[2:])
        + eip712.keccak256(str(timestamp).encode("utf-8"))
        + int(nonce).to_bytes(32, "big")
        + eip712.keccak256(eip712.CLOB_AUTH_MESSAGE.encode("utf-8"))
    )
    return digest_domain, struct_hash


def sign_clob_auth(
    scheme: Scheme, private_key: Any, wallet: str, timestamp: str, nonce: int, chain_id: int
) -> str:
    """POLY_SIGNATURE for L1 headers whose POLY_ADDRESS is the deposit wallet ``wallet``."""
    domain, contents = _clob_auth_parts(wallet, timestamp, nonce, chain_id)
    return sign(
        scheme,
        private_key,
        app_domain_separator=domain,
        contents_hash=contents,
        contents_type=CLOB_AUTH_TYPE_STRING,
        wallet=wallet,
        chain_id=chain_id,
    )


def clob_auth_owner(
    scheme: Scheme, wallet: str, timestamp: str, nonce: int, signature: str, chain_id: int
) -> str:
    """The EOA behind an L1 signature made for the deposit wallet ``wallet`` under ``scheme``."""
    domain, contents = _clob_auth_parts(wallet, timestamp, nonce, chain_id)
    return recover_owner(
        scheme,
        signature,
        app_domain_separator=domain,
        contents_hash=contents,
        contents_type=CLOB_AUTH_TYPE_STRING,
        wallet=wallet,
        chain_id=chain_id,
    )
