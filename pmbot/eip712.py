"""EIP-712 hashing, signing and recovery for Polymarket CLOB V2 orders and ClobAuth (L1) messages.

Pure functions, no I/O. Written for speed and for byte-identical output with ``py_clob_client_v2``
1.2.1 (its ``ExchangeOrderBuilderV2`` and ``signing/eip712.py`` are the reference):

- keccak-256 comes from pycryptodome (C); signatures from coincurve (libsecp256k1). Both are
  deterministic (RFC 6979, low-s) exactly like eth_account/eth_keys, so signatures are identical.
- Type hashes and the two V2 exchange domain separators (chain 137) are computed once at import;
  other chains are computed on first use and cached.
- The order struct is encoded field by field (11 fixed-size words) instead of through a generic
  ABI/typed-data encoder.
- keccak, the field encoders, keys and raw digest signatures are in ``pmbot.eip712_primitives``
  (re-exported here: ``keccak256``, ``sign_digest``, ``checksum_address``...).

Venue quirks worth knowing:

- The V2 ``Order`` struct has no ``expiration``, ``nonce``, ``feeRateBps`` or ``taker``: the JSON
  ``expiration`` is not signed, so it does not change the order hash.
- On the wire ``side`` is ``"BUY"``/``"SELL"``; in the signed struct it is ``uint8`` 0/1.
- The order id the venue reports (``orderID``) is ``"0x" + order_digest(...).hex()``: the EIP-712
  digest of the ``Order`` under the exchange domain, for every signature type (for type 3 the EOA
  signs a different, wrapped digest, but the order hash is still this one).
- Signature type 3 (POLY_1271, deposit wallets): ``signer`` is the deposit wallet itself and the
  signature is Solady's ERC-7739 "TypedDataSign" nested-EIP-712 wrapper, 317 bytes::

      r||s||v (65) | appDomainSeparator (32) | contentsHash (32) | contentsType (186) |
      len(contentsType) (2, big endian)

  where the EOA signs ``keccak(0x1901 || appDomainSeparator || hashStruct(TypedDataSign(...)))``
  with the TypedDataSign domain fields ``name="DepositWallet", version="1", chainId,
  verifyingContract=<deposit wallet = order.signer>, salt=0x00..0``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import coincurve

from pmbot.eip712_primitives import address20 as _address20
from pmbot.eip712_primitives import (
    address_of,
    checksum_address,
    keccak256,
    private_key_bytes,
    recover_digest_signer,
    sign_digest,
)
from pmbot.eip712_primitives import bytes32 as _bytes32
from pmbot.eip712_primitives import hex_body as _hex_body
from pmbot.eip712_primitives import recover_raw as _recover_raw
from pmbot.eip712_primitives import side_code as _side
from pmbot.eip712_primitives import uint8 as _uint8
from pmbot.eip712_primitives import uint256 as _uint256

__all__ = [
    "CTF_EXCHANGE_V2",
    "NEG_RISK_CTF_EXCHANGE_V2",
    "ORDER_TYPE_STRING",
    "ORDER_TYPE_HASH",
    "CLOB_AUTH_MESSAGE",
    "SIGNATURE_TYPES",
    "POLY_1271",
    "keccak256",
    "exchange_address",
    "exchange_domain_separator",
    "order_struct_hash",
    "order_struct_hash_from_fields",
    "order_digest",
    "eip712_digest",
    "sign_digest",
    "recover_digest_signer",
    "recover_order_signer",
    "poly_1271_wrap",
    "clob_auth_digest",
    "sign_clob_auth",
    "recover_clob_auth_signer",
    "checksum_address",
    "address_of",
    "private_key_bytes",
]

CTF_EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_CTF_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"

EOA, POLY_PROXY, POLY_GNOSIS_SAFE, POLY_1271 = 0, 1, 2, 3
SIGNATURE_TYPES = (EOA, POLY_PROXY, POLY_GNOSIS_SAFE, POLY_1271)

_ZERO12 = b"\x00" * 12
_ZERO32 = b"\x00" * 32


ORDER_TYPE_STRING = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
    "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
    "uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
_ORDER_TYPE_BYTES = ORDER_TYPE_STRING.encode("ascii")
ORDER_TYPE_HASH = keccak256(_ORDER_TYPE_BYTES)
_DOMAIN_TYPE_HASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_EXCHANGE_NAME_HASH = keccak256(b"Polymarket CTF Exchange")
_EXCHANGE_VERSION_HASH = keccak256(b"2")

# ERC-7739 (Solady) nested typed-data wrapper used by deposit wallets (signature type 3).
_TYPED_DATA_SIGN_TYPE_HASH = keccak256(
    b"TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    b"address verifyingContract,bytes32 salt)" + _ORDER_TYPE_BYTES
)
_DEPOSIT_WALLET_NAME_HASH = keccak256(b"DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH = keccak256(b"1")
_POLY_1271_TAIL = _ORDER_TYPE_BYTES + len(_ORDER_TYPE_BYTES).to_bytes(2, "big")
POLY_1271_SIGNATURE_LEN = 65 + 32 + 32 + len(_POLY_1271_TAIL)  # 317

# ClobAuth (L1 API-key auth). Domain has no verifyingContract.
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
_CLOB_AUTH_DOMAIN_TYPE_HASH = keccak256(b"EIP712Domain(string name,string version,uint256 chainId)")
_CLOB_AUTH_TYPE_HASH = keccak256(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)"
)
_CLOB_AUTH_MESSAGE_HASH = keccak256(CLOB_AUTH_MESSAGE.encode("utf-8"))


# --------------------------------------------------------------------------- domains


def _domain_separator(name_hash: bytes, version_hash: bytes, chain_id: int, contract: str) -> bytes:
    return keccak256(
        _DOMAIN_TYPE_HASH
        + name_hash
        + version_hash
        + _uint256(chain_id, "chainId")
        + _ZERO12
        + _address20(contract)
    )


@functools.lru_cache(maxsize=64)
def _exchange_domain_separator_cached(contract_lower: str, chain_id: int) -> bytes:
    return _domain_separator(_EXCHANGE_NAME_HASH, _EXCHANGE_VERSION_HASH, chain_id, contract_lower)


def exchange_address(neg_risk: bool) -> str:
    """The CLOB V2 exchange contract that verifies an order (neg-risk events use their own)."""
    return NEG_RISK_CTF_EXCHANGE_V2 if neg_risk else CTF_EXCHANGE_V2


def exchange_domain_separator(*, neg_risk: bool, chain_id: int = 137) -> bytes:
    """EIP-712 domain separator of the V2 exchange (name "Polymarket CTF Exchange", version "2")."""
    return _exchange_domain_separator_cached(exchange_address(neg_risk).lower(), chain_id)


# Warm the cache for the production chain so the first order pays nothing.
for _nr in (False, True):
    exchange_domain_separator(neg_risk=_nr, chain_id=137)


@functools.lru_cache(maxsize=8)
def _clob_auth_domain_separator(chain_id: int) -> bytes:
    return keccak256(
        _CLOB_AUTH_DOMAIN_TYPE_HASH
        + keccak256(b"ClobAuthDomain")
        + keccak256(b"1")
        + _uint256(chain_id, "chainId")
    )


# --------------------------------------------------------------------------- orders


def order_struct_hash_from_fields(
    salt: int,
    maker20: bytes,
    signer20: bytes,
    token_id: int,
    maker_amount: int,
    taker_amount: int,
    side: int,
    signature_type: int,
    timestamp_ms: int,
    metadata32: bytes,
    builder32: bytes,
) -> bytes:
    """hashStruct(Order) from already-validated native values (the signer's fast path).

    Addresses are raw 20-byte values, metadata/builder raw 32-byte values. Callers must have
    range-checked the integers; ``to_bytes`` still raises OverflowError on out-of-range values.
    """
    return keccak256(
        ORDER_TYPE_HASH
        + salt.to_bytes(32, "big")
        + _ZERO12
        + maker20
        + _ZERO12
        + signer20
        + token_id.to_bytes(32, "big")
        + maker_amount.to_bytes(32, "big")
        + taker_amount.to_bytes(32, "big")
        + side.to_bytes(32, "big")
        + signature_type.to_bytes(32, "big")
        + timestamp_ms.to_bytes(32, "big")
        + metadata32
        + builder32
    )


def order_struct_hash(order: Mapping[str, Any]) -> bytes:
    """hashStruct(Order) of a wire ``order`` object (section 1.6). Raises ValueError (or KeyError
    for a missing field) on malformed input, so a verifier can reject the order cleanly."""
    return keccak256(
        ORDER_TYPE_HASH
        + _uint256(order["salt"], "salt")
        + _ZERO12
        + _address20(order["maker"], "maker")
        + _ZERO12
        + _address20(order["signer"], "signer")
        + _uint256(order["tokenId"], "tokenId")
        + _uint256(order["makerAmount"], "makerAmount")
        + _uint256(order["takerAmount"], "takerAmount")
        + _side(order["side"]).to_bytes(32, "big")
        + _uint8(order["signatureType"], "signatureType")
        + _uint256(order["timestamp"], "timestamp")
        + _bytes32(order["metadata"], "metadata")
        + _bytes32(order["builder"], "builder")
    )


def eip712_digest(domain_separator: bytes, struct_hash: bytes) -> bytes:
    return keccak256(b"\x19\x01" + domain_separator + struct_hash)


def order_digest(order: Mapping[str, Any], *, neg_risk: bool, chain_id: int = 137) -> bytes:
    """EIP-712 digest of the order under the V2 exchange domain == the venue's order hash.
    The wire ``orderID`` is ``"0x" + order_digest(...).hex()``."""
    return eip712_digest(
        exchange_domain_separator(neg_risk=neg_risk, chain_id=chain_id), order_struct_hash(order)
    )


def _typed_data_sign_digest(
    app_domain_separator: bytes, contents_hash: bytes, wallet20: bytes, chain_id: int
) -> bytes:
    """Digest the EOA signs for a deposit-wallet (POLY_1271) order: ERC-7739 TypedDataSign."""
    struct_hash = keccak256(
        _TYPED_DATA_SIGN_TYPE_HASH
        + contents_hash
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + chain_id.to_bytes(32, "big")
        + _ZERO12
        + wallet20
        + _ZERO32  # domain salt
    )
    return keccak256(b"\x19\x01" + app_domain_separator + struct_hash)


def poly_1271_wrap(
    private_key: bytes | str | coincurve.PrivateKey,
    contents_hash: bytes,
    wallet20: bytes,
    *,
    neg_risk: bool,
    chain_id: int = 137,
) -> str:
    """Type-3 signature (317 bytes hex) for an order whose hashStruct is ``contents_hash`` and whose
    ``signer`` (the deposit wallet) is ``wallet20``; byte-identical to py_clob_client_v2."""
    app = exchange_domain_separator(neg_risk=neg_risk, chain_id=chain_id)
    inner = sign_digest(
        private_key, _typed_data_sign_digest(app, contents_hash, wallet20, chain_id)
    )
    return inner + app.hex() + contents_hash.hex() + _POLY_1271_TAIL.hex()


def recover_order_signer(order: Mapping[str, Any], *, neg_risk: bool, chain_id: int = 137) -> str:
    """The EOA that signed ``order["signature"]``.

    Types 0/1/2: plain ECDSA over ``order_digest``; the result should equal ``order["signer"]``
    (comparing is the caller's job: the venue requires it to be the API key's address).

    Type 3 (POLY_1271): the 317-byte ERC-7739 wrapper. Verified here: the length, that the embedded
    app domain separator is this exchange's, that the embedded contents hash is this order's
    hashStruct, that the embedded contents type is the V2 ``Order`` type, and the ECDSA signature
    over the TypedDataSign digest bound to ``verifyingContract = order["signer"]`` (the deposit
    wallet). Returned: the owner EOA that signed. NOT verified (needs chain state): that this EOA
    actually owns the deposit wallet, i.e. what the wallet's ``isValidSignature`` would check.
    """
    sig_type = order["signatureType"]
    if isinstance(sig_type, bool) or sig_type not in SIGNATURE_TYPES:
        raise ValueError("signatureType: expected 0, 1, 2 or 3")
    signature = order["signature"]
    if sig_type != POLY_1271:
        return recover_digest_signer(
            order_digest(order, neg_risk=neg_risk, chain_id=chain_id), signature
        )

    body = _hex_body(signature, "signature")
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError("signature: not hex") from None
    if len(raw) != POLY_1271_SIGNATURE_LEN:
        raise ValueError(f"signature: POLY_1271 wrapper must be {POLY_1271_SIGNATURE_LEN} bytes")
    inner, app, contents, tail = raw[:65], raw[65:97], raw[97:129], raw[129:]
    if tail != _POLY_1271_TAIL:
        raise ValueError("signature: POLY_1271 contents type is not the V2 Order type")
    if app != exchange_domain_separator(neg_risk=neg_risk, chain_id=chain_id):
        raise ValueError("signature: POLY_1271 wrapper is for another exchange domain")
    if contents != order_struct_hash(order):
        raise ValueError("signature: POLY_1271 wrapper is for another order")
    wallet20 = _address20(order["signer"], "signer")
    return _recover_raw(_typed_data_sign_digest(app, contents, wallet20, chain_id), inner)


# --------------------------------------------------------------------------- ClobAuth (L1)


def clob_auth_digest(address: str, timestamp: str, nonce: int, chain_id: int = 137) -> bytes:
    """EIP-712 digest of ``ClobAuth{address, timestamp, nonce, message}`` (section 1.2).
    ``timestamp`` is the unix-seconds string sent as POLY_TIMESTAMP."""
    struct_hash = keccak256(
        _CLOB_AUTH_TYPE_HASH
        + _ZERO12
        + _address20(address)
        + keccak256(str(timestamp).encode("utf-8"))
        + _uint256(nonce, "nonce")
        + _CLOB_AUTH_MESSAGE_HASH
    )
    return eip712_digest(_clob_auth_domain_separator(chain_id), struct_hash)


def sign_clob_auth(
    private_key: bytes | str | coincurve.PrivateKey,
    address: str,
    timestamp: str,
    nonce: int,
    chain_id: int = 137,
) -> str:
    """POLY_SIGNATURE for L1 headers; equals py_clob_client_v2's ``sign_clob_auth_message``."""
    return sign_digest(private_key, clob_auth_digest(address, timestamp, nonce, chain_id))


def recover_clob_auth_signer(
    address: str, timestamp: str, nonce: int, signature: str, chain_id: int = 137
) -> str:
    """Address that signed the ClobAuth message; a server accepts L1 when it equals POLY_ADDRESS."""
    return recover_digest_signer(clob_auth_digest(address, timestamp, nonce, chain_id), signature)
