"""End to end: a real Prometheus on loopback scrapes pmbot, then EVERY dashboard query is evaluated
through Prometheus's HTTP API with Grafana's variables substituted, and each must return data. A
panel that would show nothing is a failing test.

Two sources:
- the bot itself (``python bot.py --config <tmp> --mode sim``), after it has filled orders;
- a Metrics registry driven by a small activity thread (no bot needed): proves the dashboard is
  satisfiable by the metrics module alone and keeps the Prometheus harness honest.

Needs Debian's ``prometheus`` package (prometheus + promtool): skipped locally without it, FAILS
under CI=true.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import threading
from decimal import Decimal

import pytest
import requests
import yaml

from pmbot.metrics import Metrics
from pmbot.model import Outcome, Side
from tests.conftest import ROOT
from tests.integration.botproc import stop_process
from tests.unit.test_dashboard import (
    all_exprs,
    load_dashboard,
    onchain_titles,
    substitute,
    with_onchain,
)
from tests.unit.test_deploy_units import require_tool
from tests.unit.test_metrics_promtool import realistic_metrics
from tests.waiting import wait_for

SCRAPE_SECS = 1
# Grafana's $__rate_interval is max(4 x scrape interval, step); a wide window keeps every
# observation since the first scrape inside it, so quantile panels do not depend on activity in the
# last few seconds.
RATE_INTERVAL = "5m"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A real Prometheus on a loopback port scraping one target every second, with pmbot's alert
    rules."""

    def __init__(self, tmp_path, target: str) -> None:
        binary = require_tool("prometheus")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {
                "scrape_interval": f"{SCRAPE_SECS}s",
                "evaluation_interval": f"{SCRAPE_SECS}s",
            },
            "rule_files": [os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")],
            "scrape_configs": [{"job_name": "pmbot", "static_configs": [{"targets": [target]}]}],
        }
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = tmp_path / "prometheus.log"
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={cfg}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"prometheus exited: {self.log_path.read_text(errors='replace')[-2000:]}"
                )
            return requests.get(self.url + "/-/ready", timeout=1).status_code == 200

        wait_for(ready, timeout, "prometheus to be ready", ignore=(requests.RequestException,))

    def query(self, expr: str) -> list[dict]:
        r = requests.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        assert body.get("status") == "success", (expr, body)
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout: float) -> None:
        wait_for(lambda: self.query(expr), timeout, f"data for {expr!r}", interval=0.25)

    def stop(self) -> None:
        stop_process(self.proc)


