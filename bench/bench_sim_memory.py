"""Memory of the standalone simulator under its default background traders.

Starts ``python -m pmbot.sim --port 0`` (bundled config: background makers and takers on every
market), then once a minute prints one JSON line with the process's RSS (from /proc) and the
exchange's record counts (``GET /_sim/stats``): orders and trades held, open orders, and how many
were pruned. With a retention window shorter than the run, the held counts and the RSS level
off once the window is full; ``--retention-secs 0`` keeps everything (the old behaviour).

    .venv/bin/python bench/bench_sim_memory.py [--minutes 3] [--retention-secs 60]

Never asserts: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_sim(retention_secs: float | None) -> tuple[subprocess.Popen, dict]:
    cmd = [sys.executable, "-m", "pmbot.sim", "--port", "0"]
    if retention_secs is not None:
        cmd += ["--retention-secs", str(retention_secs)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        raise RuntimeError(f"the sim did not start (exit {proc.wait()})")
    return proc, dict(part.split("=", 1) for part in line.split())


def sample(proc: subprocess.Popen, urls: dict, minute: float) -> dict:
    stats = requests.get(urls["clob_url"] + "/_sim/stats", timeout=30).json()
    return {"minute": round(minute, 2), "rss_mb": round(rss_mb(proc.pid), 1), **stats}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument(
        "--retention-secs",
        type=float,
        default=None,
        help="passed to the sim (default: the bundled config's, 300)",
    )
    args = parser.parse_args()
    proc, urls = start_sim(args.retention_secs)
    started = time.monotonic()
    try:
        print(json.dumps({"bench": "sim_memory", **sample(proc, urls, 0.0)}), flush=True)
        for minute in range(1, int(args.minutes) + 1):
            due = started + 60 * minute
            time.sleep(max(0.0, due - time.monotonic()))
            elapsed = (time.monotonic() - started) / 60
            print(json.dumps({"bench": "sim_memory", **sample(proc, urls, elapsed)}), flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
