"""Proxy, Safe and deposit wallets: contract calls through Polymarket's relayer.

``RelayerClient`` speaks the relayer's HTTP protocol as py-builder-relayer-client 0.0.3 does
(``GET /nonce``, ``GET /relay-payload``, ``POST /submit``, ``GET /transaction``,
``GET /transactions``; builder HMAC headers ``POLY_BUILDER_*``), with timeouts on every request
and failures classified (pmbot.errors). The HMAC covers the exact JSON text that is sent.

``RelayerSender`` is the worker's executor for those wallets: the signed request is journalled
before it is posted; it is bound to the wallet's nonce, so after a restart it can be posted again
safely (the wallet executes a nonce once). The final state comes from the relayer, the receipt
(for the pUSD actually received) from the JSON-RPC node.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from eth_account import Account

from pmbot.errors import FatalError, RejectedError, TransientError
from pmbot.onchain import relayer_wallets as rw
from pmbot.onchain.eoa import Rpc, Stopping
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.receipts import Receipt, parse_receipt

log = logging.getLogger(__name__)

DONE_STATES = ("STATE_MINED", "STATE_CONFIRMED")
FAILED_STATES = ("STATE_FAILED", "STATE_INVALID")
WALLET_TYPES = {1: "PROXY", 2: "SAFE", 3: "WALLET"}


@dataclass(frozen=True, slots=True)
class BuilderCreds:
    key: str
    secret: str  # base64url
    passphrase: str

    def __repr__(self) -> str:  # never print the secret
        return "BuilderCreds(***)"


def builder_headers(
    creds: BuilderCreds, method: str, path: str, body: str | None, ts: int
) -> dict[str, str]:
    message = f"{ts}{method}{path}{body or ''}"
    digest = hmac.new(
        base64.urlsafe_b64decode(creds.secret), message.encode(), hashlib.sha256
    ).digest()
    return {
        "POLY_BUILDER_API_KEY": creds.key,
        "POLY_BUILDER_TIMESTAMP": str(ts),
        "POLY_BUILDER_PASSPHRASE": creds.passphrase,
        "POLY_BUILDER_SIGNATURE": base64.urlsafe_b64encode(digest).decode(),
    }


class RelayerClient:
    def __init__(self, url: str, creds: BuilderCreds, *, timeout_secs: float = 10.0) -> None:
        self._url = url.rstrip("/")
        self._creds = creds
        self._timeout = timeout_secs
        self._session = requests.Session()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        text = json.dumps(body) if body is not None else None  # the client's str(dict) form
        headers = {"Content-Type": "application/json"} if text is not None else {}
        if method == "POST":
            headers.update(
                builder_headers(self._creds, method, path.split("?")[0], text, int(time.time()))
            )
        try:
            resp = self._session.request(
                method, self._url + path, data=text, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise TransientError(f"relayer {path.split('?')[0]}: {type(exc).__name__}") from None
        if resp.status_code in (401, 403):
            raise FatalError(f"relayer: HTTP {resp.status_code} (check the builder credentials)")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"relayer: HTTP {resp.status_code}", status=resp.status_code)
        if resp.status_code != 200:
            raise RejectedError(
                f"relayer: HTTP {resp.status_code}: {resp.text[:200]}", status=resp.status_code
            )
        try:
            return resp.json()
        except ValueError:
            raise TransientError("relayer: malformed answer") from None

    def nonce(self, eoa: str, kind: str) -> int:
        data = self._request("GET", f"/nonce?address={eoa}&type={kind}")
        if not isinstance(data, dict) or data.get("nonce") is None:
            raise TransientError("relayer: invalid nonce payload")
        return int(data["nonce"])

    def relay_payload(self, eoa: str) -> tuple[str, int]:
        data = self._request("GET", f"/relay-payload?address={eoa}&type=PROXY")
        if not isinstance(data, dict) or data.get("address") is None or data.get("nonce") is None:
            raise TransientError("relayer: invalid relay payload")
        return str(data["address"]), int(data["nonce"])

    def submit(self, body: dict[str, Any]) -> str:
        data = self._request("POST", "/submit", body)
        if not isinstance(data, dict) or not data.get("transactionID"):
            raise TransientError("relayer: submit answered without a transactionID")
        return str(data["transactionID"])

    def transaction(self, relay_id: str) -> dict[str, Any] | None:
        data = self._request("GET", f"/transaction?id={relay_id}")
        return data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None

    def transactions(self) -> list[dict[str, Any]]:
        data = self._request("GET", "/transactions")
        return [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []


class RelayerSender:
    """TxExecutor for wallet types 1 (proxy), 2 (Safe) and 3 (deposit wallet)."""

    def __init__(
        self,
        client: RelayerClient,
        rpc: Rpc,
        private_key: str,
        journal: IntentJournal,
        *,
        signature_type: int,
        wallet: str,
        chain_id: int,
        stop: threading.Event,
        contracts: rw.RelayContracts | None = None,
        timeout_secs: float = 120.0,
        poll_secs: float = 2.0,
        deadline_secs: int = 600,
    ) -> None:
        self._client = client
        self._rpc = rpc
        self._key = private_key
        self._eoa: str = Account.from_key(private_key).address
        self._journal = journal
        self._kind = WALLET_TYPES[signature_type]
        self.address = wallet  # the funder: it holds the tokens and receives the pUSD
        self._chain_id = chain_id
        self._stop = stop
        self._contracts = contracts or rw.RelayContracts()
        self._timeout = timeout_secs
        self._poll = poll_secs
        self._deadline = deadline_secs

    def start(self) -> None:
        self._client.nonce(self._eoa, "PROXY" if self._kind == "PROXY" else self._kind)

    def _build(self, to: str, data: bytes) -> dict[str, Any]:
        if self._kind == "SAFE":
            nonce = self._client.nonce(self._eoa, "SAFE")
            return rw.safe_request(self._key, self._chain_id, self.address, to, data, nonce)
        if self._kind == "PROXY":
            relay, nonce = self._client.relay_payload(self._eoa)
            return rw.proxy_request(
                self._key, self._contracts, self.address, to, data, nonce, relay
            )
        nonce = self._client.nonce(self._eoa, "WALLET")
        deadline = int(time.time()) + self._deadline
        return rw.wallet_request(
            self._key, self._contracts, self._chain_id, self.address, to, data, nonce, deadline
        )

    def execute(self, intent_id: str, to: str, data: bytes) -> Receipt:
        record = self._journal.records[intent_id]
        if not record.relay_ids:
            if record.relay_requests:
                relay_id = self._resubmit(record.relay_requests[-1])
            else:
                body = self._build(to, data)
                self._journal.add_relay_request(intent_id, body)  # before posting it
                relay_id = self._client.submit(body)
            self._journal.add_relayed(intent_id, relay_id)
            log.info("onchain relayer tx %s intent=%s submitted", relay_id, intent_id)
        return self._await(self._journal.records[intent_id].relay_ids[-1])

    def _resubmit(self, body: dict[str, Any]) -> str:
        """A journalled request whose relayer id was never recorded: find it, or post it again."""
        for t in self._client.transactions():
            if (
                str(t.get("from", "")).lower() == self._eoa.lower()
                and str(t.get("nonce")) == body["nonce"]
            ):
                return str(t["transactionID"])
        return self._client.submit(body)

    def _await(self, relay_id: str) -> Receipt:
        deadline = time.monotonic() + self._timeout
        while True:
            txn = self._client.transaction(relay_id)
            state = txn.get("state") if txn else None
            if txn is not None and state in DONE_STATES and txn.get("transactionHash"):
                return self._receipt(str(txn["transactionHash"]))
            if txn is not None and state in FAILED_STATES:
                raise RejectedError(
                    f"relayer tx {relay_id} {state} (hash {txn.get('transactionHash')})"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"relayer tx {relay_id} still {state} after {self._timeout:.0f}s"
                )
            if self._stop.wait(min(self._poll, remaining)):
                raise Stopping()

    def _receipt(self, tx_hash: str) -> Receipt:
        raw = self._rpc.call("eth_getTransactionReceipt", tx_hash)
        if raw is None:
            raise TransientError(f"relayer says {tx_hash} is mined; the node has no receipt yet")
        try:
            receipt = parse_receipt(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"malformed receipt for {tx_hash}: {exc}") from None
        if receipt.status != 1:
            raise RejectedError(f"relayed tx {tx_hash} reverted")
        # the relayer paid the gas: the wallet's cost is nil
        return Receipt(receipt.tx_hash, 1, receipt.block, receipt.gas_used, 0, receipt.logs)
