"""The simulator's REST surface: CLOB V2 public and private endpoints, the Data API, Gamma and the
``/_sim`` control endpoints, as pure request -> :class:`Reply` functions (no sockets here; the
transport is in server.py).

Checks done here, before the engine sees an order, in the venue's order: body shape
(``Invalid order payload``), owner == API key, order signature (types 0/1/2 must recover to the
API key's EOA; type 3 via the ERC-7739 wrapper), then the order id = EIP-712 order digest.
Everything else (tick, size, balance, crossing, FOK/FAK) is the engine's, raised as SimReject
with the venue's exact strings.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmbot import eip712
from pmbot.sim import rewards as sim_rewards
from pmbot.sim import views
from pmbot.sim.auth import (
    OWNER_MISMATCH_ERROR,
    ApiCredentials,
    AuthError,
    verify_l1,
    verify_l2,
    verify_order_signature,
)
from pmbot.sim.faults import FaultReply

log = logging.getLogger(__name__)

MAX_BATCH_ORDERS = 15
MAX_CANCEL_IDS = 1000
ORDERS_PAGE = 100
MARKETS_PAGE = 500
INVALID_PAYLOAD = "Invalid order payload"
ORDER_TYPES = ("GTC", "GTD", "FOK", "FAK")
_ORDER_FIELDS = {
    "salt": int,
    "maker": str,
    "signer": str,
    "tokenId": str,
    "makerAmount": str,
    "takerAmount": str,
    "side": str,
    "signatureType": int,
    "timestamp": str,
    "signature": str,
}
MAX_UINT256 = str(2**256 - 1)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any  # JSON-able; a str is sent as a JSON string
    headers: tuple[tuple[str, str], ...] = ()
    hang_secs: float = 0.0  # answer this much later (the order was processed already)


def error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without query string
    query: dict  # first value of each parameter
    headers: Any  # case-insensitive mapping (http.client.HTTPMessage)
    body: str
    client_ip: str = "127.0.0.1"
    query_lists: dict = field(default_factory=dict)  # every value of each parameter

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _fault(reply: FaultReply | None) -> Reply | None:
    return None if reply is None else Reply(reply.status, reply.body, reply.headers)


class RestApi:
    """Routes a :class:`Request` to an endpoint. ``exchange`` is the engine; ``keys``, ``faults``,
    ``heartbeats`` and ``bench`` are the server's collaborators."""

    def __init__(
        self,
        *,
        exchange,
        keys,
        faults,
        heartbeats,
        chain_id: int,
        bench=None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.exchange = exchange
        self.keys = keys
        self.faults = faults
        self.heartbeats = heartbeats
        self.chain_id = chain_id
        self.bench = bench
        self._now = wall_clock
        self.rewards = rw = sim_rewards.RewardRoutes(exchange, Reply)  # liquidity rewards
        self._funder_of: dict[
            str, str
        ] = {}  # api key -> last order maker seen (for balance-allowance)
        self._public = {
            ("GET", "/ok"): lambda r: Reply(200, "OK"),
            ("GET", "/time"): lambda r: Reply(200, int(self._now())),
            ("GET", "/version"): lambda r: Reply(200, {"version": 2}),
            ("GET", "/markets"): self.markets,
            ("GET", "/book"): self.book,
            ("POST", "/books"): self.books,
            ("GET", "/tick-size"): self.tick_size,
            ("GET", "/neg-risk"): self.neg_risk,
            ("GET", "/fee-rate"): self.fee_rate,
            ("GET", "/midpoint"): self.midpoint,
            ("GET", "/price"): self.price,
            ("GET", "/spread"): self.spread,
            ("GET", "/last-trade-price"): self.last_trade_price,
            ("POST", "/auth/api-key"): self.create_api_key,
            ("GET", "/auth/derive-api-key"): self.create_api_key,
            ("GET", "/data-api/positions"): self.positions,
            ("GET", "/gamma/markets"): self.gamma_markets,
            ("GET", "/gamma/events"): self.gamma_events,
            ("POST", "/_sim/control"): self.control,
            ("GET", "/_sim/ledger"): self.ledger,
            ("POST", "/_sim/bench_markets"): self.bench_markets,
            ("POST", "/_sim/flood"): self.flood,
            ("GET", "/rewards/markets/current"): rw.current,
            ("GET", "/prices-history"): rw.prices_history,
            ("GET", "/_sim/rewards"): rw.scores,
        }
        self._prefixed = [
            ("GET", "/markets/", self.market),
            ("GET", "/clob-markets/", self.clob_market_info),
            ("GET", "/markets-by-token/", self.market_by_token),
            ("GET", "/fee-rate/", lambda r, token: self.fee_rate(r, token)),
            ("GET", "/gamma/markets/slug/", self.gamma_market_by_slug),
            ("GET", "/gamma/events/slug/", self.gamma_event_by_slug),
            ("GET", "/rewards/markets/", rw.market),
        ]
        self._private = {
            ("POST", "/order"): self.post_order,
            ("POST", "/orders"): self.post_orders,
            ("DELETE", "/order"): self.cancel_order,
            ("DELETE", "/orders"): self.cancel_orders,
            ("DELETE", "/cancel-all"): self.cancel_all,
            ("DELETE", "/cancel-market-orders"): self.cancel_market_orders,
            ("GET", "/data/orders"): self.open_orders,
            ("GET", "/data/trades"): self.trades,
            ("POST", "/v1/heartbeats"): self.heartbeat,
            ("GET", "/balance-allowance"): self.balance_allowance,
            ("GET", "/balance-allowance/update"): self.balance_allowance,
            ("GET", "/auth/api-keys"): lambda r, c: Reply(200, {"apiKeys": [c.api_key]}),
            ("GET", "/auth/ban-status/closed-only"): lambda r, c: Reply(
                200, {"closed_only": False}
            ),
        }

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Reply:
        route = (req.method, req.path)
        try:
            if route in self._private or (
                req.method == "GET" and req.path.startswith("/data/order/")
            ):
                try:
                    creds = verify_l2(req.headers, req.method, req.path, req.body, self.keys)
                except AuthError as exc:
                    return error(exc.status, exc.message)
                if route in self._private:
                    return self._private[route](req, creds)
                return self.get_order(req, creds, req.path[len("/data/order/") :])
            if route in self._public:
                if req.path.startswith("/_sim/") and not _is_loopback(req.client_ip):
                    return error(403, "control endpoints are loopback only")
                return self._public[route](req)
            for method, prefix, fn in self._prefixed:
                if (
                    req.method == method
                    and req.path.startswith(prefix)
                    and len(req.path) > len(prefix)
                ):
                    return fn(req, req.path[len(prefix) :])
            return error(404, "not found")
        except json.JSONDecodeError:
            return error(400, "Invalid payload")

    # ------------------------------------------------------------------ public market data

    def _market_of(self, token_id: str | None):
        if not token_id:
            return None
        try:
            return self.exchange.market_of_token(token_id)
        except KeyError:
            return None

    def _snapshot(self, token_id: str | None) -> dict | None:
        if not token_id:
            return None
        if self.bench is not None and self.bench.has_token(token_id):
            return self.bench.book_snapshot(token_id)
        if self._market_of(token_id) is None:
            return None
        return self.exchange.book_snapshot(token_id)

    def _yes_mid(self, m) -> Decimal:
        bid, ask = _top(self.exchange.book_snapshot(m.yes_token))
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return m.fair_value

    def markets(self, req: Request) -> Reply:
        rows = [
            views.clob_market(m, self._yes_mid(m)) for m in list(self.exchange.markets.values())
        ]
        try:
            return Reply(200, views.paginate(rows, req.query.get("next_cursor"), MARKETS_PAGE))
        except ValueError:
            return error(400, "invalid next_cursor")

    def market(self, req: Request, condition_id: str) -> Reply:
        m = self.exchange.markets.get(condition_id)
        if m is None:
            return error(404, "market not found")
        return Reply(200, views.clob_market(m, self._yes_mid(m)))

    def market_by_token(self, req: Request, token_id: str) -> Reply:
        m = self._market_of(token_id)
        if m is None:
            return error(404, "market not found")
        return Reply(200, views.clob_market(m, self._yes_mid(m)))

    def clob_market_info(self, req: Request, condition_id: str) -> Reply:
        m = self.exchange.markets.get(condition_id)
        if m is None:
            return error(404, "market not found")
        return Reply(200, views.clob_market_info(m))

    def book(self, req: Request) -> Reply:
        snap = self._snapshot(req.query.get("token_id"))
        if snap is None:
            return error(404, "No orderbook exists for the requested token id")
        return Reply(200, snap)

    def books(self, req: Request) -> Reply:
        items = req.json()
        if not isinstance(items, list) or len(items) > 500:
            return error(400, "Invalid payload")
        out = []
        for item in items:
            snap = self._snapshot(item.get("token_id") if isinstance(item, dict) else None)
            if snap is not None:
                out.append(snap)
        return Reply(200, out)

    def tick_size(self, req: Request) -> Reply:
        m = self._market_of(req.query.get("token_id"))
        if m is None:
            return error(404, "market not found")
        return Reply(200, {"minimum_tick_size": views._num(m.tick)})

    def neg_risk(self, req: Request) -> Reply:
        m = self._market_of(req.query.get("token_id"))
        if m is None:
            return error(404, "market not found")
        return Reply(200, {"neg_risk": m.neg_risk})

    def fee_rate(self, req: Request, token_id: str | None = None) -> Reply:
        m = self._market_of(token_id or req.query.get("token_id"))
        if m is None:
            return error(404, "market not found")
        return Reply(200, {"base_fee": m.fee_rate_bps})

    def _top_of(self, req: Request):
        snap = self._snapshot(req.query.get("token_id"))
        if snap is None:
            return None
        return _top(snap)

    def midpoint(self, req: Request) -> Reply:
        top = self._top_of(req)
        if top is None or None in top:
            return error(404, "No orderbook exists for the requested token id")
        return Reply(200, {"mid": str((top[0] + top[1]) / 2)})

    def price(self, req: Request) -> Reply:
        """``side=BUY`` answers the best bid and ``SELL`` the best ask (the side of the book);
        which one the venue means is not documented clearly."""
        top = self._top_of(req)
        side = req.query.get("side", "").upper()
        if top is None or side not in ("BUY", "SELL"):
            return error(
                400,
                "Invalid side"
                if top is not None
                else "No orderbook exists for the requested token id",
            )
        value = top[0] if side == "BUY" else top[1]
        if value is None:
            return error(404, "No orderbook exists for the requested token id")
        return Reply(200, {"price": str(value)})

    def spread(self, req: Request) -> Reply:
        top = self._top_of(req)
        if top is None or None in top:
            return error(404, "No orderbook exists for the requested token id")
        return Reply(200, {"spread": str(top[1] - top[0])})

    def last_trade_price(self, req: Request) -> Reply:
        snap = self._snapshot(req.query.get("token_id"))
        if snap is None:
            return error(404, "No orderbook exists for the requested token id")
        return Reply(200, {"price": snap.get("last_trade_price") or "0.5", "side": ""})

    # ------------------------------------------------------------------ L1 keys

    def create_api_key(self, req: Request) -> Reply:
        try:
            address, nonce = verify_l1(
                req.headers, chain_id=self.chain_id, accounts=self.keys.accounts
            )
        except AuthError as exc:
            return error(exc.status, exc.message)
        return Reply(200, self.keys.derive(address, nonce).as_response())

    # ------------------------------------------------------------------ orders

    def _place_one(self, payload: Any, creds: ApiCredentials) -> dict:
        """Validate and place one ``{"order", "owner", "orderType", ...}`` payload; raises
        AuthError / SimReject / _Invalid with the venue's message."""
        order, order_type, post_only = _parse_order_payload(payload)
        if payload["owner"] != creds.api_key:
            raise AuthError(OWNER_MISMATCH_ERROR, status=400)
        market = self._market_of(order["tokenId"])
        neg_risk = bool(market.neg_risk) if market is not None else False
        verify_order_signature(
            order, creds, neg_risk=neg_risk, chain_id=self.chain_id, accounts=self.keys.accounts
        )
        try:
            order_id = (
                "0x" + eip712.order_digest(order, neg_risk=neg_risk, chain_id=self.chain_id).hex()
            )
        except (ValueError, TypeError, KeyError):
            raise _Invalid(INVALID_PAYLOAD) from None
        self._funder_of[creds.api_key] = order["maker"].lower()
        return self.exchange.place_order(
            creds.api_key, order, order_type=order_type, post_only=post_only, order_id=order_id
        )

    def post_order(self, req: Request, creds: ApiCredentials) -> Reply:
        from pmbot.sim.engine import SimReject

        payload = req.json()
        post_only = isinstance(payload, dict) and payload.get("postOnly") is True
        fault = _fault(self.faults.before_order(all_post_only=post_only))
        if fault:
            return fault
        try:
            result = self._place_one(payload, creds)
        except (AuthError, SimReject, _Invalid) as exc:
            return Reply(getattr(exc, "status", 400), {"error": exc.message})
        return Reply(200, result, hang_secs=self.faults.take_hang_secs())

    def post_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        from pmbot.sim.engine import SimReject

        payloads = req.json()
        if not isinstance(payloads, list) or not payloads:
            return error(400, INVALID_PAYLOAD)
        if len(payloads) > MAX_BATCH_ORDERS:
            return error(
                400, f"Too many orders in payload: {len(payloads)}, max allowed: {MAX_BATCH_ORDERS}"
            )
        all_post_only = all(isinstance(p, dict) and p.get("postOnly") is True for p in payloads)
        fault = _fault(self.faults.before_order(all_post_only=all_post_only))
        if fault:
            return fault
        results = []
        for payload in payloads:
            try:
                results.append(self._place_one(payload, creds))
            except (AuthError, SimReject, _Invalid) as exc:
                results.append(_failed_order(exc.message))
        return Reply(200, results, hang_secs=self.faults.take_hang_secs())

    def cancel_order(self, req: Request, creds: ApiCredentials) -> Reply:
        body = req.json()
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("orderID"), str)
            or not body["orderID"]
        ):
            return error(400, "Invalid orderID")
        fault = _fault(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(200, self.exchange.cancel_orders(creds.api_key, [body["orderID"]]))

    def cancel_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        ids = req.json()
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            return error(400, "Invalid orderID")
        if len(ids) > MAX_CANCEL_IDS:
            return error(400, f"Too many orders in payload, max allowed: {MAX_CANCEL_IDS}")
        fault = _fault(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(200, self.exchange.cancel_orders(creds.api_key, ids))

    def cancel_all(self, req: Request, creds: ApiCredentials) -> Reply:
        fault = _fault(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(200, self.exchange.cancel_all(creds.api_key))

    def cancel_market_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        body = req.json() or {}
        if not isinstance(body, dict):
            return error(400, "Invalid payload")
        fault = _fault(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(
            200,
            self.exchange.cancel_market_orders(
                creds.api_key, body.get("market") or None, body.get("asset_id") or None
            ),
        )

    # ------------------------------------------------------------------ queries

    def open_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        q = req.query
        rows = self.exchange.open_orders(
            creds.api_key,
            order_id=q.get("id") or None,
            market=q.get("market") or None,
            asset_id=q.get("asset_id") or None,
        )
        try:
            return Reply(200, views.paginate(rows, q.get("next_cursor"), ORDERS_PAGE))
        except ValueError:
            return error(400, "invalid next_cursor")

    def get_order(self, req: Request, creds: ApiCredentials, order_id: str) -> Reply:
        row = self.exchange.get_order(creds.api_key, order_id)
        if row is None:
            return error(404, "order not found")
        return Reply(200, row)

    def trades(self, req: Request, creds: ApiCredentials) -> Reply:
        q = req.query
        try:
            after = int(q["after"]) if q.get("after") else None
            before = int(q["before"]) if q.get("before") else None
        except ValueError:
            return error(400, "invalid after/before")
        rows = self.exchange.trades(
            creds.api_key,
            trade_id=q.get("id") or None,
            market=q.get("market") or None,
            asset_id=q.get("asset_id") or None,
            after=after,
            before=before,
        )
        maker = (q.get("maker_address") or "").lower()
        if maker:
            rows = [r for r in rows if str(r.get("maker_address", "")).lower() == maker]
        try:
            return Reply(200, views.paginate(rows, q.get("next_cursor"), ORDERS_PAGE))
        except ValueError:
            return error(400, "invalid next_cursor")

    def heartbeat(self, req: Request, creds: ApiCredentials) -> Reply:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("heartbeat_id", ""), str):
            return error(400, "Invalid payload")
        ok, hb_id = self.heartbeats.beat(creds.api_key, body.get("heartbeat_id", ""))
        if not ok:
            return Reply(400, {"error_msg": "Invalid Heartbeat ID", "heartbeat_id": hb_id})
        return Reply(200, {"heartbeat_id": hb_id})

    def balance_allowance(self, req: Request, creds: ApiCredentials) -> Reply:
        """Balance in 6-dp base units for the key's funder (the last order ``maker`` seen, else
        the EOA). Key names vary by era; both ``allowance`` and ``allowances`` are sent."""
        funder = self._funder_of.get(creds.api_key, creds.address)
        asset_type = (req.query.get("asset_type") or "COLLATERAL").upper()
        if asset_type == "COLLATERAL":
            amount = self.exchange.balance(funder)
        else:
            token = req.query.get("token_id") or ""
            positions = self.exchange.ledger(funder).get("positions", {})
            amount = Decimal(str(positions.get(token, "0")))
        allowed = self.keys.accounts.allowance(funder)  # sim.yaml extra.no_allowance
        allowances = {
            eip712.exchange_address(False): allowed,
            eip712.exchange_address(True): allowed,
        }
        return Reply(
            200,
            {
                "balance": str(int(amount * 1_000_000)),
                "allowance": allowed,
                "allowances": allowances,
            },
        )

    # ------------------------------------------------------------------ Data API and Gamma

    def positions(self, req: Request) -> Reply:
        user = req.query.get("user")
        if not user:
            return error(400, "user is required")
        rows = self.exchange.positions(user)
        markets = req.query.get("market")
        if markets:
            wanted = set(markets.split(","))
            rows = [r for r in rows if r.get("conditionId") in wanted]
        try:
            threshold = float(req.query.get("sizeThreshold", "1"))
        except ValueError:
            return error(400, "invalid sizeThreshold")
        return Reply(200, [r for r in rows if abs(r.get("size", 0)) >= threshold])

    def _gamma_market(self, m) -> dict:
        snap = self.exchange.book_snapshot(m.yes_token)
        bid, ask = _top(snap)
        last = snap.get("last_trade_price")
        event = None
        if m.event_slug and m.event_slug in self.exchange.events:
            event = views.gamma_event_header(self.exchange.events[m.event_slug])
        return views.gamma_market(
            m, yes_bid=bid, yes_ask=ask, last=Decimal(last) if last else None, event=event
        )

    def gamma_market_by_slug(self, req: Request, slug: str) -> Reply:
        for m in list(self.exchange.markets.values()):
            if m.slug == slug:
                return Reply(200, self._gamma_market(m))
        return error(404, "market not found")

    def gamma_markets(self, req: Request) -> Reply:
        slugs = set(_multi(req, "slug"))
        cids = set(_multi(req, "condition_ids"))
        tokens = set(_multi(req, "clob_token_ids"))
        out = []
        for m in list(self.exchange.markets.values()):
            if slugs and m.slug not in slugs:
                continue
            if cids and m.condition_id not in cids:
                continue
            if tokens and not ({m.yes_token, m.no_token} & tokens):
                continue
            out.append(self._gamma_market(m))
        return Reply(200, out)

    def _gamma_event(self, e) -> dict:
        markets = [
            self._gamma_market(self.exchange.markets[cid])
            for cid in e.condition_ids
            if cid in self.exchange.markets
        ]
        return views.gamma_event(e, markets)

    def gamma_event_by_slug(self, req: Request, slug: str) -> Reply:
        e = self.exchange.events.get(slug)
        if e is None:
            return error(404, "event not found")
        return Reply(200, self._gamma_event(e))

    def gamma_events(self, req: Request) -> Reply:
        slugs = set(_multi(req, "slug"))
        return Reply(
            200,
            [
                self._gamma_event(e)
                for e in list(self.exchange.events.values())
                if not slugs or e.slug in slugs
            ],
        )

    # ------------------------------------------------------------------ /_sim control

    def control(self, req: Request) -> Reply:
        try:
            return Reply(200, self.faults.apply(req.json() or {}))
        except (ValueError, KeyError, TypeError) as exc:
            return error(400, f"bad control request: {exc}")

    def ledger(self, req: Request) -> Reply:
        user = req.query.get("user")
        if not user:
            return error(400, "user is required")
        return Reply(200, self.exchange.ledger(user))

    def bench_markets(self, req: Request) -> Reply:
        body = req.json() or {}
        try:
            count, levels = int(body.get("count", 1)), int(body.get("levels", 10))
            if not (1 <= count <= 2000 and 1 <= levels <= 200):
                raise ValueError("count in 1..2000, levels in 1..200")
        except (ValueError, TypeError) as exc:
            return error(400, f"bad bench_markets request: {exc}")
        return Reply(200, {"markets": self.bench.create_markets(count, levels, self.exchange)})

    def flood(self, req: Request) -> Reply:
        body = req.json() or {}
        try:
            rate, count = float(body.get("rate", 1000)), int(body.get("count", 1000))
            if not (rate > 0 and count > 0):
                raise ValueError("rate and count must be positive")
            started = self.bench.start_flood(rate=rate, count=count)
        except (ValueError, TypeError, RuntimeError) as exc:
            return error(400, f"bad flood request: {exc}")
        return Reply(200, started)


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.status = 400


def _parse_order_payload(payload: Any) -> tuple[dict, str, bool]:
    if not isinstance(payload, dict) or not isinstance(payload.get("order"), dict):
        raise _Invalid(INVALID_PAYLOAD)
    order = payload["order"]
    for name, kind in _ORDER_FIELDS.items():
        value = order.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _Invalid(INVALID_PAYLOAD)
    if order["side"] not in ("BUY", "SELL") or not isinstance(payload.get("owner"), str):
        raise _Invalid(INVALID_PAYLOAD)
    order_type = payload.get("orderType", "GTC")
    post_only = payload.get("postOnly", False)
    if order_type not in ORDER_TYPES or not isinstance(post_only, bool):
        raise _Invalid(INVALID_PAYLOAD)
    try:
        if (
            int(order["makerAmount"]) <= 0
            or int(order["takerAmount"]) <= 0
            or int(order.get("expiration", "0")) < 0
        ):
            raise _Invalid(INVALID_PAYLOAD)
    except (ValueError, TypeError):
        raise _Invalid(INVALID_PAYLOAD) from None
    return order, order_type, post_only


def _failed_order(message: str) -> dict:
    return {
        "success": False,
        "errorMsg": message,
        "orderID": "",
        "takingAmount": "",
        "makingAmount": "",
        "status": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }


def _top(snapshot: dict) -> tuple[Decimal | None, Decimal | None]:
    """Best bid and ask of a REST-shaped book (best level is LAST in each array)."""
    bids = [Decimal(level["price"]) for level in snapshot.get("bids", [])]
    asks = [Decimal(level["price"]) for level in snapshot.get("asks", [])]
    return (max(bids) if bids else None, min(asks) if asks else None)


def _multi(req: Request, name: str) -> list[str]:
    """Gamma repeats list parameters (``slug=a&slug=b``) or comma-joins them."""
    items = req.query_lists.get(name) or ([req.query[name]] if req.query.get(name) else [])
    return [part for item in items for part in item.split(",") if part]


def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "localhost")