def empty_panels(prom: Prometheus, instance: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every dashboard query (but those of the panels titled in ``skip``), variables substituted;
    returns those that show nothing (no series, or only NaN)."""
    failures = []
    for title, expr in all_exprs(load_dashboard()):
        if title in skip:
            continue
        q = substitute(expr, instance=instance, rate_interval=RATE_INTERVAL)
        result = prom.query(q)
        values = [float(s["value"][1]) for s in result]
        if not values or all(math.isnan(v) for v in values):
            failures.append(f"{title}: {q} -> {result}")
    return failures


def check_instance_variable(prom: Prometheus, instance: str) -> None:
    """label_values(pmbot_build_info, instance), as Grafana asks Prometheus for it."""
    r = requests.get(
        prom.url + "/api/v1/label/instance/values",
        params={"match[]": "pmbot_build_info"},
        timeout=10,
    )
    assert instance in r.json()["data"]


# ---------------------------------------------------------------------------------------- synthetic


class Activity:
    """Moves the metrics the way a quoting bot does, so rate() and quantile panels have something to
    show."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="test-activity", daemon=False)

    def _run(self) -> None:
        i = 0
        while not self.stop.wait(0.05):
            i += 1
            m = self.m
            m.tick_to_order_seconds.observe(0.0001 * (1 + i % 7))
            m.exec_request_seconds.labels(endpoint="post_orders").observe(0.003)
            m.orders_created_total.labels(market="0xmarket0").inc()
            m.orders_cancelled_total.labels(market="0xmarket0").inc()
            m.feed_messages_total.labels(connection="market-0").inc(5)
            m.mark_feed_event("market-0")
            m.mark_token_event("0xmarket0", "1111")
            m.mark_heartbeat()
            if i % 5 == 0:
                m.count_fill("0xmarket0", Side.SELL, Decimal("10"), Decimal("0.55"))
                m.set_inventory(
                    "0xmarket0", "1111", Outcome.YES, Decimal(30 - i % 10), Decimal("13.5")
                )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


def test_every_dashboard_query_has_data_from_the_metrics_module(tmp_path):
    metrics = with_onchain(realistic_metrics())
    server = metrics.serve("127.0.0.1", 0)
    instance = f"127.0.0.1:{server.port}"
    prom = None
    try:
        with Activity(metrics):
            prom = Prometheus(tmp_path, instance)
            # enough scrapes for rate() windows to hold several samples
            prom.wait_for("count_over_time(pmbot_up[1m]) >= 4", timeout=20)
            check_instance_variable(prom, instance)
            failures = empty_panels(prom, instance) + empty_panels(prom, ".*")
        assert failures == [], "\n".join(failures)
    finally:
        if prom is not None:
            prom.stop()
        server.shutdown()


# ---------------------------------------------------------------------------------------------- bot


def fills_in(text: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("pmbot_fills_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture(params=[False, True], ids=["offchain", "onchain"])
def bot(request, tmp_path):
    """``python bot.py --config <tmp> --mode sim`` with metrics on a free loopback port, without
    and with ``onchain.enabled`` (the in-process chain); SIGTERM at teardown."""
    port = free_port()
    cfg = tmp_path / "config.yaml"
    settings = {
        "mode": "sim",
        "metrics": {"host": "127.0.0.1", "port": port},
        "state_dir": str(tmp_path / "state"),
    }
    if request.param:
        settings["onchain"] = {"enabled": True, "merge_min_usd": 1}
    cfg.write_text(yaml.safe_dump(settings), encoding="utf-8")
    log_path = tmp_path / "bot.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
    }
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bot.py"), "--config", str(cfg), "--mode", "sim"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    handle = type("Bot", (), {})()
    handle.proc, handle.port, handle.log_path = proc, port, log_path
    handle.onchain = request.param
    handle.instance = f"127.0.0.1:{port}"
    handle.metrics_url = f"http://127.0.0.1:{port}/metrics"
    try:
        yield handle
    finally:
        stop_process(proc, timeout=20)


def bot_log(bot) -> str:
    return bot.log_path.read_text(errors="replace")[-3000:]


def wait_for_fills(bot, timeout: float) -> str:
    def filled() -> str | None:
        if bot.proc.poll() is not None:
            pytest.fail(f"bot exited with {bot.proc.returncode}:\n{bot_log(bot)}")
        text = requests.get(bot.metrics_url, timeout=2).text
        return text if fills_in(text) > 0 else None

    try:
        return wait_for(filled, timeout, "fills", interval=0.5, ignore=(requests.RequestException,))
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{bot_log(bot)}")


def test_every_dashboard_query_has_data_from_the_bot_in_sim_mode(bot, tmp_path):
    require_tool("prometheus")
    prom = Prometheus(tmp_path, bot.instance)
    try:
        wait_for_fills(bot, timeout=60)
        prom.wait_for("sum(pmbot_fills_total) > 0", timeout=15)
        prom.wait_for("count_over_time(pmbot_up[1m]) >= 4", timeout=15)
        check_instance_variable(prom, bot.instance)
        # Without onchain.enabled the "On chain" row has nothing to show (nothing is registered);
        # with it, every panel of the row must have data from the bot too.
        skip = frozenset() if bot.onchain else frozenset(onchain_titles(load_dashboard()))
        assert onchain_titles(load_dashboard()), "the On chain row is missing"
        failures = empty_panels(prom, bot.instance, skip)
        assert failures == [], "panels without data:\n" + "\n".join(failures) + "\n" + bot_log(bot)
        # The alert rules load and evaluate against the real bot; a healthy sim bot fires none of
        # the critical ones.
        firing = {
            a["labels"]["alertname"]
            for a in requests.get(prom.url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            if a["state"] == "firing" and a["labels"].get("severity") == "critical"
        }
        assert firing == set(), firing
    finally:
        prom.stop()
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(20) == 0, bot_log(bot)
