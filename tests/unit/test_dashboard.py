"""Grafana dashboard: every query uses only metrics the bot exports, filters on $instance, and
parses as PromQL (checked by promtool); the provisioning files point the dashboard at its data
source."""

from __future__ import annotations

import json
import os
import re
import subprocess
from decimal import Decimal as D

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from pmbot.metrics import Metrics
from pmbot.onchain.messages import OnchainFailed, OnchainSettled
from pmbot.onchain.metrics import OnchainMetrics
from tests.conftest import ROOT
from tests.unit.test_deploy_units import require_tool
from tests.unit.test_metrics_promtool import realistic_metrics

GRAFANA = os.path.join(ROOT, "grafana")
DASHBOARD = os.path.join(GRAFANA, "dashboards", "pmbot.json")

PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACES = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_:])\d[\d.]*(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?(?![A-Za-z0-9_:])"
)
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_SELECTOR = re.compile(r"\b((?:pmbot|process)_[a-z0-9_]+)\s*(\{[^}]*\})?")


def load_dashboard() -> dict:
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def all_panels(dash: dict) -> list[dict]:
    out = []
    for p in dash["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def all_exprs(dash: dict) -> list[tuple[str, str]]:
    """(panel title, expr) for every query target."""
    return [(p["title"], t["expr"]) for p in all_panels(dash) for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label
    names or durations. Small on purpose; the end-to-end test then runs every query through a real
    Prometheus."""
    text = _STRING.sub('""', expr)
    text = _BRACES.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for m in _IDENT.finditer(text):
        word = m.group(0)
        rest = text[m.end() :].lstrip()
        if rest.startswith("(") or word.lower() in PROMQL_WORDS or word.startswith("$"):
            continue
        if text[max(0, m.start() - 1)] == "$":
            continue
        names.add(word)
    return names


def substitute(expr: str, *, instance: str = ".*", rate_interval: str = "1m") -> str:
    """Grafana's variables as Grafana would expand them for 'All' instances."""
    return expr.replace("$__rate_interval", rate_interval).replace("$instance", instance)


def with_onchain(m: Metrics) -> Metrics:
    """The on-chain metrics on the same registry, as the runner adds them when onchain.enabled,
    with one settled merge and one retried failure."""
    om = OnchainMetrics(m.registry)
    om.observe(OnchainSettled("i-1", "merge", "0xmarket0", D("5"), D("5"), "0xhash", D("0.002")))
    om.observe(OnchainFailed("i-2", "redeem", "0xmarket1", "reverted", final=False))
    om.set_pending(1)
    return m


def onchain_titles(dash: dict) -> set[str]:
    """Titles of the panels of the "On chain" row (they show data only when onchain.enabled)."""
    out: set[str] = set()
    inside = False
    for p in dash["panels"]:
        if p["type"] == "row":
            inside = p["title"].startswith("On chain")
        elif inside:
            out.add(p["title"])
    return out


def exported() -> set[str]:
    names = set()
    text = with_onchain(realistic_metrics()).exposition().decode()
    for fam in text_string_to_metric_families(text):
        names.update(s.name for s in fam.samples)
    return names


def test_metric_name_extraction():
    expr = (
        "histogram_quantile(0.99, sum by (le, endpoint) (rate(pmbot_exec_request_seconds_bucket"
        '{instance=~"$instance", x="a(b)"}[$__rate_interval]))) '
        "/ on (instance) group_left up offset 5m"
    )
    assert metric_names(expr) == {"pmbot_exec_request_seconds_bucket", "up"}
    assert metric_names("time() - max by (instance) (pmbot_start_time_seconds)") == {
        "pmbot_start_time_seconds"
    }


def test_rows_and_instance_variable():
    dash = load_dashboard()
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    for word in (
        "Overview",
        "Inventory and exposure",
        "Quoting and fills",
        "Feed health and executor",
        "Arbitrage",
        "On chain",
    ):
        assert any(r.startswith(word) for r in rows), word
    var = {v["name"]: v for v in dash["templating"]["list"]}["instance"]
    assert var["query"]["query"] == "label_values(pmbot_build_info, instance)"
    assert var["includeAll"] and var["multi"]


def test_every_query_uses_only_exported_metrics():
    names = exported()
    used_anywhere = set()
    for title, expr in all_exprs(load_dashboard()):
        used = metric_names(expr)
        assert used, (title, expr)
        assert used <= names, (title, used - names)
        used_anywhere |= used
    # The contract metrics of issue 9 all appear on the dashboard.
    for name in (
        "pmbot_inventory_shares",
        "pmbot_exposure_usd",
        "pmbot_position_value_usd",
        "pmbot_open_orders",
        "pmbot_fills_total",
        "pmbot_risk_paused",
        "pmbot_pnl_usd",
        "pmbot_tick_to_order_seconds_bucket",
        "pmbot_feed_last_event_age_seconds",
        "pmbot_heartbeat_age_seconds",
        # issue 18: the on-chain row
        "pmbot_onchain_settled_total",
        "pmbot_onchain_capital_freed_usd_total",
        "pmbot_onchain_gas_cost_native_total",
        "pmbot_onchain_pending_intents",
        "pmbot_onchain_failures_total",
    ):
        assert name in used_anywhere, name


def test_every_selector_filters_on_instance():
    for title, expr in all_exprs(load_dashboard()):
        for m in _SELECTOR.finditer(expr):
            assert m.group(2) and 'instance=~"$instance"' in m.group(2), (title, m.group(0))


def test_every_query_parses_as_promql(tmp_path):
    """promtool has no bare PromQL checker, but it parses recording rules: one rule per query."""
    promtool = require_tool("promtool")
    rules = [
        {"record": f"dashboard:query_{i}", "expr": substitute(expr)}
        for i, (_, expr) in enumerate(all_exprs(load_dashboard()))
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    r = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_panels_fit_the_grid_without_overlap():
    cells: set[tuple[int, int]] = set()
    ids = set()
    for p in all_panels(load_dashboard()):
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        assert p["id"] not in ids
        ids.add(p["id"])
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, ("overlap", p["title"])
                cells.add((x, y))
        if p["type"] != "row":
            refs = [t["refId"] for t in p["targets"]]
            assert refs and len(refs) == len(set(refs)), p["title"]


def test_provisioning_points_the_dashboard_at_its_datasource():
    with open(
        os.path.join(GRAFANA, "provisioning", "datasources", "prometheus.yml"), encoding="utf-8"
    ) as f:
        ds = yaml.safe_load(f)
    with open(
        os.path.join(GRAFANA, "provisioning", "dashboards", "pmbot.yml"), encoding="utf-8"
    ) as f:
        provider = yaml.safe_load(f)
    uid = ds["datasources"][0]["uid"]
    assert ds["datasources"][0]["type"] == "prometheus"
    assert provider["providers"][0]["type"] == "file"
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for p in all_panels(load_dashboard()):
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == uid, p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == uid


@pytest.mark.parametrize("bad", ['sum(pmbot_no_such_metric{instance=~"$instance"})'])
def test_the_name_check_would_catch_an_unknown_metric(bad):
    assert not metric_names(bad) <= exported()
