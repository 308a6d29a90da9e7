"""Private CLOB endpoints of the simulator: orders, cancels, order and trade queries,
heartbeats and balances (L2-authenticated by ``RestApi``), plus L1 API-key creation.

Checks done here, before the engine sees an order, in the venue's order: body shape
(``Invalid order payload``), owner == API key, order signature (types 0/1/2 must recover to the
API key's EOA; type 3 via the ERC-7739 wrapper), then the order id = EIP-712 order digest.
Everything else (tick, size, balance, crossing, FOK/FAK) is the engine's, raised as SimReject
with the venue's exact strings. Fault knobs answer before an order or cancel is processed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmbot import eip712
from pmbot.sim import views
from pmbot.sim.auth import (
    OWNER_MISMATCH_ERROR,
    ApiCredentials,
    AuthError,
    verify_l1,
    verify_order_signature,
)
from pmbot.sim.order_checks import INVALID_PAYLOAD, ORDER_TYPES, SimReject
from pmbot.sim.ports import ExchangeApi, FaultGate, HeartbeatRegistry, KeyRegistry
from pmbot.sim.rest_market_data import MarketDataRoutes
from pmbot.sim.rest_messages import Reply, Request, error, fault_reply
from pmbot.sim.venue_knobs import MATCHING_DELAY_REASON

MAX_BATCH_ORDERS = 15
MAX_CANCEL_IDS = 1000
ORDERS_PAGE = 100
MAX_UINT256 = str(2**256 - 1)
_ORDER_FIELDS: dict[str, type] = {
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

PrivateHandler = Callable[[Request, ApiCredentials], Reply]


class OrderRoutes:
    def __init__(
        self,
        *,
        exchange: ExchangeApi,
        keys: KeyRegistry,
        faults: FaultGate,
        heartbeats: HeartbeatRegistry,
        market_data: MarketDataRoutes,
        chain_id: int,
    ) -> None:
        self.exchange = exchange
        self.keys = keys
        self.faults = faults
        self.heartbeats = heartbeats
        self.market_data = market_data
        self.chain_id = chain_id
        self._funder_of: dict[str, str] = {}  # api key -> last order maker seen (balances)

    def create_api_key(self, req: Request) -> Reply:
        try:
            address, nonce = verify_l1(
                req.headers, chain_id=self.chain_id, accounts=self.keys.accounts
            )
        except AuthError as exc:
            return error(exc.status, exc.message)
        return Reply(200, self.keys.derive(address, nonce).as_response())

    def _place_one(self, payload: Any, creds: ApiCredentials) -> dict:
        """Validate and place one ``{"order", "owner", "orderType", ...}`` payload; raises
        AuthError / SimReject / _Invalid with the venue's message."""
        order, order_type, post_only = _parse_order_payload(payload)
        if payload["owner"] != creds.api_key:
            raise AuthError(OWNER_MISMATCH_ERROR, status=400)
        market = self.market_data.market_of(order["tokenId"])
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
        payload = req.json()
        post_only = isinstance(payload, dict) and payload.get("postOnly") is True
        fault = fault_reply(self.faults.before_order(all_post_only=post_only))
        if fault:
            return fault
        refusal = self._version_refusal()
        if refusal:
            return refusal
        try:
            result = self._place_one(payload, creds)
        except (AuthError, SimReject, _Invalid) as exc:
            return Reply(getattr(exc, "status", 400), {"error": exc.message})
        return Reply(200, result, hang_secs=self.faults.take_hang_secs())

    def post_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        items = req.json()
        if not isinstance(items, list) or not items:
            return error(400, INVALID_PAYLOAD)
        if len(items) > MAX_BATCH_ORDERS:
            return error(
                400, f"Too many orders in payload: {len(items)}, max allowed: {MAX_BATCH_ORDERS}"
            )
        all_post_only = all(isinstance(p, dict) and p.get("postOnly") is True for p in items)
        fault = fault_reply(self.faults.before_order(all_post_only=all_post_only))
        if fault:
            return fault
        refusal = self._version_refusal()
        if refusal:
            return refusal
        results = []
        for payload in items:
            try:
                results.append(self._place_one(payload, creds))
            except (AuthError, SimReject, _Invalid) as exc:
                results.append(_failed_order(exc.message))
        return Reply(200, results, hang_secs=self.faults.take_hang_secs())

    def _version_refusal(self) -> Reply | None:
        """Orders signed for version 2 while ``GET /version`` asks for another: the whole request
        is refused (py_clob_client_v2 looks for the error on the answer object, batch or not)."""
        refusal = self.faults.venue.order_version_refusal()
        return None if refusal is None else error(400, refusal)

    def cancel_order(self, req: Request, creds: ApiCredentials) -> Reply:
        body = req.json()
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("orderID"), str)
            or not body["orderID"]
        ):
            return error(400, "Invalid orderID")
        fault = fault_reply(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(200, self._cancel_ids(creds.api_key, [body["orderID"]]))

    def cancel_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        ids = req.json()
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            return error(400, "Invalid orderID")
        if len(ids) > MAX_CANCEL_IDS:
            return error(400, f"Too many orders in payload, max allowed: {MAX_CANCEL_IDS}")
        fault = fault_reply(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(200, self._cancel_ids(creds.api_key, ids))

    def _cancel_ids(self, owner: str, ids: list[str]) -> dict:
        """Cancel by id; with the cancel_delay knob, live orders meet the matching delay: answered
        ``not_canceled`` with a reason that is not ``already canceled or matched``, left live."""
        live = [i for i in ids if (self.exchange.get_order(owner, i) or {}).get("status") == "LIVE"]
        if not live or not self.faults.venue.take_cancel_delay():
            return self.exchange.cancel_orders(owner, ids)
        answer = self.exchange.cancel_orders(owner, [i for i in ids if i not in live])
        answer["not_canceled"].update(dict.fromkeys(live, MATCHING_DELAY_REASON))
        return answer

    def cancel_all(self, req: Request, creds: ApiCredentials) -> Reply:
        fault = fault_reply(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(200, self.exchange.cancel_all(creds.api_key))

    def cancel_market_orders(self, req: Request, creds: ApiCredentials) -> Reply:
        body = req.json() or {}
        if not isinstance(body, dict):
            return error(400, "Invalid payload")
        fault = fault_reply(self.faults.before_cancel())
        if fault:
            return fault
        return Reply(
            200,
            self.exchange.cancel_market_orders(
                creds.api_key, body.get("market") or None, body.get("asset_id") or None
            ),
        )

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
