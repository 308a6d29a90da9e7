"""Every Prometheus metric of pmbot, defined once, on an injected registry.

The declarations (names, help texts, labels, vocabularies) are in ``pmbot.metrics_catalog``; this
module adds the helpers that set them, the scrape-time ages and the HTTP server. Import both from
here: ``Metrics`` and the vocabularies are re-exported.

Why one class: the dashboard (``grafana/dashboards/pmbot.json``) and the alert rules
(``deploy/prometheus/alerts.yml``) are a contract on these names; a test parses both and checks
every metric they use exists here. Tests build ``Metrics(CollectorRegistry())`` so nothing leaks
between them.

Label rules (cardinality stays bounded):
- ``market`` = the market's condition id, ``token`` = the token id, ``outcome`` = ``YES``/``NO``.
- ``reason``/``kind``/``endpoint``/``family`` come from small fixed vocabularies (the ``*_REASONS``
  / ``*_KINDS`` tuples of the catalog are pre-initialised at 0 so rate() panels show 0 instead of
  nothing). Never put an order id, a trade id or free venue text in a label.
- Pass enum *values* (``Side.BUY.value``), not enum members: ``str(Side.BUY)`` is ``"Side.BUY"``.
  The helper methods below do that for you.

Ages (last feed event, last heartbeat) are computed at scrape time from ``mark_*`` timestamps and an
injected monotonic clock, so a silent feed shows a growing age even when no thread wakes up to say
so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from pmbot.metrics_catalog import (  # noqa: F401 - re-exported: importers use pmbot.metrics
    ARB_KINDS,
    ARB_SKIP_REASONS,
    EXEC_ERROR_KINDS,
    KEEPALIVE_TEXTS,
    NAMESPACE,
    ORDER_PATH_ENDPOINTS,
    PARSE_ERROR_KINDS,
    PNL_KINDS,
    RATE_FAMILIES,
    RECONCILE_CAUSES,
    REJECT_REASONS,
    REQUEST_BUCKETS,
    RESYNC_REASONS,
    RETRY_REASONS,
    ROTATION_REASONS,
    SIDES,
    TICK_TO_ORDER_BUCKETS,
    VENUE_MODES,
    MetricCatalog,
    label,
)

log = logging.getLogger(__name__)


class _AgeRefresher(Collector):
    """Registered first, so at every scrape it turns the recorded ``mark_*`` times into age gauges
    before those gauges are collected. Yields no metrics of its own."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        # Registering calls describe() (or collect() when there is none); this collector owns no
        # names.
        return []

    def collect(self) -> Iterator[Metric]:
        self._metrics.refresh_ages()
        return iter(())


class _HttpServer(Protocol):
    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


@dataclass
class MetricsServer:
    """Handle on the /metrics HTTP server thread; ``shutdown()`` stops and joins it."""

    host: str
    port: int
    _server: _HttpServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def shutdown(self, timeout: float = 5.0) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)


class Metrics(MetricCatalog):
    """All pmbot metrics. Attributes are prometheus_client objects; helpers keep labels
    consistent."""

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

        self._declare_all()
        self.start_time_seconds.set(wall_clock())
        self.heartbeat_age_seconds.set(0)

    # ------------------------------------------------------------------ set-up helpers

    def set_build_info(self, version: str, mode: str) -> None:
        self.build_info.info({"version": version, "mode": label(mode)})

    def set_limits(
        self, *, position_limit_usd: Decimal | float, imbalance_limit_usd: Decimal | float
    ) -> None:
        self.position_limit_usd.set(float(position_limit_usd))
        self.imbalance_limit_usd.set(float(imbalance_limit_usd))

    def declare_market(self, market: str, tokens: Iterable[tuple[str, object]]) -> None:
        """Export a market's series at 0 from start-up. ``tokens`` = ``[(token_id, outcome),
        ...]``."""
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
        """One ``risk_paused`` series per market: ``{reason=""} 0`` while quoting, ``{reason=R} 1``
        while paused. The previous reason's series is removed, so ``max by (market)`` is the pause
        state."""
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
        """``kind`` is ``OrderRejected.kind``; anything outside the vocabulary is counted as
        ``other``."""
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
        """A sample's current value by full exposed name (e.g. ``pmbot_fills_total``); None if
        absent."""
        return self.registry.get_sample_value(name, labels or {})

    def serve(self, host: str, port: int) -> MetricsServer:
        """Serve /metrics on ``host:port`` (port 0 = any free port) in a thread named
        ``metrics-http``."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        thread.name = "metrics-http"
        bound = server.server_address[1]
        log.info("metrics served on http://%s:%d/metrics", host, bound)
        return MetricsServer(host=host, port=bound, _server=server, _thread=thread)
