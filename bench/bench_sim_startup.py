"""Benchmark ``python bot.py`` in sim mode from a cold start: seconds until the metrics endpoint
answers, until the first order is created and until the first fill (the first landing's promise:
quotes and fills within 20 s on a fresh machine). The test suite checks the behaviour with a budget
for a busy machine; the figure lives here.

Prints one JSON line per run. Never asserts on timings.

    .venv/bin/python bench/bench_sim_startup.py [--runs 3] [--limit 120]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric_sum(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
            return resp.read().decode()
    except OSError:
        return None


def one_run(limit: float) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pmbot-bench-") as tmp:
        cfg = os.path.join(tmp, "config.yaml")
        with open(cfg, "w", encoding="utf-8") as fh:
            json.dump({"metrics": {"port": port}, "state_dir": os.path.join(tmp, "state")}, fh)
        env = {k: v for k, v in os.environ.items() if k != "POLYMARKET_PRIVATE_KEY"}
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "bot.py", "--config", cfg],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        marks: dict[str, float | None] = dict.fromkeys(
            ("metrics_s", "first_order_s", "first_fill_s")
        )
        try:
            while time.monotonic() - t0 < limit and proc.poll() is None:
                text = scrape(port)
                now = round(time.monotonic() - t0, 2)
                if text is not None and marks["metrics_s"] is None:
                    marks["metrics_s"] = now
                created = metric_sum(text or "", "pmbot_orders_created_total")
                if created > 0 and marks["first_order_s"] is None:
                    marks["first_order_s"] = now
                if text and metric_sum(text, "pmbot_fills_total") > 0:
                    marks["first_fill_s"] = now
                    break
                time.sleep(0.1)  # the sampling period of this measurement
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
    return {"bench": "sim_startup", **marks, "target_s": 20, "limit_s": limit, "exit": code}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=120.0, help="give up after this many s")
    args = parser.parse_args()
    for _ in range(args.runs):
        print(json.dumps(one_run(args.limit)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
