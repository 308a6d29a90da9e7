"""Helpers to run ``python -m pmbot.sim`` and ``python bot.py`` as real child processes.

The simulator runs in its own process, and the bot is started in ``live`` mode with every URL
pointed at it: the exact code path of live trading, on loopback. A fixed test key makes the wallet
the same across restarts, so journal and inventory continuity can be checked.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from decimal import Decimal
from typing import Any

import yaml

from tests.waiting import timeout_scale, wait_for

__all__ = [
    "ROOT",
    "TEST_KEY",
    "BotProcess",
    "SimClient",
    "SimProcess",
    "free_port",
    "ledger_positions",
    "parse_samples",
    "stop_process",
    "venue_client",
    "wait_for",
]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_KEY = "0x" + "4c" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_samples(text: str, name: str) -> list[tuple[dict, float]]:
    """The samples named ``name`` in a Prometheus exposition, as (labels, value)."""
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (dict(s.labels), s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == name
    ]


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Ask a child to stop with ``sig``; kill it if it has not exited within ``timeout``."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class SimClient:
    """What the bot tests read from a simulator through its public HTTP API (``urls`` set by the
    subclass): ``GET`` endpoints, its binary markets as config entries, and its exact ledger."""

    urls: dict

    def get(self, path: str):
        with urllib.request.urlopen(self.urls["clob_url"] + path, timeout=5) as resp:
            return json.loads(resp.read())

    def binary_markets(self) -> list[dict]:
        """The sim's binary (not neg-risk) markets as config entries (YES/NO token pairs)."""
        out = []
        for m in self.get("/markets")["data"]:
            if m.get("neg_risk"):
                continue
            toks = {t["outcome"].lower(): t["token_id"] for t in m["tokens"]}
            out.append({"yes_token": toks["yes"], "no_token": toks["no"]})
        return out

    def ledger(self, address: str) -> dict:
        return self.get(f"/_sim/ledger?user={address}")


class SimProcess(SimClient):
    """``python -m pmbot.sim`` as a child process. Its stderr goes to a temporary file, never to
    an unread pipe (a chatty sim would block once it filled); it is quoted if start-up fails."""

    START_TIMEOUT = 30.0  # a busy 2-core box can take seconds to import and bind

    def __init__(self, *args: str) -> None:
        fd, self.stderr_path = tempfile.mkstemp(prefix="pmbot-sim-", suffix=".log")
        with os.fdopen(fd, "w") as stderr:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pmbot.sim", "--port", "0", *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        try:
            line = self._first_line()
        except BaseException:
            self.stop()
            raise
        self.urls = dict(part.split("=", 1) for part in line.split())

    def _first_line(self) -> str:
        """The sim's one stdout line (its URLs), waited for with a deadline."""
        assert self.proc.stdout is not None
        budget = self.START_TIMEOUT * timeout_scale()
        ready, _, _ = select.select([self.proc.stdout], [], [], budget)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            why = "exited" if self.proc.poll() is not None else "printed no URLs in time"
            raise RuntimeError(f"sim {why}: {self.stderr_text()[-2000:]}")
        return line

    def stderr_text(self) -> str:
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def control(self, **knobs) -> dict:
        return self._post("/_sim/control", knobs)

    def _post(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(
            self.urls["clob_url"] + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        stop_process(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        try:
            os.unlink(self.stderr_path)
        except FileNotFoundError:
            pass


class BotProcess:
    def __init__(
        self,
        sim: SimProcess,
        tmp_path,
        *,
        key: str = TEST_KEY,
        extra: dict | None = None,
        name: str = "bot",
    ) -> None:
        self.metrics_port = free_port()
        cfg: dict[str, Any] = {
            "mode": "live",
            "venue": {
                k: sim.urls[k]
                for k in ("clob_url", "market_ws_url", "user_ws_url", "data_api_url", "gamma_url")
            },
            "metrics": {"host": "127.0.0.1", "port": self.metrics_port, "summary_secs": 5},
            "state_dir": str(tmp_path / "state"),
            "markets": sim.binary_markets(),
            "arbitrage": {"enabled": False},
            "execution": {"reconcile_secs": 2},
        }
        for section, values in (extra or {}).items():
            current = cfg.get(section)
            if isinstance(values, dict) and isinstance(current, dict):
                cfg[section] = {**current, **values}
            else:
                cfg[section] = values
        self.config_path = tmp_path / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(cfg))
        self.log_path = tmp_path / f"{name}.log"
        env = dict(os.environ, POLYMARKET_PRIVATE_KEY=key, PYTHONUNBUFFERED="1")
        with open(self.log_path, "w") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "bot.py", "--config", str(self.config_path)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def metrics_text(self) -> str:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2
            ) as resp:
                return resp.read().decode()
        except OSError:
            return ""

    def metric(self, name: str, **labels) -> float | None:
        """Sum of the samples of ``name`` whose labels include ``labels``; None when absent."""
        values = [
            v
            for got, v in self.samples(name)
            if all(got.get(k) == want for k, want in labels.items())
        ]
        return sum(values) if values else None

    def samples(self, name: str) -> list[tuple[dict, float]]:
        return parse_samples(self.metrics_text(), name)

    def terminate(self, sig=signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and return the exit code; a bot still running after ``timeout`` (scaled) is
        killed, so no process outlives the test, and the test fails with the log's tail."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout * timeout_scale())
        except subprocess.TimeoutExpired:
            stop_process(self.proc, signal.SIGKILL)
            raise AssertionError(
                f"bot still running {timeout}s after signal {sig}; killed. Log tail:\n"
                + self.log()[-3000:]
            ) from None

    def kill(self) -> None:
        stop_process(self.proc, signal.SIGKILL)


def venue_client(sim: SimProcess, key: str = TEST_KEY):
    """The bot's own REST client with the wallet's API key, to look at the exchange from outside."""
    from pmbot.venue.auth import derive_api_creds
    from pmbot.venue.rest import ClobRest
    from pmbot.venue.signer import OrderSigner

    signer = OrderSigner(key)
    creds = derive_api_creds(sim.urls["clob_url"], key, 137)
    return ClobRest(sim.urls["clob_url"], creds=creds, address=signer.address), signer.address


def ledger_positions(sim: SimProcess, address: str) -> dict[str, Decimal]:
    led = sim.ledger(address)
    return {
        tok: Decimal(str(size))
        for tok, size in led.get("positions", {}).items()
        if Decimal(str(size)) != 0
    }
