"""The sim chain served as Ethereum JSON-RPC over HTTP on loopback (the subset a sender uses)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from pmbot.sim.chain import ChainError, SimChain
from pmbot.sim.loopback_http import LoopbackHttp

log = logging.getLogger("pmbot.sim.chain_rpc")
PRIORITY_FEE_WEI = 2_000_000_000
STATEFUL = frozenset({"eth_call", "eth_estimateGas", "eth_sendRawTransaction"})


def _hex(value: Any) -> Any:
    """eth-tester values to JSON-RPC: ints as quantities, bytes as data, recursively."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(k): _hex(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_hex(v) for v in value]
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def _int(value: str) -> int:
    return int(value, 16)


def _run_hook(hook: Callable[[], None]) -> None:
    try:
        hook()
    except Exception:  # the request is still served; the bridge thread retries the sync
        log.exception("sim chain: sync before a request failed")


class ChainRpc:
    """Method table over a SimChain; ``handle`` takes and returns one JSON-RPC object."""

    def __init__(self, chain: SimChain) -> None:
        self.chain = chain
        self.calls: dict[str, int] = {}
        # Called before a call that reads or changes state (sim mode: the ledger -> chain sync).
        self.before_state: Callable[[], None] | None = None
        self.methods: dict[str, Callable[..., Any]] = {
            "eth_chainId": lambda: hex(chain.chain_id),
            "net_version": lambda: str(chain.chain_id),
            "eth_blockNumber": lambda: hex(chain.tester.get_block_by_number("latest")["number"]),
            "eth_getBlockByNumber": self._block,
            "eth_getTransactionCount": self._nonce,
            "eth_gasPrice": lambda: hex(self._base_fee() + PRIORITY_FEE_WEI),
            "eth_maxPriorityFeePerGas": lambda: hex(PRIORITY_FEE_WEI),
            "eth_estimateGas": self._estimate,
            "eth_call": self._call,
            "eth_sendRawTransaction": chain.send_raw,
            "eth_getTransactionReceipt": self._receipt,
            "eth_getBalance": lambda addr, tag="latest": hex(chain.tester.get_balance(addr)),
        }

    def _base_fee(self) -> int:
        return int(self.chain.tester.get_block_by_number("latest").get("base_fee_per_gas", 0))

    def _block(self, tag: str, full: bool = False) -> Any:
        number = tag if tag in ("latest", "pending", "earliest") else _int(tag)
        block = self.chain.tester.get_block_by_number(number, False)
        return _hex(dict(block))

    def _nonce(self, address: str, tag: str = "latest") -> str:
        if tag == "pending":
            return hex(self.chain.pending_nonce(address))
        return hex(self.chain.tester.get_nonce(address))

    def _tx(self, tx: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": tx.get("from", self.chain.admin),
            "to": tx["to"],
            "data": tx.get("data", "0x"),
            "gas": _int(tx.get("gas", hex(10_000_000))),
            "value": _int(tx.get("value", "0x0")),
        }
        return out

    def _estimate(self, tx: dict[str, Any], tag: str = "latest") -> str:
        try:
            return hex(self.chain.tester.estimate_gas(self._tx(tx)))
        except Exception as exc:  # eth-tester raises TransactionFailed on revert
            raise ChainError(f"execution reverted: {exc}", 3) from exc

    def _call(self, tx: dict[str, Any], tag: str = "latest") -> str:
        try:
            return str(self.chain.tester.call(self._tx(tx)))
        except Exception as exc:
            raise ChainError(f"execution reverted: {exc}", 3) from exc

    def _receipt(self, tx_hash: str) -> Any:
        r = self.chain.receipt(tx_hash)
        return None if r is None else _hex(r)

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        rid = req.get("id")
        method = req.get("method", "")
        self.calls[method] = self.calls.get(method, 0) + 1
        fn = self.methods.get(method)
        if fn is None:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": method}}
        try:
            hook = self.before_state
            if hook is not None and method in STATEFUL:
                _run_hook(hook)
            result = fn(*req.get("params", []))
        except ChainError as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": str(exc)}}
        return {"jsonrpc": "2.0", "id": rid, "result": result}


class ChainServer(LoopbackHttp):
    """ChainRpc on http://127.0.0.1:<port>/ in a daemon thread."""

    def __init__(self, chain: SimChain, host: str = "127.0.0.1", port: int = 0) -> None:
        self.rpc = ChainRpc(chain)
        rpc = self.rpc

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    req = json.loads(self.rfile.read(length))
                    body = rpc.handle(req)
                except (ValueError, TypeError, AttributeError) as exc:
                    body = {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {"code": -32700, "message": str(exc)},
                    }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(Handler, host=host, port=port, thread_name="sim-chain")

    @property
    def url(self) -> str:
        return self.base_url + "/"

    def start(self) -> ChainServer:
        self.start_serving()
        return self


def main(argv: list[str] | None = None) -> None:
    """``python -m pmbot.sim.chain_rpc [--port N] [--fund ADDRESS ...]``: serve a sim chain and
    print its URL and contract addresses as one JSON line (for trying the bot's onchain section)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m pmbot.sim.chain_rpc")
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--fund", action="append", default=[], help="give gas money and 1000 pUSD")
    args = parser.parse_args(argv)
    chain = SimChain()
    for address in args.fund:
        chain.fund(address, pusd_units=1_000 * 10**6)
    server = ChainServer(chain, port=args.port).start()
    info = {"rpc_url": server.url, "chain_id": chain.chain_id, "ctf": chain.ctf, "pusd": chain.pusd}
    print(json.dumps(info), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
