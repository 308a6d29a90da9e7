"""Every Prometheus metric of pmbot, defined once, on an injected registry.

Why one class: the dashboard (``grafana/dashboards/pmbot.json``) and the alert rules
(``deploy/prometheus/alerts.yml``) are a contract on these names; a test parses both and checks every
metric they use exists here. Tests build ``Metrics(CollectorRegistry())`` so nothing leaks between them.

Label rules (cardinality stays bounded):
- ``market`` = the market's condition id, ``token`` = the token id, ``outcome`` = ``YES``/``NO``.
- ``reason``/``kind``/``endpoint``/``family`` come from small fixed vocabularies (the ``*_REASONS`` /
  ``*_KINDS`` tuples below are pre-initialised at 0 so rate() panels show 0 instead of nothing).
  Never put an order id, a trade id or free venue text in a label.
- Pass enum *values* (``Side.BUY.value``), not enum members: ``str(Side.BUY)`` is ``"Side.BUY"``.
  The helper methods below do that for you.

Ages (last feed event, last heartbeat) are computed at scrape time from ``mark_*`` timestamps and an
injected monotonic clock, so a silent feed shows a growing age even when no thread wakes up to say so.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

NAMESPACE = "pmbot"

# Fine buckets: a tick-to-order decision in this bot is tens of microseconds to a few milliseconds.
TICK_TO_ORDER_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
# REST round trips to the CLOB: loopback sim is ~1 ms, Polymarket from a nearby host 20-200 ms.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

PNL_KINDS = ("realized", "unrealized", "fees", "total")
SIDES = ("BUY", "SELL")
# OrderRejected.kind values (pmbot.model): the reject label is the kind, never the venue's text.
REJECT_REASONS = ("rejected", "venue_mode", "transient", "local", "other")
EXEC_ERROR_KINDS = ("transient", "rejected", "venue_mode", "unknown_outcome", "fatal")
RATE_FAMILIES = ("orders", "cancels", "reads")
VENUE_MODES = ("normal", "cancel_only", "post_only", "disabled")
RESYNC_REASONS = ("inconsistent", "reconnect", "spot_check")
PARSE_ERROR_KINDS = ("json", "schema", "unknown_event")
ROTATION_REASONS = ("silent_feed",)
# exec_retries_total{endpoint,reason}: endpoint is pmbot.venue.rest's endpoint name; reason one of these.
RETRY_REASONS = ("rate_limited", "server_error", "timeout", "connection")
ORDER_PATH_ENDPOINTS = ("post_orders", "cancel_orders", "cancel_all", "open_orders", "heartbeat")
# The Opportunity.kind values of pmbot.strategy.arbitrage, and its skip reasons plus the ones the
# strategy (cooldown, in_flight) and the engine's leg repair (naked_leg) add.
ARB_KINDS = ("basket_yes", "basket_no", "binary_set")
ARB_SKIP_REASONS = (
    "not_live",
    "augmented",
    "below_min_size",
    "below_edge",
    "budget",
    "cooldown",
    "in_flight",
    "naked_leg",
)
RECONCILE_CAUSES = ("missing_on_venue", "unknown_on_venue", "size_mismatch")


def label(value: object) -> str:
    """Label text for a value: enum members by value, Decimals without exponent, everything else str()."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class _AgeRefresher(Collector):
    """Registered first, so at every scrape it turns the recorded ``mark_*`` times into age gauges
    before those gauges are collected. Yields no metrics of its own."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self):
        # Registering calls describe() (or collect() when there is none); this collector owns no names.
        return []

    def collect(self):
        self._metrics.refresh_ages()
        return iter(())


@dataclass
class MetricsServer:
    """Handle on the /metrics HTTP server thread; ``shutdown()`` stops and joins it."""

    host: str
    port: int
    _server: object
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def shutdown(self, timeout: float = 5.0) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)


class Metrics:
    """All pmbot metrics. Attributes are prometheus_client objects; helpers keep labels consistent."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        process_collector: bool = True,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        self._lock = threading.Lock()
        self._feed_marks: dict[str, float] = {}
        self._token_marks: dict[tuple[str, str], float] = {}
        self._heartbeat_mark: float | None = None
        self._risk_reason: dict[str, str] = {}
        self._markets: set[str] = set()
        self.registry.register(_AgeRefresher(self))
        if process_collector:
            # Standard process_* series (CPU, RSS, fds, start time) for this registry.
            ProcessCollector(registry=self.registry)

        r, ns = self.registry, NAMESPACE

        def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(name, doc, list(labels), namespace=ns, registry=r)

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, doc, list(labels), namespace=ns, registry=r)

        # ---------------------------------------------------------------- inventory and exposure
        self.inventory_shares = gauge(
            "inventory_shares", "Shares held per token.", ("market", "token", "outcome")
        )
        self.inventory_usd = gauge(
            "inventory_usd",
            "Dollar value of the shares held per token, at mid.",
            ("market", "token", "outcome"),
        )
        self.exposure_usd = gauge(
            "exposure_usd",
            "Net dollar exposure per market (YES value minus NO value, at mid).",
            ("market",),
        )
        self.exposure_shares = gauge(
            "exposure_shares", "Net shares per market (YES shares minus NO shares).", ("market",)
        )
        self.imbalance_usd = gauge(
            "imbalance_usd",
            "Absolute dollar imbalance between YES and NO holdings per market.",
            ("market",),
        )
        self.imbalance_limit_usd = gauge(
            "imbalance_limit_usd", "Configured max_inventory_imbalance_usd (per market)."
        )
        self.position_value_usd = gauge(
            "position_value_usd", "Total dollar value of every position held, at mid."
        )
        self.position_limit_usd = gauge("position_limit_usd", "Configured max_position_size_usd.")

        # ---------------------------------------------------------------- position split (issue 19)
        self.position_value_by_kind_usd = gauge(
            "position_value_by_kind_usd",
            "Position value at mid by kind: hedged (complete sets, arbitrage baskets) or "
            "unhedged (directional; what max_position_size_usd limits). They sum to the total.",
            ("kind",),
        )
        self.risk_reduce_only = gauge(
            "risk_reduce_only",
            "1 while the whole bot quotes reduce-only past a global limit, with its reason.",
            ("reason",),
        )
        for kind in ("hedged", "unhedged"):
            self.position_value_by_kind_usd.labels(kind=kind).set(0)
        self.risk_reduce_only.labels(reason="").set(0)
        # ---------------------------------------------------------------- end position split
        self.pnl_usd = gauge(
            "pnl_usd",
            "Profit and loss in dollars by kind (realized, unrealized, fees, total).",
            ("kind",),
        )

        # ---------------------------------------------------------------- quoting and orders
        self.open_orders = gauge(
            "open_orders", "Orders of this bot resting on the venue, per market.", ("market",)
        )
        self.quotes = gauge(
            "quotes", "Desired quotes currently resting per market and side.", ("market", "side")
        )
        self.orders_created_total = counter(
            "orders_created", "Orders accepted by the venue.", ("market",)
        )
        self.orders_cancelled_total = counter(
            "orders_cancelled", "Orders cancelled (confirmed).", ("market",)
        )
        self.orders_rejected_total = counter(
            "orders_rejected", "Orders refused, by OrderRejected.kind.", ("reason",)
        )
        self.fills_total = counter("fills", "Fills of this bot's orders.", ("market", "side"))
        self.fill_volume_usd_total = counter(
            "fill_volume_usd", "Dollar notional filled.", ("market",)
        )
        self.tick_to_order_seconds = Histogram(
            "tick_to_order_seconds",
            "From market data arrival (recv) to the order command leaving the strategy.",
            namespace=ns,
            registry=r,
            buckets=TICK_TO_ORDER_BUCKETS,
        )

        # ---------------------------------------------------------------- liquidity rewards
        self.reward_score = gauge(  # pmbot.rewards.own_estimate, markets with rewards only
            "reward_score", "The bot's own Q_min now by the venue's reward formula.", ("market",)
        )
        self.reward_share_estimate = gauge(
            "reward_share_estimate",
            "Own Q_min / (own + the rest of the book in the band as one maker).",
            ("market",),
        )

        # ---------------------------------------------------------------- risk
        self.risk_paused = gauge(
            "risk_paused",
            "1 while quoting in a market is paused by a risk guard, with its reason.",
            ("market", "reason"),
        )
        self.risk_halted = gauge(
            "risk_halted", "1 while the whole bot is halted by a risk guard.", ("reason",)
        )

        # ---------------------------------------------------------------- market and user feeds
        self.feed_connection_up = gauge(
            "feed_connection_up", "1 while a WebSocket connection is open.", ("connection",)
        )
        self.feed_last_event_age_seconds = gauge(
            "feed_last_event_age_seconds",
            "Seconds since the last message on a connection.",
            ("connection",),
        )
        self.token_last_event_age_seconds = gauge(
            "token_last_event_age_seconds",
            "Seconds since the last book event for a token.",
            ("market", "token"),
        )
        self.feed_resyncs_total = counter(
            "feed_resyncs", "Book resyncs (REST snapshot or resubscribe).", ("reason",)
        )
        self.feed_parse_errors_total = counter(
            "feed_parse_errors", "Venue messages that failed to parse.", ("kind",)
        )
        self.feed_reconnects_total = counter(
            "feed_reconnects", "WebSocket reconnects.", ("connection",)
        )
        self.feed_rotations_total = counter(
            "feed_rotations", "Forced connection rotations.", ("reason",)
        )
        self.feed_messages_total = counter(
            "feed_messages", "WebSocket messages received.", ("connection",)
        )
        # Names pmbot.venue.ws.WsRunner looks up (getattr by name): the same series under its names.
        self.ws_connection_up = self.feed_connection_up
        self.ws_reconnects_total = self.feed_reconnects_total
        self.ws_rotations_total = counter(
            "ws_rotations", "Forced rotations per connection.", ("connection",)
        )
        self.ws_handler_errors_total = counter(
            "ws_handler_errors",
            "Exceptions raised by WebSocket message/state handlers.",
            ("connection", "kind"),
        )

        # ---------------------------------------------------------------- executor
        self.exec_request_seconds = Histogram(
            "exec_request_seconds",
            "CLOB REST request latency per endpoint.",
            ["endpoint"],
            namespace=ns,
            registry=r,
            buckets=REQUEST_BUCKETS,
        )
        self.exec_retries_total = counter(
            "exec_retries", "REST retries after a transient error.", ("endpoint", "reason")
        )
        self.exec_errors_total = counter("exec_errors", "REST errors by class.", ("kind",))
        self.rate_budget_remaining = gauge(
            "rate_budget_remaining",
            "Requests left in the local rate budget per family.",
            ("family",),
        )
        self.heartbeat_age_seconds = gauge(
            "heartbeat_age_seconds", "Seconds since the last successful heartbeat."
        )
        self.heartbeats_missed_total = counter(
            "heartbeats_missed", "Heartbeats that failed or were late."
        )
        self.venue_mode = gauge("venue_mode", "1 for the venue's current trading mode.", ("mode",))
        self.unknown_outcome_orders = gauge(
            "unknown_outcome_orders",
            "Submits whose outcome is unknown (counted as live until resolved).",
        )
        self.reconcile_diffs_total = counter(
            "reconcile_diffs", "Differences found between local and venue open orders.", ("cause",)
        )
        self.inventory_mismatch_total = counter(
            "inventory_mismatch", "Times local inventory disagreed with the venue's positions."
        )

        # ---------------------------------------------------------------- arbitrage
        self.arb_opportunities_total = counter(
            "arb_opportunities", "Arbitrage sets seen with positive edge.", ("kind",)
        )
        self.arb_taken_total = counter("arb_taken", "Arbitrage sets sent.", ("kind",))
        self.arb_skipped_total = counter(
            "arb_skipped", "Arbitrage sets skipped, by reason.", ("reason",)
        )
        self.arb_edge_usd_total = counter(
            "arb_edge_usd", "Expected dollar edge of the arbitrage sets taken."
        )
        self.arb_legging_loss_usd_total = counter(
            "arb_legging_loss_usd", "Dollars lost unwinding partially filled arbitrage sets."
        )
        self.arb_open_sets = gauge(
            "arb_open_sets", "Complete arbitrage sets held as hedged positions (to resolution)."
        )

        # ---------------------------------------------------------------- process
        self.build_info = Info("build", "pmbot version and mode.", namespace=ns, registry=r)
        self.up = gauge(
            "up", "1 while the bot is running and ready (after start-up, before shutdown)."
        )
        self.start_time_seconds = gauge("start_time_seconds", "Unix time the bot started.")
        self.start_time_seconds.set(wall_clock())
        self.heartbeat_age_seconds.set(0)

        self._preinitialise()

    # ------------------------------------------------------------------ set-up helpers

    def _preinitialise(self) -> None:
        """Create the fixed-vocabulary children at 0 so they are exported before anything happens."""
        for kind in PNL_KINDS:
            self.pnl_usd.labels(kind=kind).set(0)
        for reason in REJECT_REASONS:
            self.orders_rejected_total.labels(reason=reason)
        for kind in EXEC_ERROR_KINDS:
            self.exec_errors_total.labels(kind=kind)
        for endpoint in ORDER_PATH_ENDPOINTS:
            for reason in RETRY_REASONS:
                self.exec_retries_total.labels(endpoint=endpoint, reason=reason)
        for mode in VENUE_MODES:
            self.venue_mode.labels(mode=mode).set(1 if mode == "normal" else 0)
        for reason in RESYNC_REASONS:
            self.feed_resyncs_total.labels(reason=reason)
        for kind in PARSE_ERROR_KINDS:
            self.feed_parse_errors_total.labels(kind=kind)
        for reason in ROTATION_REASONS:
            self.feed_rotations_total.labels(reason=reason)
        for kind in ARB_KINDS:
            self.arb_opportunities_total.labels(kind=kind)
            self.arb_taken_total.labels(kind=kind)
        for reason in ARB_SKIP_REASONS:
            self.arb_skipped_total.labels(reason=reason)
        for cause in RECONCILE_CAUSES:
            self.reconcile_diffs_total.labels(cause=cause)
        self.risk_halted.labels(reason="").set(0)

    def set_build_info(self, version: str, mode: str) -> None:
        self.build_info.info({"version": version, "mode": label(mode)})

    def set_limits(
        self, *, position_limit_usd: Decimal | float, imbalance_limit_usd: Decimal | float
    ) -> None:
        self.position_limit_usd.set(float(position_limit_usd))
        self.imbalance_limit_usd.set(float(imbalance_limit_usd))

    def declare_market(self, market: str, tokens: Iterable[tuple[str, object]]) -> None:
        """Export a market's series at 0 from start-up. ``tokens`` = ``[(token_id, outcome), ...]``."""
        market = label(market)
        for token, outcome in tokens:
            self.inventory_shares.labels(market, label(token), label(outcome)).set(0)
            self.inventory_usd.labels(market, label(token), label(outcome)).set(0)
        for g in (self.exposure_usd, self.exposure_shares, self.imbalance_usd, self.open_orders):
            g.labels(market=market).set(0)
        for side in SIDES:
            self.quotes.labels(market, side).set(0)
            self.fills_total.labels(market, side)
        self.orders_created_total.labels(market=market)
        self.orders_cancelled_total.labels(market=market)
        self.fill_volume_usd_total.labels(market=market)
        with self._lock:
            self._markets.add(market)
            first = market not in self._risk_reason
        if first:
            self.set_risk_state(market, None)

    # ------------------------------------------------------------------ state helpers

    def set_risk_state(self, market: str, reason: str | None) -> None:
        """One ``risk_paused`` series per market: ``{reason=""} 0`` while quoting, ``{reason=R} 1`` while paused.
        The previous reason's series is removed, so ``max by (market)`` is the pause state."""
        market = label(market)
        new = "" if reason is None else label(reason)
        with self._lock:
            old = self._risk_reason.get(market)
            self._risk_reason[market] = new
        if old is not None and old != new:
            try:
                self.risk_paused.remove(market, old)
            except KeyError:
                pass
        self.risk_paused.labels(market, new).set(0 if reason is None else 1)

    def set_halted(self, reason: str | None) -> None:
        """Global halt: ``{reason=""} 0`` when running, ``{reason=R} 1`` when halted."""
        self.risk_halted.clear()
        self.risk_halted.labels(reason="" if reason is None else label(reason)).set(
            0 if reason is None else 1
        )

    def set_connection_up(self, connection: str, up: bool) -> None:
        """Connection state, and its counters exported at 0 from its first connect."""
        self.feed_connection_up.labels(connection=connection).set(1 if up else 0)
        self.feed_reconnects_total.labels(connection=connection)
        self.feed_messages_total.labels(connection=connection)
        self.ws_rotations_total.labels(connection=connection)

    def set_venue_mode(self, mode: object) -> None:
        current = label(mode)
        for m in set(VENUE_MODES) | {current}:
            self.venue_mode.labels(mode=m).set(1 if m == current else 0)

    def set_inventory(
        self, market: str, token: str, outcome: object, shares: Decimal, usd: Decimal
    ) -> None:
        self.inventory_shares.labels(label(market), label(token), label(outcome)).set(float(shares))
        self.inventory_usd.labels(label(market), label(token), label(outcome)).set(float(usd))

    def set_pnl(self, *, realized: Decimal, unrealized: Decimal, fees: Decimal) -> None:
        self.pnl_usd.labels(kind="realized").set(float(realized))
        self.pnl_usd.labels(kind="unrealized").set(float(unrealized))
        self.pnl_usd.labels(kind="fees").set(float(fees))
        self.pnl_usd.labels(kind="total").set(float(realized + unrealized - fees))

    def count_fill(self, market: str, side: object, size: Decimal, price: Decimal) -> None:
        self.fills_total.labels(label(market), label(side)).inc()
        self.fill_volume_usd_total.labels(label(market)).inc(float(size * price))

    def count_rejection(self, kind: str) -> None:
        """``kind`` is ``OrderRejected.kind``; anything outside the vocabulary is counted as ``other``."""
        self.orders_rejected_total.labels(reason=kind if kind in REJECT_REASONS else "other").inc()

    # ------------------------------------------------------------------ ages

    def mark_feed_event(self, connection: str, at: float | None = None) -> None:
        """A message arrived on ``connection`` (monotonic seconds; default now)."""
        t = self._clock() if at is None else at
        with self._lock:
            self._feed_marks[connection] = t

    def mark_token_event(self, market: str, token: str, at: float | None = None) -> None:
        t = self._clock() if at is None else at
        with self._lock:
            self._token_marks[(label(market), label(token))] = t

    def mark_heartbeat(self, at: float | None = None) -> None:
        """A heartbeat succeeded."""
        t = self._clock() if at is None else at
        with self._lock:
            self._heartbeat_mark = t

    def forget_connection(self, connection: str) -> None:
        """Stop exporting a connection's series (shard removed)."""
        with self._lock:
            self._feed_marks.pop(connection, None)
        for g in (
            self.feed_last_event_age_seconds,
            self.feed_connection_up,
            self.feed_reconnects_total,
            self.feed_messages_total,
            self.ws_rotations_total,
        ):
            try:
                g.remove(connection)
            except KeyError:
                pass

    def refresh_ages(self) -> None:
        """Turn marks into ages (called at every scrape; callable directly in tests)."""
        now = self._clock()
        with self._lock:
            feeds = list(self._feed_marks.items())
            tokens = list(self._token_marks.items())
            hb = self._heartbeat_mark
        for conn, t in feeds:
            self.feed_last_event_age_seconds.labels(connection=conn).set(max(0.0, now - t))
        for (market, token), t in tokens:
            self.token_last_event_age_seconds.labels(market, token).set(max(0.0, now - t))
        if hb is not None:
            self.heartbeat_age_seconds.set(max(0.0, now - hb))

    # ------------------------------------------------------------------ output

    def exposition(self) -> bytes:
        """The text exposition format, as /metrics serves it."""
        return generate_latest(self.registry)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """A sample's current value by full exposed name (e.g. ``pmbot_fills_total``); None if absent."""
        return self.registry.get_sample_value(name, labels or {})

    def serve(self, host: str, port: int) -> MetricsServer:
        """Serve /metrics on ``host:port`` (port 0 = any free port) in a thread named ``metrics-http``."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        thread.name = "metrics-http"
        bound = server.server_address[1]
        log.info("metrics served on http://%s:%d/metrics", host, bound)
        return MetricsServer(host=host, port=bound, _server=server, _thread=thread)
