"""The scanner's HTTP client: GET/POST JSON with a per-run cache, a request counter, client-side
token buckets inside the venue's published limits, and errors classified like the bot's
(``pmbot.venue.rest.classify_http_error``).

Published limits used (Polymarket docs, api-reference/rate-limits, per 10 s): CLOB general 9,000;
``POST /books`` 500; ``/prices-history`` 1,000; Gamma general 4,000; Gamma ``/markets`` 300. The
buckets run at ``fraction`` of those (default 0.5), so a scan never leans on the venue's throttle.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import requests

from pmbot.errors import TransientError
from pmbot.ratelimit import BucketLimit, RateBudget
from pmbot.venue.rest import classify_http_error

CLOB, BOOKS, HISTORY, GAMMA = "scan_clob", "scan_books", "scan_history", "scan_gamma"
SCAN_LIMITS: dict[str, BucketLimit] = {
    CLOB: BucketLimit(900.0, 900.0),
    BOOKS: BucketLimit(50.0, 50.0),
    HISTORY: BucketLimit(100.0, 100.0),
    GAMMA: BucketLimit(30.0, 30.0),
}


class ScanHttp:
    """One scan's HTTP session. Thread-safe counters; the cache holds each distinct request once."""

    def __init__(
        self,
        *,
        fraction: float = 0.5,
        timeout: tuple[float, float] = (3.05, 10.0),
        session: requests.Session | None = None,
    ) -> None:
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "pmbot-scan")
        self.timeout = timeout
        self.budget = RateBudget(SCAN_LIMITS, fraction=fraction)
        self.requests: Counter[str] = Counter()  # family -> requests sent (cache hits excluded)
        self.cache_hits = 0
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, params: dict | list | None = None, *, family: str = CLOB) -> Any:
        return self._call("GET", url, params=params, body=None, family=family)

    def post(self, url: str, body: Any, *, family: str = CLOB) -> Any:
        return self._call("POST", url, params=None, body=body, family=family)

    def _call(self, method: str, url: str, *, params: Any, body: Any, family: str) -> Any:
        key = json.dumps([method, url, params, body], sort_keys=True, default=str)
        with self._lock:
            if key in self._cache:
                self.cache_hits += 1
                return self._cache[key]
        self.budget.acquire(family)
        with self._lock:
            self.requests[family] += 1
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"{method} {url}: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise classify_http_error(response)
        try:
            value = response.json()
        except ValueError:
            raise TransientError(f"{method} {url}: the answer is not JSON") from None
        with self._lock:
            self._cache[key] = value
        return value

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())
