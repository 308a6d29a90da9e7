"""Metrics: the exported names are the dashboard's and the alerts' contract; labels stay bounded."""

from __future__ import annotations

import threading
import urllib.request
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.parser import text_string_to_metric_families

from pmbot.metrics import Metrics, label
from pmbot.model import Outcome, Side

ALLOWED_LABELS = {
    "market",
    "token",
    "outcome",
    "connection",
    "side",
    "reason",
    "kind",
    "endpoint",
    "family",
    "mode",
    "cause",
    "version",
    "text",  # feed_keepalive_frames: a fixed vocabulary (wire_market.KEEPALIVE_LABELS)
}

# Issue 9's contract: name -> label set.
CONTRACT = {
    "pmbot_inventory_shares": {"market", "token", "outcome"},
    "pmbot_exposure_usd": {"market"},
    "pmbot_position_value_usd": set(),
    "pmbot_open_orders": {"market"},
    "pmbot_fills_total": {"market", "side"},
    "pmbot_risk_paused": {"market", "reason"},
    "pmbot_pnl_usd": {"kind"},
    "pmbot_feed_last_event_age_seconds": {"connection"},
    "pmbot_heartbeat_age_seconds": set(),
}


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def metrics(clock):
    m = Metrics(CollectorRegistry(), clock=clock, wall_clock=lambda: 1.7e9)
    m.declare_market("0xm1", [("111", Outcome.YES), ("222", Outcome.NO)])
    return m


