"""CLOB V2 REST client: pooled sessions per lane, explicit timeouts, every failure classified.

Bodies are serialised once as compact JSON and that exact text is both sent and HMAC-signed
(protocol reference 1.3). The client never retries by itself; it raises a ``pmbot.errors`` class
(``pmbot.venue.rest_errors``): ``TransientError`` (429, 425, 5xx, timeouts of idempotent calls,
connections never opened), ``VenueModeError`` (503 cancel-only / post-only / disabled),
``RejectedError`` (other 4xx), ``UnknownOutcomeError`` (an order submit that may have reached the
venue), ``FatalError`` (401). Cancels and posts use their own sessions (``rest_transport``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pmbot import ratelimit
from pmbot.errors import RejectedError, TransientError, UnknownOutcomeError
from pmbot.model import dec
from pmbot.venue.rest_answers import (
    MAX_BATCH_CANCELS,
    MAX_BATCH_ORDERS,
    Begun,
    cancel_answer,
    check_batch,
    post_results,
    shape_cancel,
    shape_posted,
)
from pmbot.venue.rest_errors import classify_http_error, compact_json
from pmbot.venue.rest_http import END_CURSOR, FIRST_CURSOR, MAX_PAGES, ClobHttp, Prepared
from pmbot.venue.wire_clob import (
    BalanceAllowance,
    parse_balance_allowance,
    parse_version,
)

__all__ = [
    "END_CURSOR",
    "FIRST_CURSOR",
    "MAX_BATCH_CANCELS",
    "MAX_BATCH_ORDERS",
    "MAX_PAGES",
    "Begun",
    "ClobRest",
    "cancel_answer",
    "classify_http_error",
    "compact_json",
    "post_results",
]

log = logging.getLogger(__name__)


class ClobRest(ClobHttp):
    """Thin CLOB V2 REST client (transport in ``ClobHttp``). Cancels go on the cancel lane's
    session, posts on the create lane's, everything else on the default one."""

    # ------------------------------------------------------------------ public market data

    def get_time(self) -> int:
        value = self._request("GET", "/time", endpoint="time")
        if isinstance(value, dict):
            value = value.get("time") or value.get("timestamp")
        return int(value)

    def get_book(self, token_id: str) -> dict:
        return self._request("GET", "/book", params={"token_id": token_id}, endpoint="book")

    def get_books(self, token_ids: list[str]) -> list[dict]:
        out: list[dict] = []
        for start in range(0, len(token_ids), 500):  # POST /books takes at most 500 items
            chunk = [{"token_id": t} for t in token_ids[start : start + 500]]
            out.extend(self._request("POST", "/books", body=chunk, endpoint="books") or [])
        return out

    def tick_size(self, token_id: str) -> Decimal:
        body = self._request(
            "GET", "/tick-size", params={"token_id": token_id}, endpoint="tick_size"
        )
        return dec(body["minimum_tick_size"])

    def neg_risk(self, token_id: str) -> bool:
        body = self._request("GET", "/neg-risk", params={"token_id": token_id}, endpoint="neg_risk")
        return bool(body["neg_risk"])

    def clob_market(self, condition_id: str) -> dict:
        return self._request("GET", f"/clob-markets/{condition_id}", endpoint="clob_market")

    def market(self, condition_id: str) -> dict:
        return self._request("GET", f"/markets/{condition_id}", endpoint="market")

    def list_markets(self) -> list[dict]:
        return self._paged("/markets", {}, private=False, endpoint="markets")

    # ------------------------------------------------------------------ orders

    def post_orders(self, payloads: list[dict]) -> list[dict | None]:
        """``POST /orders`` (at most 15): the per-order results in order. HTTP 200 does not mean
        every order was accepted: each result as ``post_results`` reads it."""
        if not payloads:
            return []
        check_batch(payloads)
        result = self._request(
            "POST",
            "/orders",
            body=payloads,
            private=True,
            submit=True,
            family=ratelimit.ORDERS,
            cost=len(payloads),
            endpoint="post_orders",
            lane="create",
        )
        return shape_posted(result, payloads)

    def begin_post(self, payloads: list[dict]) -> Begun | None:
        """``post_orders`` written now on the create lane's lean connection, its answer read later
        (``Begun.finish``, on any thread); None, nothing sent, when it cannot go at once (issue
        20)."""
        check_batch(payloads)
        pending = self.begin(
            "POST",
            "/orders",
            body=payloads,
            family=ratelimit.ORDERS,
            cost=len(payloads),
            endpoint="post_orders",
            lane="create",
            submit=True,
        )
        return None if pending is None else Begun(pending, lambda r: shape_posted(r, payloads))

    def begin_cancel(self, order_ids: list[str], lane: str = "cancel") -> Begun | None:
        """``cancel_orders`` (one request, at most 1000 ids) written now on ``lane``'s lean
        connection, its answer read later; None, nothing sent, when it cannot go at once."""
        if not order_ids or len(order_ids) > MAX_BATCH_CANCELS:
            return None
        pending = self.begin(
            "DELETE",
            "/orders",
            body=list(order_ids),
            family=ratelimit.CANCELS,
            cost=len(order_ids),
            endpoint="cancel_orders",
            lane=lane,
            submit=False,
        )
        return None if pending is None else Begun(pending, shape_cancel)

    def post_order(self, payload: dict) -> dict:
        result = self._request(
            "POST",
            "/order",
            body=payload,
            private=True,
            submit=True,
            family=ratelimit.ORDERS,
            endpoint="post_order",
            lane="create",
        )
        if not isinstance(result, dict):
            raise UnknownOutcomeError(
                f"post_order: unexpected response shape {type(result).__name__}"
            )
        return result

    def prepare_cancel(self, order_ids: list[str]) -> Prepared | None:
        """``cancel_orders`` of these ids (at most 1000) built ahead for the pull lane's connection
        (``send_cancel``, issue 20); None when that lane has no lean connection (a proxy)."""
        if not order_ids or len(order_ids) > MAX_BATCH_CANCELS:
            return None
        body = list(order_ids)
        return self.prepare("DELETE", "/orders", body=body, lane="pull", endpoint="pull_cancel")

    def send_cancel(self, prepared: Prepared, count: int, lane: str = "pull") -> Begun | None:
        """Write a ``prepare_cancel``d request now on ``lane``'s connection (``pull`` or
        ``pull2``: the bytes are the same); None, nothing sent, if it cannot go at once."""
        if lane != prepared.lane:
            prepared = replace(prepared, lane=lane)
        pending = self.send_prepared(prepared, ratelimit.CANCELS, count)
        return None if pending is None else Begun(pending, shape_cancel)

    def cancel_orders(self, order_ids: list[str]) -> dict:
        """``DELETE /orders`` with a bare JSON array (at most 1000 ids per request; split here),
        the answers merged as ``cancel_answer`` shapes them."""
        merged: dict = {
            "canceled": [],
            "not_canceled": {},
            "gone": [],
            "still_live": [],
            "reason_kinds": {},
        }
        for start in range(0, len(order_ids), MAX_BATCH_CANCELS):
            chunk = list(order_ids[start : start + MAX_BATCH_CANCELS])
            result = self._request(
                "DELETE",
                "/orders",
                body=chunk,
                private=True,
                family=ratelimit.CANCELS,
                cost=len(chunk),
                endpoint="cancel_orders",
                lane="cancel",
            )
            part = shape_cancel(result)
            for key in ("canceled", "gone", "still_live"):
                merged[key].extend(part[key])
            merged["not_canceled"].update(part["not_canceled"])
            for kind, count in part["reason_kinds"].items():
                merged["reason_kinds"][kind] = merged["reason_kinds"].get(kind, 0) + count
        return merged

    def cancel_order(self, order_id: str) -> dict:
        return (
            self._request(
                "DELETE",
                "/order",
                body={"orderID": order_id},
                private=True,
                family=ratelimit.CANCELS,
                endpoint="cancel_order",
                lane="cancel",
            )
            or {}
        )

    def cancel_all(self) -> dict:
        result = self._request(
            "DELETE",
            "/cancel-all",
            private=True,
            family=ratelimit.CANCELS,
            endpoint="cancel_all",
            lane="cancel",
        )
        return cancel_answer(result or {}, "cancel_all")

    def cancel_market_orders(self, market: str | None = None, asset_id: str | None = None) -> dict:
        body = {}
        if market:
            body["market"] = market
        if asset_id:
            body["asset_id"] = asset_id
        if not body:
            raise ValueError("give market or asset_id")
        result = (
            self._request(
                "DELETE",
                "/cancel-market-orders",
                body=body,
                private=True,
                family=ratelimit.CANCELS,
                endpoint="cancel_market_orders",
                lane="cancel",
            )
            or {}
        )
        return cancel_answer(result, "cancel_market_orders")

    def open_orders(self, *, market: str | None = None, asset_id: str | None = None) -> list[dict]:
        params = {}
        if market:
            params["market"] = market
        if asset_id:
            params["asset_id"] = asset_id
        return self._paged("/data/orders", params, private=True, endpoint="open_orders")

    def get_order(self, order_id: str) -> dict | None:
        result = self._request(
            "GET", f"/data/order/{order_id}", private=True, endpoint="get_order", allow_404=True
        )
        return result if isinstance(result, dict) and result else None

    def trades(self, *, after: int | None = None, market: str | None = None) -> list[dict]:
        params: dict = {}
        if after is not None:
            params["after"] = int(after)
        if market:
            params["market"] = market
        return self._paged("/data/trades", params, private=True, endpoint="trades")

    # ------------------------------------------------------------------ order version, balance

    def order_version(self) -> int:
        """``GET /version``: the order version the venue wants signed (no key = 2)."""
        return parse_version(self._request("GET", "/version", endpoint="version"))

    def balance_allowance(
        self, signature_type: int, asset_type: str = "COLLATERAL", token_id: str = ""
    ) -> BalanceAllowance:
        """``GET /balance-allowance`` for pUSD (or an outcome token, ``CONDITIONAL``)."""
        return parse_balance_allowance(
            self._balance("/balance-allowance", signature_type, asset_type, token_id)
        )

    def update_balance_allowance(
        self, signature_type: int, asset_type: str = "COLLATERAL", token_id: str = ""
    ) -> None:
        """``GET /balance-allowance/update``: make the venue re-read the chain (after a deposit or
        an approval)."""
        self._balance("/balance-allowance/update", signature_type, asset_type, token_id)

    def _balance(self, path: str, signature_type: int, asset_type: str, token_id: str) -> Any:
        params: dict = {"asset_type": asset_type, "signature_type": int(signature_type)}
        if token_id:
            params["token_id"] = token_id
        return self._request("GET", path, params=params, private=True, endpoint="balance_allowance")

    def heartbeat(self, heartbeat_id: str) -> str:
        """``POST /v1/heartbeats``; returns the id to send next time. A stale id is answered with
        400 ``Invalid Heartbeat ID`` carrying the expected id: resend once with that id."""
        for _ in range(2):
            try:
                body = self._request(
                    "POST",
                    "/v1/heartbeats",
                    body={"heartbeat_id": heartbeat_id},
                    private=True,
                    endpoint="heartbeat",
                )
            except RejectedError as exc:
                expected = getattr(exc, "expected_heartbeat_id", None)
                if expected is None or expected == heartbeat_id:
                    raise
                log.info("heartbeat id was stale; resending with the venue's expected id")
                heartbeat_id = expected
                continue
            if not isinstance(body, dict) or not isinstance(body.get("heartbeat_id"), str):
                raise TransientError("heartbeat: malformed response")
            return body["heartbeat_id"]
        raise RejectedError("heartbeat: venue rejected the expected id too")
