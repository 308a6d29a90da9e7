"""EIP-712 primitives shared by the order and ClobAuth signing of ``pmbot.eip712``: keccak-256,
field encoders (uint256, address, bytes32, side), addresses and keys, and raw secp256k1
signatures over a 32-byte digest (sign, recover with the high-s check).

Pure functions, no I/O; a private key never appears in an exception or a repr.
"""

from __future__ import annotations

import functools
from typing import Any

import coincurve
from Crypto.Hash import keccak as _keccak_mod

_UINT256_LIMIT = 1 << 256
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_ZERO12 = b"\x00" * 12
_ZERO32 = b"\x00" * 32


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak-256 (not NIST SHA3-256), via pycryptodome's C implementation."""
    return _keccak_mod.new(digest_bits=256, data=data).digest()


# --------------------------------------------------------------------------- field encoders


def uint256(value: Any, name: str) -> bytes:
    """32-byte big-endian word. Accepts int or a decimal string (the wire carries both)."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: bool is not a uint256")
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):  # rejects "", "-1", "0x..", "1.5", " 1"
            raise ValueError(f"{name}: not a decimal integer string")
        value = int(value)
    elif not isinstance(value, int):
        raise ValueError(f"{name}: expected int or decimal string, got {type(value).__name__}")
    if not 0 <= value < _UINT256_LIMIT:
        raise ValueError(f"{name}: out of uint256 range")
    return value.to_bytes(32, "big")


def uint8(value: Any, name: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 256:
        raise ValueError(f"{name}: expected a uint8 integer")
    return value.to_bytes(32, "big")


def hex_body(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise ValueError(f"{name}: expected a 0x-prefixed hex string")
    return value[2:]


def address20(value: Any, name: str = "address") -> bytes:
    body = hex_body(value, name)
    if len(body) != 40:
        raise ValueError(f"{name}: expected 20 bytes of hex")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise ValueError(f"{name}: not hex") from None


def bytes32(value: Any, name: str) -> bytes:
    """bytes32 from hex. Like py_clob_client_v2, shorter hex is left-padded with zeros."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 32:
            raise ValueError(f"{name}: expected 32 bytes")
        return bytes(value)
    body = hex_body(value, name)
    if len(body) > 64:
        raise ValueError(f"{name}: longer than 32 bytes")
    try:
        return bytes.fromhex(body.zfill(64))
    except ValueError:
        raise ValueError(f"{name}: not hex") from None


_SIDE_CODES = {"BUY": 0, "SELL": 1, 0: 0, 1: 1}


def side_code(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("side: expected BUY/SELL or 0/1")
    if isinstance(value, str):
        code = _SIDE_CODES.get(value)
    elif isinstance(value, int):
        code = _SIDE_CODES.get(int(value))
    else:
        code = None
    if code is None:
        raise ValueError("side: expected BUY/SELL or 0/1")
    return code


# --------------------------------------------------------------------------- addresses and keys


def checksum_address(addr: str) -> str:
    """EIP-55 mixed-case checksum address. Raises ValueError on anything but 20 bytes of hex."""
    raw = address20(addr).hex()
    digest = keccak256(raw.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(raw, digest, strict=False)
    )


def address_from_pubkey(pub: coincurve.PublicKey) -> str:
    return checksum_address("0x" + keccak256(pub.format(compressed=False)[1:])[-20:].hex())


def private_key_bytes(private_key: bytes | str) -> bytes:
    """32 raw bytes from a hex string (with or without 0x) or bytes. Errors never echo the key."""
    if isinstance(private_key, (bytes, bytearray)):
        raw = bytes(private_key)
    elif isinstance(private_key, str):
        body = private_key.strip()
        if body.startswith(("0x", "0X")):
            body = body[2:]
        if len(body) != 64:
            raise ValueError("private key must be 32 bytes (64 hex digits)")
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raise ValueError("private key is not valid hex") from None
    else:
        raise ValueError("private key must be hex str or bytes")
    if len(raw) != 32 or not 0 < int.from_bytes(raw, "big") < _SECP256K1_N:
        raise ValueError("private key is out of range for secp256k1")
    return raw


@functools.lru_cache(maxsize=16)
def coincurve_key(raw: bytes) -> coincurve.PrivateKey:
    return coincurve.PrivateKey(raw)


def ascoincurve_key(private_key: bytes | str | coincurve.PrivateKey) -> coincurve.PrivateKey:
    if isinstance(private_key, coincurve.PrivateKey):
        return private_key
    return coincurve_key(private_key_bytes(private_key))


def address_of(private_key: bytes | str | coincurve.PrivateKey) -> str:
    """Checksummed EOA address of a private key."""
    return address_from_pubkey(ascoincurve_key(private_key).public_key)


# --------------------------------------------------------------------------- signatures


def sign_digest(private_key: bytes | str | coincurve.PrivateKey, digest: bytes) -> str:
    """Sign a 32-byte digest: ``"0x" + r || s || v`` with v in {27, 28}, as eth_account does."""
    if len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    sig = ascoincurve_key(private_key).sign_recoverable(digest, hasher=None)
    return "0x" + sig[:64].hex() + ("1c" if sig[64] else "1b")


def signature65(signature: str | bytes) -> bytes:
    if isinstance(signature, str):
        body = hex_body(signature, "signature")
        try:
            signature = bytes.fromhex(body)
        except ValueError:
            raise ValueError("signature: not hex") from None
    elif not isinstance(signature, (bytes, bytearray)):
        raise ValueError("signature: expected hex str or bytes")
    if len(signature) != 65:
        raise ValueError("signature: expected 65 bytes")
    return signature


def recover_raw(digest: bytes, sig65: bytes) -> str:
    v = sig65[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise ValueError("signature: bad v")
    r = int.from_bytes(sig65[:32], "big")
    s = int.from_bytes(sig65[32:64], "big")
    # Reject malleable (high-s) and out-of-range signatures, as OpenZeppelin's ECDSA.recover does.
    if not (0 < r < _SECP256K1_N and 0 < s <= _SECP256K1_N // 2):
        raise ValueError("signature: r/s out of range")
    try:
        pub = coincurve.PublicKey.from_signature_and_message(
            sig65[:64] + bytes((v,)), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises a bare Exception when no key can be recovered
        raise ValueError("signature: cannot recover a public key") from exc
    return address_from_pubkey(pub)


def recover_digest_signer(digest: bytes, signature: str | bytes) -> str:
    """Checksummed address that produced a 65-byte ``r||s||v`` signature over ``digest``."""
    if len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    return recover_raw(digest, signature65(signature))
