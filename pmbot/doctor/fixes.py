"""The venue's known refusals and what to do about each, in plain words."""

from __future__ import annotations

_FIXES: tuple[tuple[str, str], ...] = (
    (
        "the order signer address has to be the address of the API KEY",
        "the API key is bound to another address than the order signer. With a deposit wallet "
        "(wallet.signature_type 3) the key must belong to the deposit wallet: check wallet.funder "
        "is your deposit wallet and try the other wallet.deposit_signature (plain <-> erc7739); "
        "if the venue still refuses wallet-bound keys, ask Polymarket support to enable API "
        "trading for the deposit wallet",
    ),
    (
        "maker address not allowed, please use the deposit wallet flow",
        "this account trades through a deposit wallet: set wallet.signature_type: 3 and "
        "wallet.funder to the deposit wallet address (your Polymarket profile address)",
    ),
    (
        "invalid signature",
        "the venue did not accept the order signature: with signature_type 3 switch "
        "wallet.deposit_signature to the other scheme (plain <-> erc7739); otherwise check "
        "wallet.signature_type and wallet.funder match the account",
    ),
    (
        "not enough balance",
        "fund wallet.funder with pUSD (or the shares sold) and approve the exchanges",
    ),
    ("allowance", "approve pUSD for both V2 exchanges (polymarket.com does it on first deposit)"),
    (
        "Invalid L1 Request headers",
        "the venue did not accept the key's ClobAuth signature: venue.chain_id must be the "
        "venue's chain (137 for Polymarket) and the machine clock must be right",
    ),
    (
        "Unauthorized/Invalid api key",
        "the API key is not valid: check wallet.api_key_nonce, the clock, and the key",
    ),
    ("order_version_mismatch", "the venue signs a newer order version: update pmbot"),
    ("closed only", "the account is in closed-only mode: contact Polymarket support"),
)


def fix_for(answer: str) -> str:
    """The fix for a venue answer, or a generic one naming the answer."""
    lowered = answer.lower()
    for needle, fix in _FIXES:
        if needle.lower() in lowered:
            return fix
    return "read the venue's answer above; it names the problem"
