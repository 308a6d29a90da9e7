"""Deposit wallets (type 3): the two ERC-1271 schemes, the signer hook and the sim's rules.

Evidence behind the default ``wallet.deposit_signature: plain`` (public threads, quoted):

- py-clob-client-v2 #70 (CrisisAlpha, 2026-07-25), eth_call ``isValidSignature`` on a
  relayer-deployed deposit wallet (beacon proxy, ``eip712Domain() = ("DepositWallet","1")``):
  "plain EIP-712 owner signature over the raw order digest -> 0x1626ba7e (valid)"; "canonical
  ERC-7739 wrap, either domain orientation -> 0xffffffff (invalid)".
- Against it: the official SDKs build the ERC-7739 wrapper (py-clob-client-v2 PR #39,
  rs-clob-client-v2 PR #33) and py-clob-client-v2 #70 (crp4222, 2026-07-03) reports the stock
  client placing orders; py-clob-client-v2 #70 (RICK0308, 2026-09-08) shows EIP-7702 wallets that
  accept neither. Hence both schemes, selectable.

API-key binding: L1 with ``POLY_ADDRESS`` = the deposit wallet was answered ``401 Invalid L1
Request headers`` on production, for plain and wrapped signatures alike (py-clob-client-v2 #58,
2026-05-14; #103, 2026-07-19); the EOA-bound key works once the venue maps the wallet
(#70 crp4222, #87, #64 "you also need to ask support for whitelisting"). pmbot tries the
wallet-bound key first and falls back to the EOA's (pmbot.venue.deposit_wallet). The Rust SDK,
reported to get this right, also L1-signs as the EOA: rs-clob-client-v2 tests/auth.rs expects
``POLY_ADDRESS`` = the signer's address, and clob-client-v2 #103 (2026-08-18) hits the same refusal
with it ("the resulting API key is bound to the EOA rather than the deposit wallet").
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmbot import eip712
from pmbot.model import Side
from pmbot.sim.deposit_wallet import (
    BAD_SIGNATURE_ERROR,
    MAKER_NOT_ALLOWED_ERROR,
    SIGNER_MISMATCH_ERROR,
    SimAccounts,
)
from pmbot.venue import erc1271
from pmbot.venue.signer import OrderSigner

KEY = "0x" + "4c" * 32
OWNER = eip712.address_of(KEY)
WALLET = "0x" + "ab" * 20
OTHER_KEY = "0x" + "11" * 32


def _order(scheme: str, sig_type: int = 3, key: str = KEY, funder: str = WALLET) -> dict:
    signer = OrderSigner(key, signature_type=sig_type, funder=funder, deposit_signature=scheme)
    return signer.build(
        "123", Side.BUY, Decimal("0.5"), Decimal(10), neg_risk=False, tick=Decimal("0.01")
    ).order


def _accounts(scheme: str = "plain", **kw) -> SimAccounts:
    extra = {"deposit_wallets": {"scheme": scheme, "accounts": {WALLET: OWNER}, **kw}}
    return SimAccounts.from_extra(extra)


def test_erc7739_order_signature_is_byte_identical_to_the_sdk_wrapper() -> None:
    order = _order("erc7739")
    contents = eip712.order_struct_hash(order)
    ours = erc1271.sign(
        "erc7739",
        KEY,
        app_domain_separator=eip712.exchange_domain_separator(neg_risk=False),
        contents_hash=contents,
        contents_type=eip712.ORDER_TYPE_STRING,
        wallet=WALLET,
        chain_id=137,
    )
    assert ours == order["signature"]
    assert len(bytes.fromhex(ours.removeprefix("0x"))) == eip712.POLY_1271_SIGNATURE_LEN


@pytest.mark.parametrize("scheme", erc1271.SCHEMES)
def test_type3_order_recovers_the_owner_under_its_own_scheme_only(scheme: str) -> None:
    order = _order(scheme)
    assert order["signer"].lower() == order["maker"].lower() == WALLET
    assert erc1271.order_owner(scheme, order, neg_risk=False) == OWNER  # type: ignore[arg-type]  # literal
    other = "erc7739" if scheme == "plain" else "plain"
    with pytest.raises(ValueError):
        erc1271.order_owner(other, order, neg_risk=False)  # type: ignore[arg-type]  # literal


@pytest.mark.parametrize("scheme", erc1271.SCHEMES)
def test_clob_auth_for_the_wallet_recovers_the_owner(scheme: str) -> None:
    sig = erc1271.sign_clob_auth(scheme, KEY, WALLET, "1767000000", 0, 137)  # type: ignore[arg-type]
    assert erc1271.clob_auth_owner(scheme, WALLET, "1767000000", 0, sig, 137) == OWNER  # type: ignore[arg-type]
    assert _accounts(scheme).l1_ok(WALLET, "1767000000", 0, sig, 137)
    assert not _accounts(scheme).l1_ok(WALLET, "1767000001", 0, sig, 137)  # other timestamp
    wrong = "erc7739" if scheme == "plain" else "plain"
    assert not _accounts(wrong).l1_ok(WALLET, "1767000000", 0, sig, 137)


def test_sim_accepts_the_configured_scheme_from_the_wallet_bound_key() -> None:
    acc = _accounts("plain")
    assert acc.check_order(_order("plain"), WALLET, neg_risk=False, chain_id=137) == ""
    assert (
        acc.check_order(_order("erc7739"), WALLET, neg_risk=False, chain_id=137)
        == BAD_SIGNATURE_ERROR
    )
    other_owner = _order("plain", key=OTHER_KEY)
    assert acc.check_order(other_owner, WALLET, neg_risk=False, chain_id=137) == BAD_SIGNATURE_ERROR


def test_sim_refuses_an_eoa_bound_key_and_types_0_1_2_with_the_venue_strings() -> None:
    acc = _accounts("plain")
    owner = OWNER.lower()
    assert (
        acc.check_order(_order("plain"), owner, neg_risk=False, chain_id=137)
        == SIGNER_MISMATCH_ERROR
    )
    for t in (1, 2):
        assert (
            acc.check_order(_order("plain", sig_type=t), owner, neg_risk=False, chain_id=137)
            == MAKER_NOT_ALLOWED_ERROR
        )
    eoa_order = _order("plain", sig_type=0, funder=OWNER)
    assert (
        acc.check_order(eoa_order, owner, neg_risk=False, chain_id=137) == MAKER_NOT_ALLOWED_ERROR
    )
    mapped = _accounts("plain", map_owner_keys=True)
    assert mapped.check_order(_order("plain"), owner, neg_risk=False, chain_id=137) == ""


def test_sim_leaves_other_accounts_to_the_ordinary_rules() -> None:
    acc = _accounts("plain")
    other = OrderSigner(OTHER_KEY)
    order = _order("plain", sig_type=0, key=OTHER_KEY, funder=other.address)
    assert acc.check_order(order, other.address.lower(), neg_risk=False, chain_id=137) is None


def test_sim_config_errors_name_the_key() -> None:
    from pmbot.errors import ConfigError

    with pytest.raises(ConfigError, match="extra.deposit_wallets.scheme"):
        SimAccounts.from_extra({"deposit_wallets": {"scheme": "eip191"}})
    with pytest.raises(ConfigError, match="extra.no_allowance"):
        SimAccounts.from_extra({"no_allowance": ["0x12"]})
    assert SimAccounts.from_extra({"no_allowance": [WALLET]}).allowance(WALLET) == "0"


def test_order_signer_refuses_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="deposit_signature"):
        OrderSigner(KEY, signature_type=3, funder=WALLET, deposit_signature="eip191")
