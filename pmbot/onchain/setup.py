"""Composition of the on-chain worker from the config, and the ``doctor`` check (thin adapter).

Called by the runner when ``onchain.enabled`` is true; nothing here runs otherwise.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from pmbot.config import Config
from pmbot.errors import ConfigError, PmbotError
from pmbot.onchain import abi
from pmbot.onchain.eoa import EoaSender
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.messages import OnchainFailed, OnchainSettled
from pmbot.onchain.relayer import BuilderCreds, RelayerClient, RelayerSender
from pmbot.onchain.rpc import JsonRpc, quantity
from pmbot.onchain.worker import OnchainWorker, Targets, TxExecutor

GWEI = 10**9
JOURNAL_NAME = "onchain-journal.jsonl"


def check_config(cfg: Config) -> None:
    oc = cfg.onchain
    if not oc.enabled:
        return
    if not oc.rpc_url.startswith(("http://", "https://")):
        raise ConfigError("onchain.rpc_url", "needs an http(s) JSON-RPC URL (sending or receipts)")
    if cfg.wallet.signature_type != 0:
        if not oc.relayer_url.startswith(("http://", "https://")):
            raise ConfigError("onchain.relayer_url", "proxy, Safe and deposit wallets need it")
        if not cfg.wallet.funder:
            raise ConfigError("wallet.funder", "the wallet address is needed for the relayer")


def builder_creds(cfg: Config) -> BuilderCreds:
    prefix = cfg.onchain.builder_creds_env
    values = [os.environ.get(f"{prefix}_{s}", "") for s in ("API_KEY", "SECRET", "PASSPHRASE")]
    if not all(values):
        raise ConfigError(
            "onchain.builder_creds_env", f"set {prefix}_API_KEY, _SECRET, _PASSPHRASE"
        )
    return BuilderCreds(*values)


def journal_path(cfg: Config) -> Path:
    return Path(cfg.resolved_state_dir) / JOURNAL_NAME


def targets(cfg: Config) -> Targets:
    oc = cfg.onchain
    return Targets(collateral=oc.collateral, binary=oc.ctf_target, neg_risk=oc.neg_risk_target)


def build_worker(
    cfg: Config,
    private_key: str,
    sink: Callable[[OnchainSettled | OnchainFailed], None],
) -> OnchainWorker:
    """The on-chain worker for the configured wallet type, not yet started."""
    check_config(cfg)
    oc = cfg.onchain
    journal = IntentJournal(journal_path(cfg))
    stop = threading.Event()
    rpc = JsonRpc(oc.rpc_url, timeout_secs=float(cfg.execution.read_timeout_secs))
    sender: TxExecutor
    if cfg.wallet.signature_type == 0:
        sender = EoaSender(
            rpc,
            private_key,
            journal,
            stop=stop,
            receipt_timeout_secs=float(oc.receipt_timeout_secs),
            max_fee_cap_wei=int(oc.max_fee_gwei * GWEI),
            max_replacements=oc.max_replacements,
            chain_id=cfg.venue.chain_id if cfg.mode == "live" else None,
        )
    else:
        sender = RelayerSender(
            RelayerClient(oc.relayer_url, builder_creds(cfg)),
            rpc,
            private_key,
            journal,
            signature_type=cfg.wallet.signature_type,
            wallet=cfg.wallet.funder,
            chain_id=cfg.venue.chain_id,
            stop=stop,
            timeout_secs=float(oc.receipt_timeout_secs),
        )
    worker = OnchainWorker(sender, journal, targets(cfg), sink)
    worker.stop_event = stop
    return worker


def doctor(cfg: Config, address: str) -> list[str]:
    """Problems found with the on-chain set-up (empty = fine). For ``pmbot doctor``."""
    oc = cfg.onchain
    if not oc.enabled:
        return []
    try:
        check_config(cfg)
    except ConfigError as exc:
        return [str(exc)]
    problems = []
    if cfg.wallet.signature_type != 0:
        try:
            client = RelayerClient(oc.relayer_url, builder_creds(cfg), timeout_secs=5.0)
            client.nonce(address, "SAFE")  # reachability: the nonce endpoint needs no credentials
        except PmbotError as exc:
            problems.append(f"relayer: {exc}")
        address = cfg.wallet.funder
    rpc = JsonRpc(oc.rpc_url, timeout_secs=5.0)
    try:
        chain = quantity(rpc.call("eth_chainId"))
        balance = quantity(rpc.call("eth_getBalance", address, "latest"))
    except PmbotError as exc:
        return [*problems, f"onchain.rpc_url: {exc}"]
    finally:
        rpc.close()
    if cfg.mode == "live" and chain != cfg.venue.chain_id:
        problems.append(f"onchain.rpc_url serves chain {chain}, not {cfg.venue.chain_id}")
    if balance == 0 and cfg.wallet.signature_type == 0:
        problems.append(f"wallet {address} has no native token to pay gas")
    problems += _approval_problems(cfg, address)
    return problems


def _approval_problems(cfg: Config, address: str) -> list[str]:
    """Merge/redeem through an adapter needs CTF ``setApprovalForAll(adapter, true)``."""
    oc = cfg.onchain
    out = []
    rpc = JsonRpc(oc.rpc_url, timeout_secs=5.0)
    try:
        for name in ("ctf_target", "neg_risk_target"):
            operator = getattr(oc, name)
            if operator.lower() == oc.ctf_address.lower():
                continue  # calling the CTF itself: nothing to approve
            data = abi.call_data("isApprovedForAll(address,address)", address, operator)
            call = {"to": oc.ctf_address, "data": "0x" + data.hex()}
            answer = rpc.call("eth_call", call, "latest")
            if not isinstance(answer, str) or int(answer, 16) != 1:
                out.append(f"{address} has not approved onchain.{name} {operator} on the CTF")
    except (PmbotError, ValueError) as exc:
        out.append(f"onchain: approval check failed: {exc}")
    finally:
        rpc.close()
    return out
