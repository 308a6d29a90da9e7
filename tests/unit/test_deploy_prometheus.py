"""Prometheus deploy files: config and rules valid, rule unit tests pass, every alert tested, and
every metric the rules use is one the bot exports."""

from __future__ import annotations

import os
import re
import subprocess

import yaml

from tests.conftest import ROOT
from tests.unit.test_deploy_units import require_tool
from tests.unit.test_metrics_promtool import realistic_metrics

PROM_DIR = os.path.join(ROOT, "deploy", "prometheus")
METRIC_RE = re.compile(r"\bpmbot_[a-z0-9_]+\b")


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = require_tool("promtool")
    return subprocess.run([tool, *args], cwd=PROM_DIR, capture_output=True, text=True, timeout=120)


def load(name: str):
    with open(os.path.join(PROM_DIR, name), encoding="utf-8") as f:
        return yaml.safe_load(f)


def exported_names() -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    names = set()
    for fam in text_string_to_metric_families(realistic_metrics().exposition().decode()):
        names.update(s.name for s in fam.samples)
    return names


def test_promtool_check_config():
    r = promtool("check", "config", "prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_check_rules():
    r = promtool("check", "rules", "alerts.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_test_rules():
    r = promtool("test", "rules", "alerts_test.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_the_required_alerts_exist_and_each_has_a_test():
    alerts = {r["alert"] for g in load("alerts.yml")["groups"] for r in g["rules"]}
    for required in (
        "PmbotDown",
        "PmbotFeedStale",
        "PmbotHeartbeatMissed",
        "PmbotRiskPausedTooLong",
        "PmbotExposureNearLimit",
        "PmbotRejectRateHigh",
    ):
        assert required in alerts
    tested = {
        t["alertname"] for case in load("alerts_test.yml")["tests"] for t in case["alert_rule_test"]
    }
    assert alerts == tested
    # and every one of them is seen firing somewhere, not only asserted quiet
    fired = {
        t["alertname"]
        for case in load("alerts_test.yml")["tests"]
        for t in case["alert_rule_test"]
        if t.get("exp_alerts")
    }
    assert alerts == fired


def test_rules_only_use_exported_metrics():
    names = exported_names()
    for group in load("alerts.yml")["groups"]:
        for rule in group["rules"]:
            used = set(METRIC_RE.findall(rule["expr"]))
            if not used:  # only Prometheus's own scrape health
                assert rule["expr"].strip() == 'up{job="pmbot"} == 0', rule["alert"]
            assert used <= names, (rule["alert"], used - names)


def test_scrape_config_loads_the_rules_and_scrapes_pmbot():
    cfg = load("prometheus.yml")
    assert "alerts.yml" in cfg["rule_files"]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert jobs["pmbot"]["static_configs"][0]["targets"] == ["127.0.0.1:9108"]
