"""An imitation of Polymarket's relayer that executes the same contract calls on the sim chain.

It speaks the endpoints py-builder-relayer-client uses (``/nonce``, ``/relay-payload``,
``/deployed``, ``/submit``, ``/transaction``, ``/transactions``), checks the builder HMAC on
``/submit`` over the exact body text, recovers the owner from the request's signature (Safe
digest, proxy "rlx:" hash or deposit-wallet Batch typed data), checks the wallet and its nonce,
then executes the wrapped call *as the wallet* and reports ``STATE_MINED`` with the hash.

One substitution, said plainly: a real proxy/Safe/deposit wallet is a contract at a CREATE2
address executing the call; here the wallet is an account whose key the relayer holds
(``open_wallet``), so ``msg.sender`` is the wallet exactly as with the contract. Signatures,
nonces and request fields are checked as the real relayer must; the wallet bytecode is not run.

Faults for tests: ``fail_next`` (the call fails: ``STATE_FAILED``, nothing changes),
``lose_next_response`` (executed, but the answer to ``/submit`` is a 502), ``hold`` (accepted,
left ``STATE_NEW`` until ``release()``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from eth_abi import decode

from pmbot.onchain import relayer_wallets as rw
from pmbot.sim.chain import ChainError, SimChain
from pmbot.sim.loopback_http import LoopbackHttp


@dataclass(slots=True)
class SimWallet:
    owner: str
    kind: str  # SAFE, PROXY or WALLET
    address: str
    nonce: int = 0


class SimRelayer:
    """The relayer's state and rules, independent of HTTP (``handle``)."""

    def __init__(self, chain: SimChain, api_key: str, secret: str, passphrase: str) -> None:
        self.chain = chain
        self._creds = (api_key, secret, passphrase)
        self._lock = threading.Lock()
        self.wallets: dict[str, SimWallet] = {}  # by wallet address (lower)
        self.transactions: list[dict[str, Any]] = []
        self.relay = "0x" + "5e" * 20
        self._ids = itertools.count(1)
        self.fail_next = 0
        self.lose_next_response = 0
        self.hold = False  # accept submissions but leave them STATE_NEW until release()
        self._held: list[
            tuple[dict[str, Any], SimWallet, list[tuple[str, bytes]], dict[str, Any]]
        ] = []
        self.submits = 0

    def open_wallet(self, owner: str, kind: str) -> str:
        key = "0x" + os.urandom(32).hex()
        address = self.chain.add_key(key)
        self.chain.fund(address)  # gas money: the relayer pays
        self.wallets[address.lower()] = SimWallet(owner, kind, address)
        return address

    def _owner_wallet(self, owner: str, kind: str) -> SimWallet | None:
        for w in self.wallets.values():
            if w.owner.lower() == owner.lower() and w.kind == kind:
                return w
        return None

    # --- GET ------------------------------------------------------------------------------------

    def get(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path in ("/nonce", "/relay-payload"):
            kind = query.get("type", "")
            w = self._owner_wallet(query.get("address", ""), kind)
            nonce = w.nonce if w else 0
            if path == "/nonce":
                return 200, {"nonce": str(nonce)}
            return 200, {"address": self.relay, "nonce": str(nonce)}
        if path == "/deployed":
            return 200, {"deployed": query.get("address", "").lower() in self.wallets}
        if path == "/transaction":
            return 200, [t for t in self.transactions if t["transactionID"] == query.get("id")]
        if path == "/transactions":
            return 200, list(self.transactions)
        return 404, {"error": "not found"}

    # --- POST /submit ----------------------------------------------------------------------------

    def _auth_ok(self, headers: dict[str, str], body: str) -> bool:
        key, secret, passphrase = self._creds
        if headers.get("poly_builder_api_key") != key:
            return False
        if headers.get("poly_builder_passphrase") != passphrase:
            return False
        message = f"{headers.get('poly_builder_timestamp', '')}POST/submit{body}"
        want = hmac.new(base64.urlsafe_b64decode(secret), message.encode(), hashlib.sha256)
        got = headers.get("poly_builder_signature", "")
        return hmac.compare_digest(base64.urlsafe_b64encode(want.digest()).decode(), got)

    def submit(self, headers: dict[str, str], body: str) -> tuple[int, Any]:
        self.submits += 1
        if not self._auth_ok(headers, body):
            return 401, {"error": "invalid builder credentials"}
        try:
            req = json.loads(body)
            signer = rw.request_signer(req, self.chain.chain_id)
            calls = self._calls(req)
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"error": f"invalid request: {exc}"}
        if signer.lower() != str(req["from"]).lower():
            return 400, {"error": "invalid signature"}
        with self._lock:
            wallet = self._wallet_of(req)
            if wallet is None or wallet.owner.lower() != signer.lower():
                return 400, {"error": "unknown wallet for signer"}
            if int(req["nonce"]) != wallet.nonce:
                return 400, {"error": f"invalid nonce: expected {wallet.nonce}"}
            wallet.nonce += 1
            record = self._execute(req, wallet, calls)
        if self.lose_next_response > 0:
            self.lose_next_response -= 1
            return 502, {"error": "bad gateway"}
        return 200, {"transactionID": record["transactionID"], "state": "STATE_NEW"}

    def _wallet_of(self, req: dict[str, Any]) -> SimWallet | None:
        if req["type"] == "WALLET":
            address = str(req["depositWalletParams"]["depositWallet"])
        else:
            address = str(req["proxyWallet"])
        w = self.wallets.get(address.lower())
        return w if w is not None and w.kind == req["type"] else None

    @staticmethod
    def _calls(req: dict[str, Any]) -> list[tuple[str, bytes]]:
        if req["type"] == "SAFE":
            return [(str(req["to"]), bytes.fromhex(str(req["data"]).removeprefix("0x")))]
        if req["type"] == "WALLET":
            return [
                (str(c["target"]), bytes.fromhex(str(c["data"]).removeprefix("0x")))
                for c in req["depositWalletParams"]["calls"]
            ]
        data = bytes.fromhex(str(req["data"]).removeprefix("0x"))
        if data[:4] != bytes.fromhex(rw.proxy_calldata(rw.ZERO_ADDRESS, b"")[2:10]):
            raise ValueError("not a proxy() call")
        (items,) = decode(["(uint8,address,uint256,bytes)[]"], data[4:])
        return [(str(to), bytes(d)) for _, to, _, d in items]

    def _execute(
        self, req: dict[str, Any], wallet: SimWallet, calls: list[tuple[str, bytes]]
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "transactionID": f"sim-{next(self._ids)}",
            "from": req["from"],
            "nonce": str(req["nonce"]),
            "type": req["type"],
            "proxyAddress": wallet.address,
            "state": "STATE_NEW",
            "transactionHash": None,
        }
        self.transactions.append(record)
        if self.hold:
            self._held.append((req, wallet, calls, record))
            return record
        return self._run(wallet, calls, record)

    def release(self) -> None:
        """Execute the held submissions, in order."""
        with self._lock:
            held, self._held, self.hold = self._held, [], False
            for _, wallet, calls, record in held:
                self._run(wallet, calls, record)

    def _run(
        self, wallet: SimWallet, calls: list[tuple[str, bytes]], record: dict[str, Any]
    ) -> dict[str, Any]:
        if self.fail_next > 0:
            self.fail_next -= 1
            record["state"] = "STATE_FAILED"
            return record
        try:
            for to, data in calls:
                receipt = self.chain.transact(wallet.address, to, data)
                record["transactionHash"] = str(receipt["transaction_hash"])
        except ChainError:
            record["state"] = "STATE_FAILED"
            return record
        record["state"] = "STATE_MINED"
        return record


class RelayerServer(LoopbackHttp):
    """SimRelayer over HTTP on loopback, in a daemon thread."""

    def __init__(self, relayer: SimRelayer, host: str = "127.0.0.1", port: int = 0) -> None:
        self.relayer = relayer
        sim = relayer

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._reply(*sim.get(url.path, query))

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                if urlparse(self.path).path != "/submit":
                    self._reply(404, {"error": "not found"})
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._reply(*sim.submit(headers, body))

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(Handler, host=host, port=port, thread_name="sim-relayer")

    @property
    def url(self) -> str:
        return self.base_url + ""

    def start(self) -> RelayerServer:
        self.start_serving()
        return self
