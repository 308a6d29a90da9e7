"""`promtool check metrics` on a Metrics registry's exposition with realistic values set."""

from __future__ import annotations

import subprocess
from decimal import Decimal

from prometheus_client import CollectorRegistry

from pmbot.metrics import Metrics
from pmbot.model import Outcome, Side
from tests.unit.test_deploy_units import require_tool


def realistic_metrics() -> Metrics:
    m = Metrics(CollectorRegistry())
    m.set_build_info("0.1.0", "sim")
    m.set_limits(position_limit_usd=Decimal("500"), imbalance_limit_usd=Decimal("50"))
    m.up.set(1)
    for i, (yes, no) in enumerate((("1111", "2222"), ("3333", "4444"))):
        market = f"0xmarket{i}"
        m.declare_market(market, [(yes, Outcome.YES), (no, Outcome.NO)])
        m.set_inventory(market, yes, Outcome.YES, Decimal("30"), Decimal("13.5"))
        m.set_inventory(market, no, Outcome.NO, Decimal("10"), Decimal("5.4"))
        m.exposure_usd.labels(market=market).set(8.1)
        m.imbalance_usd.labels(market=market).set(8.1)
        m.open_orders.labels(market=market).set(4)
        m.quotes.labels(market, "BUY").set(2)
        m.orders_created_total.labels(market=market).inc(12)
        m.count_fill(market, Side.BUY, Decimal("10"), Decimal("0.45"))
        m.mark_token_event(market, yes)
    m.position_value_usd.set(37.8)
    m.set_pnl(realized=Decimal("1.20"), unrealized=Decimal("-0.35"), fees=Decimal("0.02"))
    m.set_risk_state("0xmarket1", "imbalance")
    m.count_rejection("rejected")
    for s in (0.00007, 0.0002, 0.0011):
        m.tick_to_order_seconds.observe(s)
    m.exec_request_seconds.labels(endpoint="post_orders").observe(0.004)
    m.exec_retries_total.labels(endpoint="post_orders", reason="429").inc()
    m.rate_budget_remaining.labels(family="orders").set(57)
    m.set_connection_up("market-0", True)
    m.feed_messages_total.labels(connection="market-0").inc(1234)
    m.mark_feed_event("market-0")
    m.mark_heartbeat()
    m.set_venue_mode("normal")
    m.arb_opportunities_total.labels(kind="complement").inc()
    m.reward_score.labels(market="0xmarket0").set(12.5)  # a market with liquidity rewards
    m.reward_share_estimate.labels(market="0xmarket0").set(0.2)
    return m


def test_promtool_check_metrics_passes_on_our_exposition():
    promtool = require_tool("promtool")
    text = realistic_metrics().exposition()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=60
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stdout.strip() == b"" and result.stderr.strip() == b""


def test_promtool_check_metrics_would_catch_a_bad_name():
    promtool = require_tool("promtool")
    bad = b"# HELP pmbot_fills a\n# TYPE pmbot_fills counter\npmbot_fills 1\n"
    result = subprocess.run(
        [promtool, "check", "metrics"], input=bad, capture_output=True, timeout=60
    )
    assert result.returncode != 0
