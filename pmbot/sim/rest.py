"""The simulator's REST surface: CLOB V2 public and private endpoints, the Data API, Gamma and the
``/_sim`` control endpoints, routed to pure request -> :class:`Reply` functions (no sockets here;
the transport is in ``http_transport``).

This module holds the route tables and the dispatch (L2 authentication of private routes,
loopback-only ``/_sim``); the endpoints live in their families: ``rest_market_data`` (public
market data), ``rest_orders`` (orders, cancels, queries, heartbeats, balances, API keys),
``rest_data_gamma`` (Data API and Gamma) and ``rest_control`` (``/_sim``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from pmbot.sim.auth import AuthError, verify_l2
from pmbot.sim.ports import BenchMarkets, ExchangeApi, FaultGate, HeartbeatRegistry, KeyRegistry
from pmbot.sim.rest_control import ControlRoutes
from pmbot.sim.rest_data_gamma import DataGammaRoutes
from pmbot.sim.rest_market_data import MarketDataRoutes
from pmbot.sim.rest_messages import Handler, Reply, Request, error, is_loopback
from pmbot.sim.rest_orders import OrderRoutes, PrivateHandler
from pmbot.sim.rewards import RewardRoutes

__all__ = ["Reply", "Request", "RestApi", "error"]

PrefixHandler = Callable[[Request, str], Reply]
ORDER_PREFIX = "/data/order/"


class RestApi:
    """Routes a :class:`Request` to an endpoint. ``exchange`` is the engine; ``keys``, ``faults``,
    ``heartbeats`` and ``bench`` are the server's collaborators."""

    def __init__(
        self,
        *,
        exchange: ExchangeApi,
        keys: KeyRegistry,
        faults: FaultGate,
        heartbeats: HeartbeatRegistry,
        chain_id: int,
        bench: BenchMarkets | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.exchange = exchange
        self.keys = keys
        self._now = wall_clock
        self.market_data = MarketDataRoutes(exchange, bench)
        self.orders = OrderRoutes(
            exchange=exchange,
            keys=keys,
            faults=faults,
            heartbeats=heartbeats,
            market_data=self.market_data,
            chain_id=chain_id,
        )
        self.data_gamma = DataGammaRoutes(exchange)
        self.control = ControlRoutes(exchange, faults, bench)
        self.rewards = RewardRoutes(exchange, Reply)  # liquidity rewards (pmbot.sim.rewards)
        self._route_tables()

    def _route_tables(self) -> None:
        """The declarative route tables: exact public paths, public path prefixes (the rest of
        the path is the argument), and private (L2-authenticated) paths."""
        md, od, dg, ct = self.market_data, self.orders, self.data_gamma, self.control
        rw = self.rewards
        self._public: dict[tuple[str, str], Handler] = {
            ("GET", "/ok"): lambda r: Reply(200, "OK"),
            ("GET", "/time"): lambda r: Reply(200, int(self._now())),
            ("GET", "/version"): lambda r: Reply(200, self.orders.faults.venue.version_answer()),
            ("GET", "/markets"): md.markets,
            ("GET", "/book"): md.book,
            ("POST", "/books"): md.books,
            ("GET", "/tick-size"): md.tick_size,
            ("GET", "/neg-risk"): md.neg_risk,
            ("GET", "/fee-rate"): md.fee_rate,
            ("GET", "/midpoint"): md.midpoint,
            ("GET", "/price"): md.price,
            ("GET", "/spread"): md.spread,
            ("GET", "/last-trade-price"): md.last_trade_price,
            ("POST", "/auth/api-key"): od.create_api_key,
            ("GET", "/auth/derive-api-key"): od.create_api_key,
            ("GET", "/data-api/positions"): dg.positions,
            ("GET", "/gamma/markets"): dg.gamma_markets,
            ("GET", "/gamma/events"): dg.gamma_events,
            ("POST", "/_sim/control"): ct.control,
            ("GET", "/_sim/ledger"): ct.ledger,
            ("GET", "/_sim/stats"): ct.stats,
            ("POST", "/_sim/bench_markets"): ct.bench_markets,
            ("POST", "/_sim/flood"): ct.flood,
            ("GET", "/rewards/markets/current"): rw.current,
            ("GET", "/prices-history"): rw.prices_history,
            ("GET", "/_sim/rewards"): rw.scores,
        }
        self._prefixed: list[tuple[str, str, PrefixHandler]] = [
            ("GET", "/markets/", md.market),
            ("GET", "/clob-markets/", md.clob_market_info),
            ("GET", "/markets-by-token/", md.market_by_token),
            ("GET", "/fee-rate/", md.fee_rate),
            ("GET", "/gamma/markets/slug/", dg.gamma_market_by_slug),
            ("GET", "/gamma/events/slug/", dg.gamma_event_by_slug),
            ("GET", "/rewards/markets/", rw.market),
        ]
        self._private: dict[tuple[str, str], PrivateHandler] = {
            ("POST", "/order"): od.post_order,
            ("POST", "/orders"): od.post_orders,
            ("DELETE", "/order"): od.cancel_order,
            ("DELETE", "/orders"): od.cancel_orders,
            ("DELETE", "/cancel-all"): od.cancel_all,
            ("DELETE", "/cancel-market-orders"): od.cancel_market_orders,
            ("GET", "/data/orders"): od.open_orders,
            ("GET", "/data/trades"): od.trades,
            ("POST", "/v1/heartbeats"): od.heartbeat,
            ("GET", "/balance-allowance"): od.balance_allowance,
            ("GET", "/balance-allowance/update"): od.balance_allowance,
            ("GET", "/auth/api-keys"): lambda r, c: Reply(200, {"apiKeys": [c.api_key]}),
            ("GET", "/auth/ban-status/closed-only"): lambda r, c: Reply(
                200, {"closed_only": False}
            ),
        }

    def handle(self, req: Request) -> Reply:
        try:
            return self._route(req)
        except json.JSONDecodeError:
            return error(400, "Invalid payload")

    def _route(self, req: Request) -> Reply:
        route = (req.method, req.path)
        if route in self._private or (req.method == "GET" and req.path.startswith(ORDER_PREFIX)):
            try:
                creds = verify_l2(req.headers, req.method, req.path, req.body, self.keys)
            except AuthError as exc:
                return error(exc.status, exc.message)
            if route in self._private:
                return self._private[route](req, creds)
            return self.orders.get_order(req, creds, req.path[len(ORDER_PREFIX) :])
        if route in self._public:
            if req.path.startswith("/_sim/") and not is_loopback(req.client_ip):
                return error(403, "control endpoints are loopback only")
            return self._public[route](req)
        for method, prefix, fn in self._prefixed:
            if req.method == method and req.path.startswith(prefix) and len(req.path) > len(prefix):
                return fn(req, req.path[len(prefix) :])
        return error(404, "not found")
