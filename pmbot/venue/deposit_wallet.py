"""API credentials for every wallet type, including deposit wallets (signature type 3, POLY_1271).

Types 0/1/2: the key is derived with L1 auth by the EOA (``pmbot.venue.auth.derive_api_creds``).

Type 3: orders carry ``signer`` = the deposit wallet, and the venue requires the order signer to be
the API key's address. So the key is first requested with L1 headers whose ``POLY_ADDRESS`` is the
deposit wallet and whose signature is the owner's, in the configured ERC-1271 scheme
(``wallet.deposit_signature``). If the venue refuses that (``Invalid L1 Request headers``, as
reported on production in py-clob-client-v2 #58 and #103), the EOA-bound key is derived instead:
reports from July-August 2026 (py-clob-client-v2 #70, #87, #64) say the venue now maps a deposit
wallet to its owner's key (some accounts after asking support to enable it). ``doctor`` prints
which address the key is bound to, and ``doctor --livetest`` shows whether orders pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

from pmbot import eip712
from pmbot.errors import FatalError, TransientError
from pmbot.venue import erc1271
from pmbot.venue.auth import ApiCreds, derive_api_creds

log = logging.getLogger(__name__)

L1_REFUSED = "Invalid L1 Request headers"


class WalletSigner(Protocol):
    """What this module needs from :class:`pmbot.venue.signer.OrderSigner`."""

    address: str
    funder: str
    chain_id: int
    signature_type: int
    deposit_signature: str


class DepositWalletL1Refused(FatalError):
    """The venue refused L1 auth for the deposit wallet (its answer is in the message)."""


def l1_headers_for_wallet(
    private_key: str, wallet: str, scheme: str, chain_id: int, timestamp: int, nonce: int = 0
) -> dict[str, str]:
    """L1 headers that ask for a key bound to the deposit wallet ``wallet``."""
    if scheme not in erc1271.SCHEMES:
        raise ValueError(f"deposit signature scheme must be one of {erc1271.SCHEMES}")
    wallet = eip712.checksum_address(wallet)
    signature = erc1271.sign_clob_auth(
        scheme,  # checked against SCHEMES above
        private_key,
        wallet,
        str(timestamp),
        nonce,
        chain_id,
    )
    return {
        "POLY_ADDRESS": wallet,
        "POLY_SIGNATURE": signature,
        "POLY_TIMESTAMP": str(int(timestamp)),
        "POLY_NONCE": str(int(nonce)),
    }


def _creds_from(body: Any, address: str) -> ApiCreds | None:
    if isinstance(body, dict) and body.get("apiKey") and body.get("secret"):
        return ApiCreds(
            api_key=str(body["apiKey"]),
            secret=str(body["secret"]),
            passphrase=str(body.get("passphrase", "")),
            address=address,
        )
    return None


def derive_wallet_bound_creds(
    clob_url: str,
    private_key: str,
    wallet: str,
    scheme: str,
    chain_id: int,
    *,
    nonce: int = 0,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
) -> ApiCreds:
    """Derive (else create) the API key bound to the deposit wallet: derive first, as the Rust SDK
    does (rs-clob-client-v2 tests/auth.rs: a POST when a key exists mints a non-canonical key the
    user channel refuses). Raises DepositWalletL1Refused on 401, TransientError on network trouble
    or 5xx."""
    wallet = eip712.checksum_address(wallet)
    base = clob_url.rstrip("/")
    last = ""
    for method, path in (("GET", "/auth/derive-api-key"), ("POST", "/auth/api-key")):
        headers = l1_headers_for_wallet(private_key, wallet, scheme, chain_id, int(clock()), nonce)
        try:
            resp = requests.request(method, base + path, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise TransientError(
                f"API key derivation for deposit wallet {wallet} at {base}: {type(exc).__name__}"
            ) from None
        if resp.status_code >= 500:
            raise TransientError(f"API key derivation at {base}: HTTP {resp.status_code}")
        last = f"HTTP {resp.status_code} {resp.text[:200]}"
        if resp.status_code == 401:
            raise DepositWalletL1Refused(f"L1 auth as deposit wallet {wallet} refused: {last}")
        try:
            creds = _creds_from(resp.json(), wallet.lower())
        except ValueError:
            creds = None
        if creds is not None:
            return creds
    raise FatalError(f"API key derivation for deposit wallet {wallet} failed: {last}")


def derive_creds(
    clob_url: str, private_key: str, signer: WalletSigner, *, nonce: int = 0
) -> ApiCreds:
    """The API key for this wallet; ``.address`` is the address it is bound to (use it as the
    L2 ``POLY_ADDRESS``)."""
    if signer.signature_type == eip712.POLY_1271:
        try:
            creds = derive_wallet_bound_creds(
                clob_url,
                private_key,
                signer.funder,
                signer.deposit_signature,
                signer.chain_id,
                nonce=nonce,
            )
        except DepositWalletL1Refused as exc:
            log.warning(
                "%s; falling back to the key of the owner EOA %s (orders are accepted only if "
                "the venue maps the deposit wallet to it: run `bot.py doctor --livetest`)",
                exc,
                signer.address,
            )
        else:
            log.info("API key %s bound to deposit wallet %s", creds.api_key, signer.funder)
            return creds
    creds = derive_api_creds(clob_url, private_key, signer.chain_id, nonce=nonce)
    return ApiCreds(creds.api_key, creds.secret, creds.passphrase, address=signer.address.lower())
