"""The declarations of every pmbot metric: names, help texts, label sets, vocabularies.

``pmbot.metrics.Metrics`` builds on ``MetricCatalog`` and adds the helpers that set the metrics;
this module is the contract the dashboard (``grafana/dashboards/pmbot.json``) and the alert rules
(``deploy/prometheus/alerts.yml``) are checked against. Label rules: see ``pmbot.metrics``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

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
# pmbot.venue.wire_clob.not_canceled_kind: why a cancel answer left an order (gone = already done).
NOT_CANCELED_REASONS = ("gone", "matching_delay", "not_found", "other")
RATE_FAMILIES = ("orders", "cancels", "reads")
VENUE_MODES = ("normal", "cancel_only", "post_only", "disabled")
RESYNC_REASONS = ("inconsistent", "reconnect", "spot_check")
PARSE_ERROR_KINDS = ("json", "schema", "unknown_event")
ROTATION_REASONS = ("silent_feed",)
# pmbot.venue.wire_market.KEEPALIVE_LABELS: the plain-text market-channel frames (issue 13 item 5).
KEEPALIVE_TEXTS = ("no_new_assets", "invalid_operation", "other")
# exec_retries_total{endpoint,reason}: endpoint is pmbot.venue.rest's endpoint name; reason one of
# these.
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
    """Label text for a value: enum members by value, Decimals without exponent, everything else
    str()."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class MetricCatalog:
    """Every metric as an attribute, declared on ``self.registry`` by ``_declare_all``."""

    registry: CollectorRegistry

    def _gauge(self, name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
        return Gauge(name, doc, list(labels), namespace=NAMESPACE, registry=self.registry)

    def _counter(self, name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
        return Counter(name, doc, list(labels), namespace=NAMESPACE, registry=self.registry)

    def _declare_all(self) -> None:
        self._declare_positions()
        self._declare_orders()
        self._declare_risk()
        self._declare_rewards()
        self._declare_feeds()
        self._declare_executor()
        self._declare_arbitrage()
        self._declare_process()
        self._preinitialise()

    def _declare_positions(self) -> None:
        # inventory and exposure
        self.inventory_shares = self._gauge(
            "inventory_shares", "Shares held per token.", ("market", "token", "outcome")
        )
        self.inventory_usd = self._gauge(
            "inventory_usd",
            "Dollar value of the shares held per token, at mid.",
            ("market", "token", "outcome"),
        )
        self.exposure_usd = self._gauge(
            "exposure_usd",
            "Net dollar exposure per market (YES value minus NO value, at mid).",
            ("market",),
        )
        self.exposure_shares = self._gauge(
            "exposure_shares", "Net shares per market (YES shares minus NO shares).", ("market",)
        )
        self.imbalance_usd = self._gauge(
            "imbalance_usd",
            "Absolute dollar imbalance between YES and NO holdings per market.",
            ("market",),
        )
        self.imbalance_limit_usd = self._gauge(
            "imbalance_limit_usd", "Configured max_inventory_imbalance_usd (per market)."
        )
        self.position_value_usd = self._gauge(
            "position_value_usd", "Total dollar value of every position held, at mid."
        )
        self.position_limit_usd = self._gauge(
            "position_limit_usd", "Configured max_position_size_usd."
        )
        self.position_value_by_kind_usd = self._gauge(
            "position_value_by_kind_usd",
            "Position value at mid by kind: hedged (complete sets, arbitrage baskets) or "
            "unhedged (directional; what max_position_size_usd limits). They sum to the total.",
            ("kind",),
        )
        self.pnl_usd = self._gauge(
            "pnl_usd",
            "Profit and loss in dollars by kind (realized, unrealized, fees, total).",
            ("kind",),
        )

    def _declare_orders(self) -> None:
        # quoting and orders
        self.open_orders = self._gauge(
            "open_orders", "Orders of this bot resting on the venue, per market.", ("market",)
        )
        self.quotes = self._gauge(
            "quotes", "Desired quotes currently resting per market and side.", ("market", "side")
        )
        self.orders_created_total = self._counter(
            "orders_created", "Orders accepted by the venue.", ("market",)
        )
        self.orders_cancelled_total = self._counter(
            "orders_cancelled", "Orders cancelled (confirmed).", ("market",)
        )
        self.orders_rejected_total = self._counter(
            "orders_rejected", "Orders refused, by OrderRejected.kind.", ("reason",)
        )
        self.fills_total = self._counter("fills", "Fills of this bot's orders.", ("market", "side"))
        self.fill_volume_usd_total = self._counter(
            "fill_volume_usd", "Dollar notional filled.", ("market",)
        )
        self.tick_to_order_seconds = Histogram(
            "tick_to_order_seconds",
            "From market data arrival (recv) to the order command leaving the strategy.",
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=TICK_TO_ORDER_BUCKETS,
        )

    def _declare_risk(self) -> None:
        # risk
        self.risk_paused = self._gauge(
            "risk_paused",
            "1 while quoting in a market is paused by a risk guard, with its reason.",
            ("market", "reason"),
        )
        self.risk_halted = self._gauge(
            "risk_halted", "1 while the whole bot is halted by a risk guard.", ("reason",)
        )
        self.risk_reduce_only = self._gauge(
            "risk_reduce_only",
            "1 while the whole bot quotes reduce-only past a global limit, with its reason.",
            ("reason",),
        )

    def _declare_rewards(self) -> None:
        # liquidity rewards (pmbot.rewards.own_estimate; markets with rewards only)
        self.reward_score = self._gauge(
            "reward_score", "The bot's own Q_min now by the venue's reward formula.", ("market",)
        )
        self.reward_share_estimate = self._gauge(
            "reward_share_estimate",
            "Own Q_min / (own + the rest of the book in the band as one maker).",
            ("market",),
        )

    def _declare_feeds(self) -> None:
        # market and user feeds
        self.feed_connection_up = self._gauge(
            "feed_connection_up", "1 while a WebSocket connection is open.", ("connection",)
        )
        self.feed_last_event_age_seconds = self._gauge(
            "feed_last_event_age_seconds",
            "Seconds since the last data message on a connection (not PONG or keep-alive text).",
            ("connection",),
        )
        self.token_last_event_age_seconds = self._gauge(
            "token_last_event_age_seconds",
            "Seconds since the last book event for a token.",
            ("market", "token"),
        )
        self.feed_resyncs_total = self._counter(
            "feed_resyncs", "Book resyncs (REST snapshot or resubscribe).", ("reason",)
        )
        self.feed_parse_errors_total = self._counter(
            "feed_parse_errors", "Venue messages that failed to parse.", ("kind",)
        )
        self.feed_reconnects_total = self._counter(
            "feed_reconnects", "WebSocket reconnects.", ("connection",)
        )
        self.feed_rotations_total = self._counter(
            "feed_rotations", "Forced connection rotations.", ("reason",)
        )
        self.feed_messages_total = self._counter(
            "feed_messages", "WebSocket messages received.", ("connection",)
        )
        self.feed_keepalive_frames_total = self._counter(
            "feed_keepalive_frames",
            "Plain-text market-channel frames (NO NEW ASSETS...): neither data nor parse errors.",
            ("text",),
        )
        # Names pmbot.venue.ws.WsRunner looks up (getattr by name): the same series under its names.
        self.ws_connection_up = self.feed_connection_up
        self.ws_reconnects_total = self.feed_reconnects_total
        self.ws_rotations_total = self._counter(
            "ws_rotations", "Forced rotations per connection.", ("connection",)
        )
        self.ws_handler_errors_total = self._counter(
            "ws_handler_errors",
            "Exceptions raised by WebSocket message/state handlers.",
            ("connection", "kind"),
        )

    def _declare_executor(self) -> None:
        # executor
        self.exec_request_seconds = Histogram(
            "exec_request_seconds",
            "CLOB REST request latency per endpoint.",
            ["endpoint"],
            namespace=NAMESPACE,
            registry=self.registry,
            buckets=REQUEST_BUCKETS,
        )
        self.exec_retries_total = self._counter(
            "exec_retries", "REST retries after a transient error.", ("endpoint", "reason")
        )
        self.exec_errors_total = self._counter("exec_errors", "REST errors by class.", ("kind",))
        self.cancel_not_canceled_total = self._counter(
            "cancel_not_canceled",
            "Orders a cancel answer left uncancelled, by reason.",
            ("reason",),
        )
        self.quote_pulls_total = self._counter(
            "quote_pulls",
            "Stale quotes pulled by the market-feed thread on a book move (issue 20), by how the "
            "cancel left: written at once on the pull connection, or queued to the cancel lane.",
            ("kind",),
        )
        self.presigned_orders_total = self._counter(
            "presigned_orders",
            "Orders signed ahead while the strategy thread was idle (kind=made) and posts that "
            "went out with one (kind=used), issue 20.",
            ("kind",),
        )
        self.rate_budget_remaining = self._gauge(
            "rate_budget_remaining",
            "Requests left in the local rate budget per family.",
            ("family",),
        )
        self.heartbeat_age_seconds = self._gauge(
            "heartbeat_age_seconds", "Seconds since the last successful heartbeat."
        )
        self.heartbeats_missed_total = self._counter(
            "heartbeats_missed", "Heartbeats that failed or were late."
        )
        self.venue_mode = self._gauge(
            "venue_mode", "1 for the venue's current trading mode.", ("mode",)
        )
        self.unknown_outcome_orders = self._gauge(
            "unknown_outcome_orders",
            "Submits whose outcome is unknown (counted as live until resolved).",
        )
        self.reconcile_diffs_total = self._counter(
            "reconcile_diffs", "Differences found between local and venue open orders.", ("cause",)
        )
        self.inventory_mismatch_total = self._counter(
            "inventory_mismatch", "Times local inventory disagreed with the venue's positions."
        )

    def _declare_arbitrage(self) -> None:
        # arbitrage
        self.arb_opportunities_total = self._counter(
            "arb_opportunities", "Arbitrage sets seen with positive edge.", ("kind",)
        )
        self.arb_taken_total = self._counter("arb_taken", "Arbitrage sets sent.", ("kind",))
        self.arb_skipped_total = self._counter(
            "arb_skipped", "Arbitrage sets skipped, by reason.", ("reason",)
        )
        self.arb_edge_usd_total = self._counter(
            "arb_edge_usd", "Expected dollar edge of the arbitrage sets taken."
        )
        self.arb_legging_loss_usd_total = self._counter(
            "arb_legging_loss_usd", "Dollars lost unwinding partially filled arbitrage sets."
        )
        self.arb_open_sets = self._gauge(
            "arb_open_sets", "Complete arbitrage sets held as hedged positions (to resolution)."
        )

    def _declare_process(self) -> None:
        # process
        self.build_info = Info(
            "build", "pmbot version and mode.", namespace=NAMESPACE, registry=self.registry
        )
        self.up = self._gauge(
            "up", "1 while the bot is running and ready (after start-up, before shutdown)."
        )
        self.start_time_seconds = self._gauge("start_time_seconds", "Unix time the bot started.")

    def _preinitialise(self) -> None:
        """Create the fixed-vocabulary children at 0 so they are exported before anything
        happens."""
        for kind in PNL_KINDS:
            self.pnl_usd.labels(kind=kind).set(0)
        for reason in REJECT_REASONS:
            self.orders_rejected_total.labels(reason=reason)
        for kind in EXEC_ERROR_KINDS:
            self.exec_errors_total.labels(kind=kind)
        for reason in NOT_CANCELED_REASONS:
            self.cancel_not_canceled_total.labels(reason=reason)
        for kind in ("written", "queued"):
            self.quote_pulls_total.labels(kind=kind)
        for kind in ("made", "used"):
            self.presigned_orders_total.labels(kind=kind)
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
        for text in KEEPALIVE_TEXTS:
            self.feed_keepalive_frames_total.labels(text=text)
        for kind in ARB_KINDS:
            self.arb_opportunities_total.labels(kind=kind)
            self.arb_taken_total.labels(kind=kind)
        for reason in ARB_SKIP_REASONS:
            self.arb_skipped_total.labels(reason=reason)
        for cause in RECONCILE_CAUSES:
            self.reconcile_diffs_total.labels(cause=cause)
        self.risk_halted.labels(reason="").set(0)
        self.risk_reduce_only.labels(reason="").set(0)
        for kind in ("hedged", "unhedged"):
            self.position_value_by_kind_usd.labels(kind=kind).set(0)
