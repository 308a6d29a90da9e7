"""The simulator's model of deposit-wallet accounts (signature type 3, POLY_1271) and of account
funding problems, configured under ``extra`` in the sim YAML::

    extra:
      deposit_wallets:
        scheme: plain            # the order/L1 signature the wallets accept: plain | erc7739
        map_owner_keys: false    # true: a key bound to the owner EOA may trade its wallet
        accounts:                # deposit wallet -> owner EOA
          "0xWALLET": "0xOWNER"
      no_allowance: ["0xFUNDER"] # /balance-allowance reports zero exchange allowances for these

Rules, as the venue answers them (public threads, see README "Deposit wallets"):

- L1 (``/auth/api-key``) with ``POLY_ADDRESS`` = a deposit wallet is accepted when the signature is
  the owner's under the configured scheme; the key is then bound to the wallet. L1 by the owner
  EOA gives a key bound to the EOA (what the official clients do).
- On a deposit-wallet account (the maker is a wallet, or the key belongs to a wallet or to its
  owner) an order of type 0/1/2 is refused ``maker address not allowed, please use the deposit
  wallet flow``; a type-3 order whose ``signer`` is not the key's address is refused ``the order
  signer address has to be the address of the API KEY`` (unless ``map_owner_keys``); a signature
  in the other scheme is ``invalid signature``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pmbot import eip712
from pmbot.errors import ConfigError
from pmbot.venue import erc1271

MAKER_NOT_ALLOWED_ERROR = "maker address not allowed, please use the deposit wallet flow"
SIGNER_MISMATCH_ERROR = "the order signer address has to be the address of the API KEY"
BAD_SIGNATURE_ERROR = "invalid signature"
MAX_UINT256 = str(2**256 - 1)


def _addr(value: Any, key: str) -> str:
    try:
        return eip712.checksum_address(str(value)).lower()
    except (ValueError, TypeError):
        raise ConfigError(key, f"not an address: {value!r}") from None


@dataclass(frozen=True, slots=True)
class SimAccounts:
    """Deposit wallets (wallet -> owner, lower-case hex) and funders without allowances."""

    owners: Mapping[str, str] = field(default_factory=dict)
    scheme: erc1271.Scheme = erc1271.DEFAULT_SCHEME
    map_owner_keys: bool = False
    no_allowance: frozenset[str] = frozenset()

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any] | None) -> SimAccounts:
        extra = extra or {}
        dw = extra.get("deposit_wallets") or {}
        scheme = str(dw.get("scheme", erc1271.DEFAULT_SCHEME))
        if scheme not in erc1271.SCHEMES:
            raise ConfigError("extra.deposit_wallets.scheme", f"must be one of {erc1271.SCHEMES}")
        owners = {
            _addr(w, "extra.deposit_wallets.accounts"): _addr(o, "extra.deposit_wallets.accounts")
            for w, o in (dw.get("accounts") or {}).items()
        }
        no_allowance = frozenset(
            _addr(a, "extra.no_allowance") for a in extra.get("no_allowance") or ()
        )
        return cls(owners, scheme, bool(dw.get("map_owner_keys", False)), no_allowance)

    def is_wallet(self, address: str) -> bool:
        return address.lower() in self.owners

    def allowance(self, funder: str) -> str:
        """The exchange allowance /balance-allowance reports for ``funder`` (6-dp base units)."""
        return "0" if funder.lower() in self.no_allowance else MAX_UINT256

    def l1_ok(self, wallet: str, timestamp: str, nonce: int, signature: str, chain_id: int) -> bool:
        """Would the wallet's isValidSignature accept this ClobAuth signature?"""
        try:
            owner = erc1271.clob_auth_owner(
                self.scheme, wallet, timestamp, nonce, signature, chain_id
            )
        except (ValueError, TypeError):
            return False
        return owner.lower() == self.owners[wallet.lower()]

    def _account_wallet(self, maker: str, key_address: str) -> str | None:
        if maker in self.owners:
            return maker
        if key_address in self.owners:
            return key_address
        for wallet, owner in self.owners.items():
            if owner == key_address:
                return wallet
        return None

    def check_order(
        self, order: Mapping[str, Any], key_address: str, *, neg_risk: bool, chain_id: int
    ) -> str | None:
        """None: not a deposit-wallet account (the ordinary rules apply); "": accepted;
        otherwise the venue's refusal."""
        maker = str(order.get("maker", "")).lower()
        signer = str(order.get("signer", "")).lower()
        if self._account_wallet(maker, key_address) is None:
            return None
        if order.get("signatureType") != eip712.POLY_1271:
            return MAKER_NOT_ALLOWED_ERROR
        mapped = self.map_owner_keys and self.owners.get(signer) == key_address
        if signer != key_address and not mapped:
            return SIGNER_MISMATCH_ERROR
        if signer not in self.owners or maker != signer:
            return MAKER_NOT_ALLOWED_ERROR
        try:
            owner = erc1271.order_owner(self.scheme, order, neg_risk=neg_risk, chain_id=chain_id)
        except (ValueError, TypeError, KeyError):
            return BAD_SIGNATURE_ERROR
        return "" if owner.lower() == self.owners[signer] else BAD_SIGNATURE_ERROR


def unregistered_type3_owner(order: Mapping[str, Any], *, neg_risk: bool, chain_id: int) -> str:
    """A type-3 order from a wallet the sim does not model: accept either scheme (65-byte plain
    signature or the ERC-7739 wrapper) and return the EOA that signed."""
    body = str(order.get("signature", ""))
    if len(body.removeprefix("0x")) == 130:
        return erc1271.order_owner("plain", order, neg_risk=neg_risk, chain_id=chain_id)
    return eip712.recover_order_signer(dict(order), neg_risk=neg_risk, chain_id=chain_id)
