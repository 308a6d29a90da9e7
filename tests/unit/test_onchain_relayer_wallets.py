"""Relayer requests sign exactly what py-builder-relayer-client 0.0.3 signs.

The expected signatures were produced once by that client's own builders (builder/safe.py
create_struct_hash + split_and_pack_sig, builder/proxy.py create_proxy_struct_hash with
encode_proxy_transaction_data, builder/deposit_wallet.py sign_batch) for these inputs; the
client is not a dependency, so the vectors are pinned here.
"""

from __future__ import annotations

from eth_account import Account

from pmbot.onchain import relayer_wallets as rw

KEY = "0x" + "4b" * 32
WALLET = "0x" + "11" * 20
TARGET = "0x" + "22" * 20
RELAY = "0x" + "33" * 20
SAFE_SIG = (
    "0x814c2b6bfe6d64e2afa7a278e00f7b1f5a0807307679fe3b7bde7092b63229733f4fdfbabfb6be22"
    "9058f5f40b20d0452955d323fdfd76c703209ab28fa6a93520"
)
PROXY_SIG = (
    "0x62c7b9b15fdaf6ba1f085d05e61524f290c483e2e662455cc63184cf5228887b15ae8894cdaf4672"
    "ee553cb6c98ea0d896d06293e6e9e2b5f5d00c029b131a901b"
)
WALLET_SIG = (
    "0x3367da906c768fb214454267028b08a168a5c28c331f9305fe4d8416109781ab6f0f93375ee8ced6"
    "95baeda9ea524ab5ad8b30ddabcee0dfbe7800ca5a463d911b"
)


def test_safe_request_matches_official_client_and_recovers() -> None:
    req = rw.safe_request(KEY, 137, WALLET, TARGET, b"\x01\x02", 3)
    assert req["signature"] == SAFE_SIG
    assert req["type"] == "SAFE" and req["nonce"] == "3" and req["proxyWallet"] == WALLET
    assert rw.request_signer(req, 137) == Account.from_key(KEY).address
    assert rw.request_signer(req, 80002) != Account.from_key(KEY).address


def test_proxy_request_matches_official_client() -> None:
    req = rw.proxy_request(KEY, rw.RelayContracts(), WALLET, TARGET, b"\x01", 4, RELAY)
    assert req["signature"] == PROXY_SIG
    assert req["to"] == rw.RelayContracts().proxy_factory
    assert rw.request_signer(req, 137) == Account.from_key(KEY).address


def test_deposit_wallet_request_matches_official_client() -> None:
    req = rw.wallet_request(KEY, rw.RelayContracts(), 137, WALLET, TARGET, b"\x01", 5, 10**10)
    assert req["signature"] == WALLET_SIG
    assert rw.request_signer(req, 137) == Account.from_key(KEY).address


def test_tampered_request_recovers_someone_else() -> None:
    req = rw.safe_request(KEY, 137, WALLET, TARGET, b"\x01\x02", 3)
    req["data"] = "0x0103"
    assert rw.request_signer(req, 137) != Account.from_key(KEY).address
