"""Soak the sim-mode bot: does the demo keep trading, and does its memory stay flat? (issue 19)

Runs ``bot.py`` as ``scripts/run.sh`` does (the shipped ``config.yaml``: sim mode, the bundled
exchange in-process, its default background traders), changing only what must not clash on a shared
machine: the metrics port (a free one) and the state directory (a temporary one). Scrapes
``/metrics`` every ``--scrape-secs`` and prints JSON lines:

- ``{"kind": "minute", ...}`` at each minute: RSS of the bot process (from /proc), fills and
  orders placed so far, the global risk state, hedged / unhedged / total position value;
- ``{"kind": "window", ...}`` per 5-minute window: fills and orders placed in it (the last window
  may be shorter; ``minutes`` says how long it was);
- ``{"kind": "summary", ...}`` at the end: totals, seconds spent in each risk state, and RSS at
  minute 5 against the last minute (``rss_change_pct``).

Never asserts; the figures are for reading. Stops the bot with SIGTERM (its kill switch cancels
every order) and reports the exit code.

    /work/main/.venv/bin/python bench/soak_sim.py --minutes 8
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
from dataclasses import dataclass, field

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident set size of one process in MB, from /proc (None once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(
        v
        for got, v in samples.get(name, [])
        if all(got.get(k) == want for k, want in labels.items())
    )


def risk_state(samples: dict) -> str:
    """``halted(reason)``, ``reduce_only(reason)`` or ``quoting`` (plus paused markets, if any)."""
    for name, state in (("pmbot_risk_halted", "halted"), ("pmbot_risk_reduce_only", "reduce_only")):
        for got, v in samples.get(name, []):
            if v >= 1:
                return f"{state}({got.get('reason', '')})"
    paused = sum(1 for _, v in samples.get("pmbot_risk_paused", []) if v >= 1)
    return f"quoting({paused} markets paused)" if paused else "quoting"


@dataclass
class Soak:
    minutes: float
    scrape_secs: float
    port: int
    pid: int
    start: float = field(default_factory=time.monotonic)
    rss_by_minute: dict[int, float] = field(default_factory=dict)
    state_secs: dict[str, float] = field(default_factory=dict)
    window_start: tuple[float, float] = (0.0, 0.0)  # fills, orders at the window's start
    window_minute: int = 0
    last: tuple[float, float] = (0.0, 0.0)

    def figures(self, samples: dict) -> tuple[float, float]:
        return total(samples, "pmbot_fills_total"), total(samples, "pmbot_orders_created_total")

    def minute_line(self, minute: int, samples: dict) -> None:
        rss = rss_mb(self.pid)
        if rss is not None:
            self.rss_by_minute[minute] = rss
        fills, orders = self.figures(samples)
        emit(
            kind="minute",
            minute=minute,
            rss_mb=rss,
            fills=int(fills),
            orders_placed=int(orders),
            risk=risk_state(samples),
            hedged_usd=round(total(samples, "pmbot_position_value_by_kind_usd", kind="hedged"), 2),
            unhedged_usd=round(
                total(samples, "pmbot_position_value_by_kind_usd", kind="unhedged"), 2
            ),
            position_usd=round(total(samples, "pmbot_position_value_usd"), 2),
        )

    def window_line(self, end_minute: float) -> None:
        fills, orders = self.last
        emit(
            kind="window",
            start_min=self.window_minute,
            minutes=round(end_minute - self.window_minute, 2),
            fills=int(fills - self.window_start[0]),
            orders_placed=int(orders - self.window_start[1]),
        )
        self.window_start, self.window_minute = self.last, int(end_minute)


def run(soak: Soak, proc: subprocess.Popen) -> list[int]:
    """Scrape until the time is up or the bot exits; returns the fills of each 5-minute window."""
    next_minute, last_scrape = 1, soak.start
    windows: list[int] = []
    end = soak.start + soak.minutes * 60
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(min(soak.scrape_secs, max(0.0, end - time.monotonic())))
        samples = scrape(soak.port)
        now = time.monotonic()
        if samples is None:
            continue
        state = risk_state(samples)
        soak.state_secs[state] = soak.state_secs.get(state, 0.0) + (now - last_scrape)
        last_scrape = now
        soak.last = soak.figures(samples)
        elapsed_min = (now - soak.start) / 60
        while elapsed_min >= next_minute - 1e-9:
            soak.minute_line(next_minute, samples)
            if next_minute % 5 == 0:
                windows.append(int(soak.last[0] - soak.window_start[0]))
                soak.window_line(next_minute)
            next_minute += 1
    if soak.window_minute < soak.minutes - 0.01:
        windows.append(int(soak.last[0] - soak.window_start[0]))
        soak.window_line(min(soak.minutes, (time.monotonic() - soak.start) / 60))
    return windows


def start_bot(tmp: str, config: str) -> tuple[subprocess.Popen, int, str]:
    with open(config) as f:
        cfg = yaml.safe_load(f)
    port = free_port()
    cfg.setdefault("metrics", {}).update(host="127.0.0.1", port=port)
    cfg["state_dir"] = os.path.join(tmp, "state")
    path = os.path.join(tmp, "soak.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    log_path = os.path.join(tmp, "bot.log")
    log = open(log_path, "w")  # noqa: SIM115 - handed to the child for its whole life
    proc = subprocess.Popen(
        [sys.executable, "bot.py", "--config", path],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    return proc, port, log_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--scrape-secs", type=float, default=5.0)
    ap.add_argument("--config", default=os.path.join(ROOT, "config.yaml"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary dir (log, state)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pmbot-soak-")
    proc, port, log_path = start_bot(tmp, args.config)
    deadline = time.monotonic() + 90
    while scrape(port) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    soak = Soak(args.minutes, args.scrape_secs, port, proc.pid)
    emit(kind="start", pid=proc.pid, metrics_port=port, log=log_path, rss_mb=rss_mb(proc.pid))
    try:
        windows = run(soak, proc)
    finally:
        exit_code = stop(proc)
    rss5 = soak.rss_by_minute.get(5)
    last_min = max(soak.rss_by_minute) if soak.rss_by_minute else None
    rss_last = soak.rss_by_minute.get(last_min) if last_min is not None else None
    emit(
        kind="summary",
        minutes=args.minutes,
        fills=int(soak.last[0]),
        orders_placed=int(soak.last[1]),
        fills_per_5min=windows,
        windows_with_fills=sum(1 for w in windows if w > 0),
        risk_state_secs={k: round(v, 1) for k, v in soak.state_secs.items()},
        rss_mb_minute_5=rss5,
        rss_mb_last=rss_last,
        last_minute=last_min,
        rss_change_pct=round(100 * (rss_last - rss5) / rss5, 1) if rss5 and rss_last else None,
        bot_exit_code=exit_code,
        log=log_path if args.keep else None,
    )
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def stop(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