def samples(m: Metrics) -> dict[tuple[str, frozenset], float]:
    out = {}
    for fam in text_string_to_metric_families(m.exposition().decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def test_contract_names_are_exported_with_their_labels(metrics):
    metrics.mark_feed_event("market-0")
    metrics.tick_to_order_seconds.observe(0.0004)
    exported: dict[str, set] = {}
    for name, labels in samples(metrics):
        exported.setdefault(name, set()).update(k for k, _ in labels)
    for name, labels in CONTRACT.items():
        assert name in exported, name
        assert exported[name] == labels, (name, exported[name])
    for suffix in ("_bucket", "_sum", "_count"):
        assert "pmbot_tick_to_order_seconds" + suffix in exported


def test_build_info_and_start_time(metrics):
    metrics.set_build_info("1.2.3", "sim")
    s = samples(metrics)
    assert s[("pmbot_build_info", frozenset({("version", "1.2.3"), ("mode", "sim")}))] == 1.0
    assert s[("pmbot_start_time_seconds", frozenset())] == 1.7e9


def test_every_metric_is_namespaced_and_labels_are_bounded(metrics):
    collectors = [
        v for v in vars(metrics).values() if isinstance(v, (Counter, Gauge, Histogram, Info))
    ]
    assert len(collectors) >= 45
    for c in collectors:
        assert c._name.startswith("pmbot_"), c._name
        assert set(c._labelnames) <= ALLOWED_LABELS, (c._name, c._labelnames)
        assert not any(n == "id" or n.endswith("_id") for n in c._labelnames)


def test_fixed_vocabularies_exported_at_zero_before_anything_happens():
    m = Metrics(CollectorRegistry(), process_collector=False)
    s = samples(m)
    assert s[("pmbot_orders_rejected_total", frozenset({("reason", "rejected")}))] == 0
    assert s[("pmbot_pnl_usd", frozenset({("kind", "total")}))] == 0
    assert s[("pmbot_venue_mode", frozenset({("mode", "normal")}))] == 1
    assert s[("pmbot_arb_skipped_total", frozenset({("reason", "below_edge")}))] == 0


def test_declare_market_exports_zeroed_series(metrics):
    s = samples(metrics)
    assert (
        s[
            (
                "pmbot_inventory_shares",
                frozenset({("market", "0xm1"), ("token", "111"), ("outcome", "YES")}),
            )
        ]
        == 0
    )
    assert s[("pmbot_fills_total", frozenset({("market", "0xm1"), ("side", "SELL")}))] == 0
    assert s[("pmbot_risk_paused", frozenset({("market", "0xm1"), ("reason", "")}))] == 0


def test_enum_labels_use_values_not_reprs(metrics):
    metrics.count_fill("0xm1", Side.BUY, Decimal("10"), Decimal("0.45"))
    metrics.set_inventory("0xm1", "111", Outcome.YES, Decimal("10"), Decimal("4.5"))
    assert metrics.value("pmbot_fills_total", {"market": "0xm1", "side": "BUY"}) == 1
    assert metrics.value("pmbot_fill_volume_usd_total", {"market": "0xm1"}) == pytest.approx(4.5)
    assert (
        metrics.value(
            "pmbot_inventory_shares", {"market": "0xm1", "token": "111", "outcome": "YES"}
        )
        == 10
    )
    assert label(Decimal("1E+1")) == "10"
    assert "Side." not in metrics.exposition().decode()


def test_risk_state_keeps_one_series_per_market(metrics):
    metrics.set_risk_state("0xm1", "imbalance")
    s = samples(metrics)
    paused = {k: v for k, v in s.items() if k[0] == "pmbot_risk_paused"}
    assert paused == {
        ("pmbot_risk_paused", frozenset({("market", "0xm1"), ("reason", "imbalance")})): 1.0
    }
    metrics.set_risk_state("0xm1", "stale_book")
    metrics.set_risk_state("0xm1", None)
    s = samples(metrics)
    paused = {k: v for k, v in s.items() if k[0] == "pmbot_risk_paused"}
    assert paused == {("pmbot_risk_paused", frozenset({("market", "0xm1"), ("reason", "")})): 0.0}


def test_halt_and_venue_mode(metrics):
    metrics.set_halted("daily_loss")
    assert metrics.value("pmbot_risk_halted", {"reason": "daily_loss"}) == 1
    metrics.set_halted(None)
    assert metrics.value("pmbot_risk_halted", {"reason": "daily_loss"}) is None
    assert metrics.value("pmbot_risk_halted", {"reason": ""}) == 0
    metrics.set_venue_mode("cancel_only")
    assert metrics.value("pmbot_venue_mode", {"mode": "cancel_only"}) == 1
    assert metrics.value("pmbot_venue_mode", {"mode": "normal"}) == 0


def test_ages_grow_at_scrape_time_without_anyone_updating_them(metrics, clock):
    metrics.mark_feed_event("market-0")
    metrics.mark_token_event("0xm1", "111")
    metrics.mark_heartbeat()
    clock.t += 7.5
    s = samples(metrics)
    assert s[("pmbot_feed_last_event_age_seconds", frozenset({("connection", "market-0")}))] == 7.5
    assert (
        s[("pmbot_token_last_event_age_seconds", frozenset({("market", "0xm1"), ("token", "111")}))]
        == 7.5
    )
    assert s[("pmbot_heartbeat_age_seconds", frozenset())] == 7.5
    metrics.mark_feed_event("market-0")
    clock.t += 0.5
    assert metrics.value("pmbot_feed_last_event_age_seconds", {"connection": "market-0"}) == 0.5
    metrics.forget_connection("market-0")
    assert metrics.value("pmbot_feed_last_event_age_seconds", {"connection": "market-0"}) is None


def test_pnl_total_is_realized_plus_unrealized_minus_fees(metrics):
    metrics.set_pnl(realized=Decimal("1.25"), unrealized=Decimal("-0.50"), fees=Decimal("0.10"))
    assert metrics.value("pmbot_pnl_usd", {"kind": "total"}) == pytest.approx(0.65)


def test_unknown_reject_kind_is_counted_as_other(metrics):
    metrics.count_rejection("rejected")
    metrics.count_rejection("some venue text with an id 0xdeadbeef")
    assert metrics.value("pmbot_orders_rejected_total", {"reason": "rejected"}) == 1
    assert metrics.value("pmbot_orders_rejected_total", {"reason": "other"}) == 1
    assert "0xdeadbeef" not in metrics.exposition().decode()


def test_registries_are_independent():
    a, b = Metrics(CollectorRegistry()), Metrics(CollectorRegistry())
    a.fills_total.labels("m", "BUY").inc()
    assert b.value("pmbot_fills_total", {"market": "m", "side": "BUY"}) is None


def test_serve_on_ephemeral_port_and_shutdown(metrics):
    server = metrics.serve("127.0.0.1", 0)
    try:
        assert server.port > 0
        assert server._thread.name == "metrics-http"
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
        assert "pmbot_inventory_shares" in body
    finally:
        server.shutdown()
    assert not server._thread.is_alive()
    assert "metrics-http" not in {t.name for t in threading.enumerate()}


def test_ws_runner_attribute_names_reach_the_feed_series(metrics):
    """pmbot.venue.ws.WsRunner looks metrics up by these names; they must exist and be labelled by
    connection."""
    metrics.ws_connection_up.labels(connection="market-0").set(1)
    metrics.ws_reconnects_total.labels(connection="market-0").inc()
    metrics.ws_rotations_total.labels(connection="market-0").inc()
    metrics.ws_handler_errors_total.labels(connection="market-0", kind="on_text").inc()
    assert metrics.value("pmbot_feed_connection_up", {"connection": "market-0"}) == 1
    assert metrics.value("pmbot_feed_reconnects_total", {"connection": "market-0"}) == 1
    assert metrics.value("pmbot_ws_rotations_total", {"connection": "market-0"}) == 1
    assert (
        metrics.value(
            "pmbot_ws_handler_errors_total", {"connection": "market-0", "kind": "on_text"}
        )
        == 1
    )


def test_set_connection_up_exports_its_counters_at_zero(metrics):
    metrics.set_connection_up("user", True)
    assert metrics.value("pmbot_feed_reconnects_total", {"connection": "user"}) == 0
    assert metrics.value("pmbot_feed_messages_total", {"connection": "user"}) == 0
    metrics.set_connection_up("user", False)
    assert metrics.value("pmbot_feed_connection_up", {"connection": "user"}) == 0
    metrics.forget_connection("user")
    assert metrics.value("pmbot_feed_messages_total", {"connection": "user"}) is None
