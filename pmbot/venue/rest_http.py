"""The CLOB REST client's transport (``ClobHttp``): L2 headers, the rate budget, one pooled session
per lane, and every failure classified (``pmbot.venue.rest_errors``); cursor paging. The endpoints
are in ``pmbot.venue.rest.ClobRest``."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import requests

from pmbot import ratelimit
from pmbot.errors import FatalError, TransientError, UnknownOutcomeError
from pmbot.venue.auth import ApiCreds, l2_headers
from pmbot.venue.rest_errors import classify_http_error, compact_json, never_connected
from pmbot.venue.rest_fastlane import FastLane, LaneLost, LaneNotSent, LaneTimeout
from pmbot.venue.rest_transport import lane_sessions, when_sent

FIRST_CURSOR = "MA=="
END_CURSOR = "LTE="
MAX_PAGES = 10_000  # guard against a venue that never sends the end cursor
FAST_LANES = ("cancel", "create")


def _name(exc: Exception) -> str:
    return str(exc) if isinstance(exc, (LaneLost, LaneTimeout)) else type(exc).__name__


class ClobHttp:
    """Thin CLOB V2 REST client. Thread-safe enough for the executor lanes, heartbeat and reconcile
    threads: cancels and posts each have their own pooled session (``rest_transport``), everything
    else shares the default one; no other mutable state except ``last_rate_limit``."""

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
        fast_lanes: bool = True,
    ) -> None:
        self.base = clob_url.rstrip("/")
        self.creds = creds
        self.address = address
        self.timeout = timeout
        self._sessions = lane_sessions(self.base, session)
        # The lanes' lean path (rest_fastlane): not behind a proxy, not with a caller's session.
        direct = (
            fast_lanes and session is None and not requests.utils.get_environ_proxies(self.base)
        )
        self._fast = {lane: FastLane(self.base, timeout) for lane in FAST_LANES} if direct else {}
        self.session = self._sessions["default"]
        self._clock = clock
        self._metrics = metrics
        self.rate_budget = rate_budget
        self.last_rate_limit: dict = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base!r}, address={self.address!r})"

    def close(self) -> None:
        for session in set(self._sessions.values()):
            session.close()
        for fast in self._fast.values():
            fast.close()

    def when_sent(self, callback: Callable[[], None]) -> AbstractContextManager[None]:
        """``callback`` runs once this thread's next request is written (before its answer)."""
        return when_sent(callback)

    def warm(self, lane: str = "") -> None:
        """Open (or keep open) a lane's connection: ``GET /time`` on the ``cancel`` or ``create``
        session, both if no lane is named, so the next cancel or post does not pay for a TCP/TLS
        handshake."""
        for name in (lane,) if lane else ("cancel", "create"):
            self._request("GET", "/time", endpoint="warm", lane=name)

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
        lane: str = "default",
    ) -> Any:
        """Send one request; parsed JSON (or text) on 2xx, a classified error raised otherwise.

        ``submit`` marks a non-idempotent order submit: once bytes may have left, a timeout or reset
        is an unknown outcome, not a transient error. ``lane`` picks the pooled session.
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
        data = None if text is None else text.encode("utf-8")
        response = self._send(method, path, params, data, headers, submit, endpoint, lane)
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

    def _send(
        self,
        method: str,
        path: str,
        params: dict | None,
        data: bytes | None,
        headers: dict,
        submit: bool,
        endpoint: str,
        lane: str,
    ) -> requests.Response:
        """The HTTP exchange itself, its failures classified (see the module docstring)."""
        started = time.perf_counter()
        fast = self._fast.get(lane)
        try:
            if fast is not None and fast.try_acquire():
                try:
                    return fast.request(method, path, params, data, headers)
                finally:
                    fast.release()
            return self._sessions[lane].request(
                method,
                self.base + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except (LaneLost, requests.exceptions.ConnectionError) as exc:
            # ReadTimeout is not a ConnectionError; ConnectTimeout is both (never_connected).
            sent = isinstance(exc, LaneLost) or not never_connected(exc)
            if submit and sent:
                raise UnknownOutcomeError(
                    f"{endpoint}: connection lost after send ({_name(exc)})"
                ) from None
            raise TransientError(f"{endpoint}: connection failed ({_name(exc)})") from None
        except LaneNotSent as exc:
            raise TransientError(f"{endpoint}: connection failed ({exc})") from None
        except (LaneTimeout, requests.exceptions.Timeout) as exc:
            if submit:
                raise UnknownOutcomeError(
                    f"{endpoint}: no answer within {self.timeout[1]} s"
                ) from None
            raise TransientError(f"{endpoint}: timed out ({_name(exc)})") from None
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"{endpoint}: request failed ({_name(exc)})") from None
        finally:
            if self._metrics is not None:
                self._metrics.exec_request_seconds.labels(endpoint=endpoint).observe(
                    time.perf_counter() - started
                )

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
            if not nxt or nxt in (END_CURSOR, cursor):
                return out
            cursor = nxt
        raise TransientError(f"{endpoint}: more than {MAX_PAGES} pages")
