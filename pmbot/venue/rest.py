"""CLOB V2 REST client: one ``requests.Session`` (connection reuse), explicit timeouts, every failure classified.

Bodies are serialised once as compact JSON (``separators=(",", ":")``) and that exact text is both sent
and HMAC-signed (protocol reference 1.3). The client never retries by itself; it raises a
``pmbot.errors`` class telling the caller what to do:

- ``TransientError``: 429 (``retry_after`` from ``Retry-After``), 425 (engine restarting), 5xx other than
  the mode messages (``500 order timed out`` is documented as safe to resubmit), a timeout or
  connection error on an idempotent call, or a connection that could not be opened at all.
- ``VenueModeError``: 503 "cancel-only" (mode ``cancel_only``), 503 ``post_only_mode`` (``post_only``, with
  ``retry_after_seconds``), 503 "Trading is currently disabled" (``disabled``).
- ``RejectedError``: other 4xx business rejections (tick, size, balance, crossing, payload).
- ``UnknownOutcomeError``: an order submit whose request may have reached the venue (read timeout,
  connection reset after sending). The order must be treated as live until reconciled.
- ``FatalError``: 401 (bad API key / L1 headers).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import requests

from pmbot import ratelimit
from pmbot.errors import (
    FatalError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    VenueModeError,
)
from pmbot.model import dec
from pmbot.venue.auth import ApiCreds, l2_headers

log = logging.getLogger(__name__)

FIRST_CURSOR = "MA=="
END_CURSOR = "LTE="
MAX_BATCH_ORDERS = 15
MAX_BATCH_CANCELS = 1000
MAX_PAGES = 10_000  # guard against a venue that never sends the end cursor


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _retry_after(response: requests.Response, body: Any) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass  # an HTTP date; the executor's own backoff applies
    if isinstance(body, dict):
        seconds = body.get("retry_after_seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            return max(0.0, float(seconds))
    return None


def _error_text(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        for key in ("error", "error_msg", "errorMsg", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        return compact_json(body)[:300]
    if isinstance(body, str) and body:
        return body[:300]
    return fallback


def classify_http_error(response: requests.Response) -> Exception:
    """The ``pmbot.errors`` instance for a non-2xx response (see the module docstring)."""
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    text = _error_text(body, response.reason or f"HTTP {status}")
    retry_after = _retry_after(response, body)
    lowered = text.lower()
    code = body.get("code", "") if isinstance(body, dict) else ""
    if status == 401:
        return FatalError(f"HTTP 401: {text}")
    if status in (425, 429):
        return TransientError(f"HTTP {status}: {text}", status=status, retry_after=retry_after)
    if status == 503:
        if code == "post_only_mode" or "post-only mode" in lowered:
            return VenueModeError(text, mode="post_only", status=status, retry_after=retry_after)
        if "cancel-only" in lowered or "cancel only" in lowered:
            return VenueModeError(text, mode="cancel_only", status=status, retry_after=retry_after)
        if "trading is currently disabled" in lowered:
            return VenueModeError(text, mode="disabled", status=status, retry_after=retry_after)
        return TransientError(f"HTTP 503: {text}", status=status, retry_after=retry_after)
    if status >= 500:
        return TransientError(f"HTTP {status}: {text}", status=status, retry_after=retry_after)
    rejected = RejectedError(f"HTTP {status}: {text}", status=status)
    if (
        isinstance(body, dict)
        and isinstance(body.get("heartbeat_id"), str)
        and "heartbeat" in lowered
    ):
        rejected.expected_heartbeat_id = body[
            "heartbeat_id"
        ]  # 400 "Invalid Heartbeat ID" names the id it wants
    return rejected


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request cannot have reached the venue (connect refused / connect timeout / DNS)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", None)  # urllib3 MaxRetryError.reason
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    return isinstance(inner, (NewConnectionError, ConnectTimeoutError)) or isinstance(
        reason, (NewConnectionError, ConnectTimeoutError)
    )


class ClobRest:
    """Thin CLOB V2 REST client. Thread-safe enough for the executor, heartbeat and reconcile threads:
    the session's connection pool is shared, no other mutable state except ``last_rate_limit``."""

    def __init__(
        self,
        clob_url: str,
        *,
        creds: ApiCreds | None,
        address: str,
        timeout: tuple[float, float] = (3.05, 5.0),
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
        rate_budget: ratelimit.RateBudget | None = None,
    ) -> None:
        self.base = clob_url.rstrip("/")
        self.creds = creds
        self.address = address
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "pmbot")
        self._clock = clock
        self._metrics = metrics
        self.rate_budget = rate_budget
        self.last_rate_limit: dict = {}

    def __repr__(self) -> str:
        return f"ClobRest({self.base!r}, address={self.address!r})"

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: Any = None,
        private: bool = False,
        submit: bool = False,
        family: str = ratelimit.READS,
        cost: float = 1.0,
        endpoint: str = "",
        allow_404: bool = False,
    ) -> Any:
        """Send one request; return parsed JSON (or text) on 2xx, raise a classified error otherwise.

        ``submit`` marks a non-idempotent order submit: once bytes may have left, a timeout or reset
        is an unknown outcome, not a transient error.
        """
        endpoint = endpoint or f"{method} {path}"
        text = None if body is None else compact_json(body)
        headers = {"Content-Type": "application/json"} if text is not None else {}
        if private:
            if self.creds is None:
                raise FatalError(f"{endpoint} needs API credentials")
            headers.update(
                l2_headers(self.creds, self.address, method, path, text, int(self._clock()))
            )
        if self.rate_budget is not None:
            self.rate_budget.acquire(family, cost)
        started = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self.base + path,
                params=params,
                data=None if text is None else text.encode("utf-8"),
                headers=headers,
                timeout=self.timeout,
            )
        except requests.exceptions.ConnectionError as exc:
            # ReadTimeout is not a ConnectionError; ConnectTimeout is both (checked first in _never_connected).
            if submit and not _never_connected(exc):
                raise UnknownOutcomeError(
                    f"{endpoint}: connection lost after send ({type(exc).__name__})"
                ) from None
            raise TransientError(f"{endpoint}: connection failed ({type(exc).__name__})") from None
        except requests.exceptions.Timeout as exc:
            if submit:
                raise UnknownOutcomeError(
                    f"{endpoint}: no answer within {self.timeout[1]} s"
                ) from None
            raise TransientError(f"{endpoint}: timed out ({type(exc).__name__})") from None
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"{endpoint}: request failed ({type(exc).__name__})") from None
        finally:
            if self._metrics is not None:
                self._metrics.exec_request_seconds.labels(endpoint=endpoint).observe(
                    time.perf_counter() - started
                )
        self._observe_rate_headers(family, response)
        if allow_404 and response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            raise classify_http_error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def _observe_rate_headers(self, family: str, response: requests.Response) -> None:
        if "Poly-RateLimit-Remaining" not in response.headers:
            return
        parsed: dict | None = None
        if self.rate_budget is not None:
            parsed = self.rate_budget.observe(family, response.headers)
        if parsed is None:
            parsed = {
                k: v for k, v in response.headers.items() if k.lower().startswith("poly-ratelimit-")
            }
        self.last_rate_limit = dict(parsed, family=family)

    def _paged(self, path: str, params: dict, *, private: bool, endpoint: str) -> list[dict]:
        """Follow ``next_cursor`` from ``MA==`` until ``LTE=`` (reference 1.8)."""
        out: list[dict] = []
        cursor = FIRST_CURSOR
        for _ in range(MAX_PAGES):
            page = self._request(
                "GET",
                path,
                params={**params, "next_cursor": cursor},
                private=private,
                endpoint=endpoint,
            )
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise TransientError(f"{endpoint}: malformed page")
            out.extend(page["data"])
            nxt = page.get("next_cursor")
            if not nxt or nxt == END_CURSOR or nxt == cursor:
                return out
            cursor = nxt
        raise TransientError(f"{endpoint}: more than {MAX_PAGES} pages")

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

    def post_orders(self, payloads: list[dict]) -> list[dict]:
        """``POST /orders`` (at most 15). Returns the per-order results in order; HTTP 200 does not mean
        every order was accepted: read each result's ``success``/``errorMsg``/``orderID``."""
        if not payloads:
            return []
        if len(payloads) > MAX_BATCH_ORDERS:
            raise ValueError(f"at most {MAX_BATCH_ORDERS} orders per batch, got {len(payloads)}")
        result = self._request(
            "POST",
            "/orders",
            body=payloads,
            private=True,
            submit=True,
            family=ratelimit.ORDERS,
            cost=len(payloads),
            endpoint="post_orders",
        )
        if not isinstance(result, list):
            raise UnknownOutcomeError(
                f"post_orders: unexpected response shape {type(result).__name__}"
            )
        return result

    def post_order(self, payload: dict) -> dict:
        result = self._request(
            "POST",
            "/order",
            body=payload,
            private=True,
            submit=True,
            family=ratelimit.ORDERS,
            endpoint="post_order",
        )
        if not isinstance(result, dict):
            raise UnknownOutcomeError(
                f"post_order: unexpected response shape {type(result).__name__}"
            )
        return result

    def cancel_orders(self, order_ids: list[str]) -> dict:
        """``DELETE /orders`` with a bare JSON array (at most 1000 ids per request; split here)."""
        merged: dict = {"canceled": [], "not_canceled": {}}
        for start in range(0, len(order_ids), MAX_BATCH_CANCELS):
            chunk = list(order_ids[start : start + MAX_BATCH_CANCELS])
            result = (
                self._request(
                    "DELETE",
                    "/orders",
                    body=chunk,
                    private=True,
                    family=ratelimit.CANCELS,
                    cost=len(chunk),
                    endpoint="cancel_orders",
                )
                or {}
            )
            merged["canceled"].extend(result.get("canceled") or [])
            merged["not_canceled"].update(result.get("not_canceled") or {})
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
            )
            or {}
        )

    def cancel_all(self) -> dict:
        result = (
            self._request(
                "DELETE",
                "/cancel-all",
                private=True,
                family=ratelimit.CANCELS,
                endpoint="cancel_all",
            )
            or {}
        )
        return {
            "canceled": list(result.get("canceled") or []),
            "not_canceled": dict(result.get("not_canceled") or {}),
        }

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
            )
            or {}
        )
        return {
            "canceled": list(result.get("canceled") or []),
            "not_canceled": dict(result.get("not_canceled") or {}),
        }

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

    def heartbeat(self, heartbeat_id: str) -> str:
        """``POST /v1/heartbeats``; returns the id to send next time. A stale id is answered with 400
        ``Invalid Heartbeat ID`` carrying the expected id: resend once with that id."""
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
