"""Benchmark ``bot.py ctl pause MARKET`` on a running bot (a real process, live mode against the
simulator): seconds until the market has no order left on the exchange, measured from the moment
the bot answered and from just before the ``ctl`` process was started (issue 16 asks for 2 s). The
integration test checks the behaviour with a budget for a busy machine; the figure lives here.

Prints one JSON line per round and a summary line. Never asserts on timings.

    .venv/bin/python bench/bench_ctl_pause.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pmbot.venue import markets as venue_markets  # noqa: E402
from tests.integration.botproc import TEST_KEY, BotProcess, SimProcess, venue_client  # noqa: E402
from tests.waiting import wait_for  # noqa: E402


def ctl(config: Path, *args: str) -> None:
    out = subprocess.run(
        [sys.executable, "bot.py", "ctl", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, POLYMARKET_PRIVATE_KEY=TEST_KEY),
    )
    if out.returncode != 0:
        raise SystemExit(f"ctl {' '.join(args)} failed: {out.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    sim = SimProcess()
    d = Path(tempfile.mkdtemp(prefix="pmb", dir="/tmp"))  # a socket path fits in 107 bytes
    bot = None
    try:
        rest, _ = venue_client(sim)
        m1, m2 = [m for m in venue_markets.list_clob_markets(rest) if not m.neg_risk][:2]
        refs = [{"yes_token": m.yes_token, "no_token": m.no_token} for m in (m1, m2)]
        bot = BotProcess(sim, d, extra={"state_dir": str(d / "s"), "markets": refs})

        def markets_quoted() -> set[str]:
            return {o["market"] for o in rest.open_orders()}

        after_answer, total = [], []
        for i in range(args.rounds):
            wait_for(lambda: markets_quoted() == {m1.condition_id, m2.condition_id}, 60, "quotes")
            asked = time.monotonic()
            ctl(bot.config_path, "pause", m1.condition_id)
            answered = time.monotonic()
            wait_for(lambda: m1.condition_id not in markets_quoted(), 30, "M1's orders gone")
            gone = time.monotonic()
            after_answer.append(gone - answered)
            total.append(gone - asked)
            print(json.dumps({"round": i, "after_answer_s": round(after_answer[-1], 4),
                              "with_ctl_process_s": round(total[-1], 4)}))  # fmt: skip
            ctl(bot.config_path, "resume", m1.condition_id)
        print(
            json.dumps(
                {
                    "metric": "ctl_pause_orders_gone",
                    "rounds": args.rounds,
                    "after_answer_median_s": round(statistics.median(after_answer), 4),
                    "after_answer_max_s": round(max(after_answer), 4),
                    "with_ctl_process_median_s": round(statistics.median(total), 4),
                    "with_ctl_process_max_s": round(max(total), 4),
                }
            )
        )
    finally:
        if bot is not None:
            bot.terminate()
        sim.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
