"""Venue-side authentication for the simulator: L1 (ClobAuth EIP-712) key issuance, L2 HMAC checks
and order-signature checks, exactly as Polymarket's CLOB does them (protocol reference 1.2, 1.3, 7).

Venue quirks reproduced here:
- API keys are a pure function of (EOA address, nonce): ``POST /auth/api-key`` and
  ``GET /auth/derive-api-key`` return the same credentials, so ``create_or_derive_api_key`` works
  whichever path the client takes.
- The HMAC message is ``timestamp + METHOD + path-without-query + body`` where body is the exact
  string sent, with single quotes replaced by double quotes (the SDK does that replace on its side,
  so the server must do it too to agree on the bytes).
- ``POLY_ADDRESS`` is always the signer EOA, also for proxy/safe/deposit-wallet accounts.

All EIP-712 hashing and recovery lives in :mod:`pmbot.eip712`; this module only decides.
Secrets never appear in ``repr``, logs or exception messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pmbot.sim.deposit_wallet import SimAccounts, unregistered_type3_owner

log = logging.getLogger(__name__)

L1_ERROR = "Invalid L1 Request headers"
L2_ERROR = "Unauthorized/Invalid api key"
SIGNER_MISMATCH_ERROR = "the order signer address has to be the address of the API KEY"
OWNER_MISMATCH_ERROR = "the order owner has to be the owner of the API KEY"
BAD_SIGNATURE_ERROR = "invalid signature"


class AuthError(Exception):
    """A request failed authentication. ``status`` and ``message`` are what the venue answers."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """One API key. ``address`` is the EOA that derived it (lower-case hex)."""

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    address: str
    nonce: int = 0

    def as_response(self) -> dict:
        """The body of ``POST /auth/api-key`` / ``GET /auth/derive-api-key``."""
        return {"apiKey": self.api_key, "secret": self.secret, "passphrase": self.passphrase}


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """The L2 signature as py_clob_client_v2 computes it (URL-safe base64, padding kept)."""
    key = base64.urlsafe_b64decode(secret)
    message = str(timestamp) + method + path
    if body:
        message += body.replace("'", '"')
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


class KeyStore:
    """Issues and looks up API keys. Keys are derived from a server secret, the address and the
    nonce, so they are stable for one server secret (a seeded sim gives the same keys each run)."""

    def __init__(self, server_secret: bytes, accounts: SimAccounts | None = None) -> None:
        self._server_secret = server_secret
        self.accounts = accounts if accounts is not None else SimAccounts()
        self._lock = threading.Lock()
        self._by_key: dict[str, ApiCredentials] = {}

    def __repr__(self) -> str:
        return f"KeyStore(keys={len(self._by_key)})"

    def derive(self, address: str, nonce: int) -> ApiCredentials:
        address = address.lower()
        seed = hmac.new(self._server_secret, f"{address}|{nonce}".encode(), hashlib.sha256).digest()
        more = hmac.new(self._server_secret, seed, hashlib.sha256).digest()
        creds = ApiCredentials(
            api_key=str(uuid.UUID(bytes=seed[:16], version=4)),
            secret=base64.urlsafe_b64encode(more).decode("ascii"),
            passphrase=hashlib.sha256(seed[16:] + more).hexdigest(),
            address=address,
            nonce=nonce,
        )
        with self._lock:
            self._by_key[creds.api_key] = creds
        return creds

    def lookup(self, api_key: str) -> ApiCredentials | None:
        with self._lock:
            return self._by_key.get(api_key)

    def check_raw(self, api_key: str, secret: str, passphrase: str) -> ApiCredentials | None:
        """User-channel auth: the raw credentials are sent in the subscribe message."""
        creds = self.lookup(api_key)
        if creds is None:
            return None
        if not (
            hmac.compare_digest(creds.secret, secret)
            and hmac.compare_digest(creds.passphrase, passphrase)
        ):
            return None
        return creds


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value or ""


def verify_l1(
    headers: Mapping[str, str], *, chain_id: int, accounts: SimAccounts | None = None
) -> tuple[str, int]:
    """Check the ClobAuth signature in the L1 headers; return (address, nonce).

    Raises AuthError(401, "Invalid L1 Request headers") on any defect."""
    from pmbot import eip712  # imported late: written by another part of the project

    address = _header(headers, "POLY_ADDRESS")
    signature = _header(headers, "POLY_SIGNATURE")
    timestamp = _header(headers, "POLY_TIMESTAMP")
    nonce_text = _header(headers, "POLY_NONCE") or "0"
    if not (address and signature and timestamp):
        raise AuthError(L1_ERROR)
    try:
        nonce = int(nonce_text)
        if accounts is not None and accounts.is_wallet(address):  # deposit wallet: ERC-1271
            if accounts.l1_ok(address, timestamp, nonce, signature, chain_id):
                return address.lower(), nonce
            raise AuthError(L1_ERROR)
        recovered = eip712.recover_clob_auth_signer(address, timestamp, nonce, signature, chain_id)
    except (ValueError, TypeError) as exc:
        log.info("L1 auth: unparseable headers for %s: %s", address, type(exc).__name__)
        raise AuthError(L1_ERROR) from None
    if recovered.lower() != address.lower():
        log.info("L1 auth: signature of %s recovers to %s", address, recovered)
        raise AuthError(L1_ERROR)
    return address.lower(), nonce


class KeyLookup(Protocol):
    def lookup(self, api_key: str) -> ApiCredentials | None: ...


def verify_l2(
    headers: Mapping[str, str], method: str, path: str, body: str, keys: KeyLookup
) -> ApiCredentials:
    """Check the L2 HMAC headers; return the caller's credentials.

    ``path`` is the request path without the query string; ``body`` the exact body text.
    Raises AuthError(401, "Unauthorized/Invalid api key")."""
    api_key = _header(headers, "POLY_API_KEY")
    creds = keys.lookup(api_key) if api_key else None
    if creds is None:
        raise AuthError(L2_ERROR)
    if not hmac.compare_digest(_header(headers, "POLY_PASSPHRASE"), creds.passphrase):
        raise AuthError(L2_ERROR)
    if _header(headers, "POLY_ADDRESS").lower() != creds.address:
        raise AuthError(L2_ERROR)
    timestamp = _header(headers, "POLY_TIMESTAMP")
    if not timestamp:
        raise AuthError(L2_ERROR)
    try:
        expected = hmac_signature(creds.secret, timestamp, method.upper(), path, body)
    except (ValueError, TypeError):
        raise AuthError(L2_ERROR) from None
    if not hmac.compare_digest(_header(headers, "POLY_SIGNATURE"), expected):
        raise AuthError(L2_ERROR)
    return creds


def verify_order_signature(
    order: Mapping,
    creds: ApiCredentials,
    *,
    neg_risk: bool,
    chain_id: int,
    accounts: SimAccounts | None = None,
) -> None:
    """The venue's order-signature rules (reference 7):

    - deposit-wallet accounts configured in the sim (``accounts``): pmbot.sim.deposit_wallet;
    - types 0/1/2: ``signer`` must be the API key's EOA and the signature must recover to it;
    - type 3 from a wallet the sim does not model: ``signer`` is the wallet and the signature
      (plain or ERC-7739 wrap) must recover to the API key's EOA.

    Raises AuthError(400, ...) with the closest real venue string."""
    from pmbot import eip712

    if accounts is not None:  # deposit-wallet accounts: pmbot.sim.deposit_wallet decides
        verdict = accounts.check_order(order, creds.address, neg_risk=neg_risk, chain_id=chain_id)
        if verdict is not None:
            if verdict:
                raise AuthError(verdict, status=400)
            return
    sig_type = order.get("signatureType")
    signer = str(order.get("signer", "")).lower()
    if sig_type in (0, 1, 2) and signer != creds.address:
        raise AuthError(SIGNER_MISMATCH_ERROR, status=400)
    try:
        if sig_type == 3:
            recovered = unregistered_type3_owner(order, neg_risk=neg_risk, chain_id=chain_id)
        else:
            recovered = eip712.recover_order_signer(
                dict(order), neg_risk=neg_risk, chain_id=chain_id
            )
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        log.info("order signature unrecoverable (type %s): %s", sig_type, type(exc).__name__)
        raise AuthError(BAD_SIGNATURE_ERROR, status=400) from None
    if recovered.lower() != creds.address:
        if sig_type == 3:
            raise AuthError(SIGNER_MISMATCH_ERROR, status=400)
        raise AuthError(BAD_SIGNATURE_ERROR, status=400)
