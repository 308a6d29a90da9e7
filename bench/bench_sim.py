"""Benchmark pmbot.sim end to end, from a separate process (``python -m pmbot.sim``).

1. price_change delivery: N bench markets, one websocket-client subscriber, ``POST /_sim/flood``
   at a target rate (20,000/s is the goal) and flat out; figures are messages/s as received.
2. order requests: pre-signed post-only GTC orders POSTed to ``/order`` with L2 headers by 1 and
   by 4 client threads (each its own key); figures are requests/s and latency percentiles.

Prints one JSON line per figure. Never asserts on timings.

    /work/venv/bin/python bench/bench_sim.py [--count 100000] [--orders 600]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

import requests
import websocket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pmbot import eip712  # noqa: E402
from pmbot.sim.auth import hmac_signature  # noqa: E402


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def start_sim() -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmbot.sim", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    return proc, dict(part.split("=", 1) for part in line.split())


def create_bench_markets(urls: dict, *, markets: int, levels: int) -> list[str]:
    created = requests.post(
        urls["clob_url"] + "/_sim/bench_markets",
        json={"count": markets, "levels": levels},
        timeout=30,
    ).json()
    return [t for m in created["markets"] for t in (m["yes_token"], m["no_token"])]


def bench_feed(urls: dict, tokens: list[str], *, rate: float, count: int) -> None:
    """The flood covers every bench market, so ``tokens`` must be all of them."""
    base = urls["clob_url"]
    # skip_utf8_validation: websocket-client's pure-Python UTF-8 check caps it near 15k msgs/s here
    ws = websocket.create_connection(urls["market_ws_url"], timeout=10, skip_utf8_validation=True)
    ws.send(json.dumps({"assets_ids": tokens, "type": "market"}))
    snapshots = json.loads(ws.recv())
    assert len(snapshots) == len(tokens)
    requests.post(
        base + "/_sim/flood", json={"rate": rate, "count": count}, timeout=10
    ).raise_for_status()
    received = 0
    first = last = None
    checked = 0
    while received < count:
        try:
            text = ws.recv()
        except websocket.WebSocketTimeoutException:
            break
        now = time.perf_counter()
        if not text.startswith('{"market"'):
            continue
        if first is None:
            first = now
        last = now
        received += 1
        if received % 5000 == 1:  # parse a sample: the messages are real, consistent JSON
            msg = json.loads(text)
            assert msg["event_type"] == "price_change" and len(msg["price_changes"]) == 2
            checked += 1
    ws.close()
    secs = (
        (last - first) if first is not None and last is not None and last > first else float("nan")
    )
    emit(
        bench="sim_price_change_delivery",
        target_rate=rate,
        sent=count,
        received=received,
        secs=round(secs, 3),
        msgs_per_s=round(received / secs, 1) if secs == secs else None,
        markets=len(tokens) // 2,
        sampled_and_parsed=checked,
    )


def _api_key(base: str, key: str) -> tuple[str, dict]:
    address = eip712.address_of(key)
    ts = str(int(time.time()))
    headers = {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": eip712.sign_clob_auth(key, address, ts, 0),
        "POLY_TIMESTAMP": ts,
        "POLY_NONCE": "0",
    }
    return address, requests.get(base + "/auth/derive-api-key", headers=headers, timeout=10).json()


def _signed_orders(
    key: str, address: str, owner: str, token: str, n: int, rng: random.Random
) -> list[str]:
    bodies = []
    for i in range(n):
        price_cents = 1 + i % 30
        size = 5 + i // 30
        order = {
            "salt": rng.getrandbits(40),
            "maker": address,
            "signer": address,
            "tokenId": token,
            "makerAmount": str(size * price_cents * 10_000),
            "takerAmount": str(size * 1_000_000),
            "side": "BUY",
            "expiration": "0",
            "signatureType": 0,
            "timestamp": str(int(time.time() * 1000)),
            "metadata": "0x" + "00" * 32,
            "builder": "0x" + "00" * 32,
        }
        order["signature"] = eip712.sign_digest(key, eip712.order_digest(order, neg_risk=False))
        body = {
            "order": order,
            "owner": owner,
            "orderType": "GTC",
            "deferExec": False,
            "postOnly": True,
        }
        bodies.append(json.dumps(body, separators=(",", ":")))
    return bodies


def _l2(address: str, creds: dict, method: str, path: str, body: str) -> dict:
    ts = str(int(time.time()))
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": hmac_signature(creds["secret"], ts, method, path, body),
        "POLY_TIMESTAMP": ts,
        "POLY_API_KEY": creds["apiKey"],
        "POLY_PASSPHRASE": creds["passphrase"],
        "Content-Type": "application/json",
    }


def bench_orders(urls: dict, *, threads: int, per_thread: int) -> None:
    base = urls["clob_url"]
    listing = requests.get(base + "/markets", timeout=10).json()["data"]
    token = next(
        m["tokens"][0]["token_id"]
        for m in listing
        if m["minimum_tick_size"] == 0.01 and not m["neg_risk"]
    )
    rng = random.Random(threads)
    jobs = []
    for t in range(threads):
        key = "0x" + (f"{t + 1:02x}" + "5e" * 31)
        address, creds = _api_key(base, key)
        jobs.append(
            (address, creds, _signed_orders(key, address, creds["apiKey"], token, per_thread, rng))
        )
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def run(address, creds, bodies):
        session = requests.Session()
        mine = []
        for body in bodies:
            started = time.perf_counter()
            r = session.post(
                base + "/order",
                data=body,
                headers=_l2(address, creds, "POST", "/order", body),
                timeout=10,
            )
            mine.append(time.perf_counter() - started)
            if r.status_code != 200 or not r.json().get("success"):
                with lock:
                    failures[0] += 1
        with lock:
            latencies.extend(mine)

    workers = [
        threading.Thread(target=run, args=job, name=f"bench-orders-{i}")
        for i, job in enumerate(jobs)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    secs = time.perf_counter() - started
    for address, creds, _ in jobs:
        requests.delete(
            base + "/cancel-all",
            headers=_l2(address, creds, "DELETE", "/cancel-all", ""),
            timeout=30,
        )
    lat = sorted(latencies)
    emit(
        bench="sim_order_requests",
        threads=threads,
        orders=len(lat),
        failures=failures[0],
        secs=round(secs, 3),
        orders_per_s=round(len(lat) / secs, 1),
        p50_ms=round(statistics.median(lat) * 1000, 2),
        p99_ms=round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=100_000, help="price_change messages per flood"
    )
    parser.add_argument("--orders", type=int, default=600, help="orders per benchmark run")
    args = parser.parse_args()
    proc, urls = start_sim()
    try:
        tokens = create_bench_markets(urls, markets=10, levels=20)
        bench_feed(urls, tokens, rate=20_000, count=args.count)
        bench_feed(urls, tokens, rate=1_000_000, count=args.count)
        bench_orders(urls, threads=1, per_thread=args.orders)
        bench_orders(urls, threads=4, per_thread=args.orders // 4)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
