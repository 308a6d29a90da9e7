#!/usr/bin/env python3
"""Change -> cancel and change -> post latencies of a re-quote, beside a trivial reactive client's
floor, with the simulator in another process (issue 20).

The simulator runs as its own process with ``--holds`` (``pmbot.sim.holds``). A book change is a
``POST /_sim/control`` ``set_book`` on one frozen market; the moment the sim's REST layer applies
it (``time.monotonic_ns()``, one clock for every process on the machine) is the start of every
measurement. A request's arrival is when its first bytes reached the sim's socket: the kernel's
receive stamp (``pmbot.sim.wire_stamps``). The moment the sim's Python got round to reading it is
reported beside it (``at_sim_read``): that one also counts the sim's own delays, since the sim is
busy emitting the very change being measured. Two phases, one run:

1. **floor**: a trivial client in its own process reads the market socket and, for each frame,
   writes a pre-built ``GET /ok`` request on a warm keep-alive connection (no parsing beyond
   "a frame came", no signing). Figure: change -> that request's arrival.
2. **bot**: the bot in this process (live mode, every URL pointed at the sim, quoting only the
   moved market so every request the sim sees is about it; the edge strategy re-quotes on each
   change). Figures: change -> first ``DELETE /orders`` arrival (the cancel of the old quotes: with
   ``execution.pull_stale_quotes``, the feed thread's pull of the exposed side) and change -> first
   ``POST /orders`` arrival (the new quotes), and how often the cancel arrived first.

Placement: the venue is another machine and never takes the bot's CPU. On one box the sim is a busy
Python process; left to the scheduler, the sim thread a bot write wakes is placed on the writer's
core and preempts it (measured: a quarter of the feed thread's pull writes lost 0.35-0.5 ms to one
involuntary switch). So by default the sim gets the first half of the CPUs and this process (the
bot, then the floor client it starts) the rest: both the bot and the floor are measured with the
venue off their core. ``--shared-cores`` leaves placement to the scheduler, as before.

Prints one JSON line; asserts nothing about time.

    python bench/bench_tick_to_order.py [--changes 40] [--interval 0.2] [--no-pull] [--shared-cores]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# Two books 2 cents apart: a new mid bucket every time, but below the price-jump guard.
BOOKS = [
    ([("0.40", "500"), ("0.39", "500")], [("0.44", "500"), ("0.45", "500")]),
    ([("0.42", "500"), ("0.41", "500")], [("0.46", "500"), ("0.47", "500")]),
]


def pct(values: list[float], q: float) -> float | None:
    values = sorted(values)
    if not values:
        return None
    k = max(0, min(len(values) - 1, int(round(q / 100 * (len(values) - 1)))))
    return round(values[k], 3)


def summary(ms: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50_ms": pct(ms, 50),
        "p99_ms": pct(ms, 99),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
    }


# --------------------------------------------------------------------------- the floor client


def floor_client(ws_url: str, clob_url: str, token: str) -> int:
    """Child process: on every market frame after the first, write a pre-built request."""
    import websocket

    from pmbot.venue.market_state import subscribe_msg

    parts = urlsplit(clob_url)
    conn = socket.create_connection((parts.hostname, parts.port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = f"GET /ok HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 0\r\n\r\n".encode()
    conn.sendall(request)  # warm: the connection is open and used once
    reader = conn.makefile("rb")
    _read_answer(reader)
    ws = websocket.create_connection(ws_url)
    ws.send(subscribe_msg([token]))
    ws.recv()  # the subscription's book dump
    print("ready", flush=True)
    while True:
        try:
            ws.recv()
        except (websocket.WebSocketException, OSError):
            return 0
        conn.sendall(request)  # the reaction: one write of ready bytes
        _read_answer(reader)


def _read_answer(reader) -> None:
    length = 0
    while True:
        line = reader.readline()
        if not line:
            raise SystemExit(0)
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        if line in (b"\r\n", b"\n"):
            break
    reader.read(length)


# --------------------------------------------------------------------------- phases


def drive_changes(sim, token: str, changes: int, interval: float) -> None:
    for i in range(changes):
        bids, asks = BOOKS[i % 2]
        sim.control(set_book={"token_id": token, "bids": bids, "asks": asks, "freeze": True})
        time.sleep(interval)  # the pacing of the book changes, by design


def arrived(row: list, clock: str) -> int:
    """A request's arrival (an ``/_sim/holds/arrivals`` row): ``wire``, when it reached the sim's
    socket (the REST layer's time if the kernel gave no stamp); ``read``, when the sim read it."""
    wire = row[5] if len(row) > 5 else None
    return wire if clock == "wire" and wire else row[3]


def latencies(rows: list, wanted: tuple[str, str], clock: str = "wire") -> list[float]:
    """For each change (applied by the sim), ms until the first ``wanted`` request after it (and
    before the next change)."""
    out: list[float] = []
    changes = [r[3] for r in rows if r[2] == "/_sim/control"]
    times = [arrived(r, clock) for r in rows if (r[1], r[2]) == wanted]
    for i, at in enumerate(changes):
        end = changes[i + 1] if i + 1 < len(changes) else float("inf")
        hits = [t for t in times if at < t < end]
        if hits:
            out.append((min(hits) - at) / 1e6)
    return out


def cancel_first_share(rows: list) -> tuple[int, int]:
    changes = [r[3] for r in rows if r[2] == "/_sim/control"] + [float("inf")]
    both = first = 0
    orders = sorted((arrived(r, "wire"), r[1]) for r in rows if r[2] == "/orders")
    for at, end in zip(changes, changes[1:], strict=False):
        kinds = [kind for t, kind in orders if at < t < end]
        if "DELETE" in kinds and "POST" in kinds:
            both += 1
            first += kinds[0] == "DELETE"
    return first, both


def floor_phase(sim, token: str, changes: int, interval: float) -> dict[str, list[float]]:
    child = subprocess.Popen(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--floor-client",
            sim.urls["market_ws_url"],
            sim.urls["clob_url"],
            token,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # let the subscription settle, by design
        sim.get("/_sim/holds/arrivals?clear=1")
        drive_changes(sim, token, changes, interval)
        rows = sim.get("/_sim/holds/arrivals?clear=1")
    finally:
        child.terminate()
        child.wait(10)
    return {clock: latencies(rows, ("GET", "/ok"), clock) for clock in ("wire", "read")}


def moved_market(sim) -> dict:
    """The market the bench moves (a binary one on a 0.01 tick), as a config entry; its book is
    frozen at the first of ``BOOKS`` (no background trading there)."""
    market = next(
        m
        for m in sim.get("/markets")["data"]
        if not m.get("neg_risk") and Decimal(str(m["minimum_tick_size"])) == Decimal("0.01")
    )
    toks = {t["outcome"].lower(): t["token_id"] for t in market["tokens"]}
    bids, asks = BOOKS[1]
    sim.control(set_book={"token_id": toks["yes"], "bids": bids, "asks": asks, "freeze": True})
    return {"yes_token": toks["yes"], "no_token": toks["no"]}


def bot_phase(sim, market: dict, changes: int, interval: float, pull: bool = True) -> dict:
    """The bot quotes only the moved market: every cancel and post the sim sees is about it."""
    from pmbot.config import parse_config
    from pmbot.runner import BotRunner
    from tests.integration.botproc import TEST_KEY, free_port
    from tests.waiting import wait_for

    keys = ("clob_url", "market_ws_url", "user_ws_url", "data_api_url", "gamma_url")
    cfg = parse_config(
        {
            "mode": "live",
            "markets": [market],
            "venue": {k: sim.urls[k] for k in keys},
            "metrics": {"port": free_port()},
            "state_dir": os.path.join("/tmp", f"pmbot-bench-{os.getpid()}"),
            "arbitrage": {"enabled": False},
            "execution": {"pull_stale_quotes": pull},
        }
    )
    runner = BotRunner(cfg, private_key=TEST_KEY)
    runner._start()
    try:
        token = market["yes_token"]
        wait_for(lambda: runner.engine.tracker.live_ids(), 60, "the initial quotes")
        time.sleep(1.0)  # stragglers of the start-up quotes land first, by design
        sim.get("/_sim/holds/arrivals?clear=1")
        drive_changes(sim, token, changes, interval)
        rows = sim.get("/_sim/holds/arrivals?clear=1")
        pulls = {
            kind: runner.metrics.quote_pulls_total.labels(kind=kind)._value.get()
            for kind in ("written", "queued")
        }
        presigned = runner.executor.presigner
        pulls["presigned_used_made"] = [presigned.used, presigned.made]
    finally:
        runner._teardown(cancel=True)
    first, both = cancel_first_share(rows)
    return {
        "cancel": {c: latencies(rows, ("DELETE", "/orders"), c) for c in ("wire", "read")},
        "post": {c: latencies(rows, ("POST", "/orders"), c) for c in ("wire", "read")},
        "cancel_first": first,
        "both": both,
        "token": token,
        "pulls": pulls,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=40)
    # 0.2 s: two re-quoted orders per change = ~10 orders/s, inside the client-side rate budget
    # (Standard tier 40/s x rate_budget_fraction 0.5); faster, the budget delays creates by design.
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--floor-client", nargs=3, metavar=("WS_URL", "CLOB_URL", "TOKEN"))
    ap.add_argument(
        "--no-pull",
        action="store_true",
        help="execution.pull_stale_quotes off: the cancel waits for the strategy thread",
    )
    ap.add_argument(
        "--shared-cores",
        action="store_true",
        help="leave placement to the scheduler (the sim may run on the bot's core)",
    )
    args = ap.parse_args()
    if args.floor_client:
        return floor_client(*args.floor_client)
    logging.basicConfig(level=logging.WARNING)
    from tests.integration.botproc import SimProcess

    sim = SimProcess("--holds")
    placement = "shared" if args.shared_cores else place(sim.proc.pid)
    try:
        market = moved_market(sim)
        bot = bot_phase(sim, market, args.changes, args.interval, pull=not args.no_pull)
        token = bot.pop("token")
        floor = floor_phase(sim, token, args.changes, args.interval)
    finally:
        sim.stop()
    f50, c50, p50 = (pct(x["wire"], 50) for x in (floor, bot["cancel"], bot["post"]))
    read = (("floor", floor), ("cancel", bot["cancel"]), ("post", bot["post"]))
    r50 = {k: pct(x["read"], 50) for k, x in read}
    print(
        json.dumps(
            {
                "bench": "tick_to_order",
                "changes": args.changes,
                "placement": placement,
                "floor_change_to_request": summary(floor["wire"]),
                "bot_change_to_cancel": summary(bot["cancel"]["wire"]),
                "bot_change_to_post": summary(bot["post"]["wire"]),
                "cancel_arrived_first": f"{bot['cancel_first']}/{bot['both']}",
                "pull_stale_quotes": not args.no_pull,
                "pulls_written_queued": [bot["pulls"]["written"], bot["pulls"]["queued"]],
                "presigned_used_made": bot["pulls"]["presigned_used_made"],
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "cancel_minus_floor_p50_ms": _diff(c50, f50),
                "post_minus_floor_p50_ms": _diff(p50, f50),
                "target": "cancel within 1 ms of the floor at p50, post within 2 ms",
                "at_sim_read": {
                    "floor_p50_ms": r50["floor"],
                    "cancel_minus_floor_p50_ms": _diff(r50["cancel"], r50["floor"]),
                    "post_minus_floor_p50_ms": _diff(r50["post"], r50["floor"]),
                },
                "measured": "set_book applied by the sim -> the request's bytes at the sim's "
                "socket (kernel receive stamp); at_sim_read: -> the sim's REST layer read it; "
                "CLOCK_MONOTONIC",
            }
        ),
        flush=True,
    )
    return 0


def place(sim_pid: int) -> str:
    """The sim's threads on the first half of the CPUs, this process's on the rest (threads and
    processes started later inherit their starter's). Says what it did."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "shared (one CPU)"
    half = len(cpus) // 2
    sim_cpus, own_cpus = set(cpus[:half]), set(cpus[half:])
    for pid, where in ((sim_pid, sim_cpus), (os.getpid(), own_cpus)):
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                os.sched_setaffinity(int(tid), where)
            except OSError:
                pass  # the thread ended meanwhile
    return f"sim on cpus {sorted(sim_cpus)}; bot and floor client on cpus {sorted(own_cpus)}"


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


if __name__ == "__main__":
    sys.exit(main())
