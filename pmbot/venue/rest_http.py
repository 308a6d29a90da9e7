"""The CLOB REST client's transport (``ClobHttp``): L2 headers, the rate budget, one pooled session
per lane, and every failure classified (``pmbot.venue.rest_errors``); cursor paging. The endpoints
are in ``pmbot.venue.rest.ClobRest``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from pmbot import ratelimit
from pmbot.errors import FatalError, PmbotError, TransientError, UnknownOutcomeError
from pmbot.venue.auth import ApiCreds, l2_headers
from pmbot.venue.rest_errors import classify_http_error, compact_json, never_connected
from pmbot.venue.rest_fastlane import FastLane, LaneLost, LaneNotSent, LaneTimeout
from pmbot.venue.rest_transport import lane_sessions, when_sent

FIRST_CURSOR = "MA=="
END_CURSOR = "LTE="
MAX_PAGES = 10_000  # guard against a venue that never sends the end cursor
FAST_LANES = ("cancel", "create", "pull", "pull2")


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
        for name in (lane,) if lane else FAST_LANES:
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
        data, headers = self._prepare(method, path, body, private, endpoint)
        if self.rate_budget is not None:
            self.rate_budget.acquire(family, cost)
        response = self._send(method, path, params, data, headers, submit, endpoint, lane)
        return self._answer(response, family, allow_404)

    def _prepare(
        self, method: str, path: str, body: Any, private: bool, endpoint: str
    ) -> tuple[bytes | None, dict]:
        """The body's bytes and the headers (L2 auth for a private call)."""
        text = None if body is None else compact_json(body)
        headers = {"Content-Type": "application/json"} if text is not None else {}
        if private:
            if self.creds is None:
                raise FatalError(f"{endpoint} needs API credentials")
            headers.update(
                l2_headers(self.creds, self.address, method, path, text, int(self._clock()))
            )
        return (None if text is None else text.encode("utf-8")), headers

    def _answer(self, response: requests.Response, family: str, allow_404: bool = False) -> Any:
        """Parsed JSON (or text) of a 2xx answer; a classified error raised otherwise."""
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

    def begin(
        self,
        method: str,
        path: str,
        *,
        body: Any,
        family: str,
        cost: float,
        endpoint: str,
        lane: str,
        submit: bool,
    ) -> Pending | None:
        """Write a private request now on ``lane``'s lean connection, on the caller's thread, and
        return the handle that reads its answer (``Pending.finish``, on any thread). None, with
        nothing sent, when that connection is busy or absent (a proxy) or the rate budget has no
        room right now: the caller then takes the blocking path (issue 20)."""
        try:
            prepared = self.prepare(method, path, body=body, lane=lane, endpoint=endpoint)
        except PmbotError as exc:  # no credentials: finish() raises it
            return Pending(self, None, endpoint, family, submit, time.perf_counter(), error=exc)
        if prepared is None:
            return None
        return self.send_prepared(prepared, family, cost, submit=submit)

    def prepare(
        self, method: str, path: str, *, body: Any, lane: str, endpoint: str
    ) -> Prepared | None:
        """A private request built ahead (body, L2 headers, the bytes on the wire) for
        ``send_prepared``; None without ``lane``'s lean connection (a proxy)."""
        fast = self._fast.get(lane)
        if fast is None:
            return None
        data, headers = self._prepare(method, path, body, True, endpoint)
        raw = fast.render(method, path, headers, data)
        return Prepared(method, lane, endpoint, raw)

    def send_prepared(
        self, prepared: Prepared, family: str, cost: float, *, submit: bool = False
    ) -> Pending | None:
        """Write a ``prepare``d request now on its lane's lean connection (one ``sendall``); the
        handle reads the answer. None, nothing sent, when the connection is busy or the rate
        budget has no room right now. ``submit``: an order submit (a failure once bytes may
        have left is an unknown outcome)."""
        fast = self._fast[prepared.lane]
        if not fast.try_acquire():
            return None
        started = time.perf_counter()
        if self.rate_budget is not None and not self.rate_budget.try_acquire(family, cost):
            fast.release()
            return None
        try:
            with self._classified(prepared.endpoint, submit):
                fast.send_raw(prepared.method, prepared.raw)
        except PmbotError as exc:  # not written, or maybe written: finish() raises it
            fast.release()
            return Pending(self, None, prepared.endpoint, family, submit, started, error=exc)
        except BaseException:
            fast.release()
            raise
        return Pending(self, fast, prepared.endpoint, family, submit, started)

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
            with self._classified(endpoint, submit):
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
        finally:
            self._observe_seconds(endpoint, started)

    def _observe_seconds(self, endpoint: str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.exec_request_seconds.labels(endpoint=endpoint).observe(
                time.perf_counter() - started
            )

    @contextmanager
    def _classified(self, endpoint: str, submit: bool) -> Iterator[None]:
        """Transport failures as ``pmbot.errors`` classes: once bytes may have left, a submit's
        timeout or reset is an unknown outcome, anything else a transient error."""
        try:
            yield
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


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request built ahead by ``ClobHttp.prepare``: ``raw`` is exactly what goes on the wire,
    its L2 timestamp included (the holder rebuilds it before it is stale)."""

    method: str
    lane: str
    endpoint: str
    raw: bytes = field(repr=False)


class Pending:
    """A request ``ClobHttp.begin`` wrote; ``finish`` (once, on any thread) reads the answer, frees
    the lean connection and returns what the blocking call would have: parsed JSON, or a classified
    error raised (also the one writing it met, kept in ``error``)."""

    def __init__(
        self,
        http: ClobHttp,
        fast: FastLane | None,
        endpoint: str,
        family: str,
        submit: bool,
        started: float,
        error: PmbotError | None = None,
    ) -> None:
        self._http, self._fast, self.endpoint = http, fast, endpoint
        self._family, self._submit, self._started = family, submit, started
        self.error = error

    def finish(self) -> Any:
        if self.error is not None or self._fast is None:
            self._http._observe_seconds(self.endpoint, self._started)
            raise self.error or TransientError(f"{self.endpoint}: not sent")
        try:
            with self._http._classified(self.endpoint, self._submit):
                response = self._fast.receive()
        finally:
            self._fast.release()
            self._http._observe_seconds(self.endpoint, self._started)
        return self._http._answer(response, self._family)
