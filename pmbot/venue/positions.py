"""Data API positions: seed at start-up, poll periodically, reconcile against local inventory.

``GET <data_api>/positions?user=<funder>`` (protocol reference 4.1) lists what the *funder* wallet
holds (the proxy/Safe that owns the tokens, not the signing EOA). Venue quirks:

- Numbers are JSON numbers, not strings: they become Decimals through ``repr`` (0.1 stays 0.1).
- ``sizeThreshold`` defaults to 1, which hides dust; we send 0 so a small leftover is still seen.
- ``limit`` is at most 500 and ``offset`` at most 10,000; a server that ignores paging (as the
  bundled simulator does) returns everything at once, so paging stops on a short or repeated page.
- The Data API lags the CLOB (settlement plus indexing), so a difference is only trusted once it has
  stayed the same for longer than the settlement lag (``pmbot.trading.position_check``, pure).

Errors are classified (``pmbot.errors``): timeouts, connection failures, 429 and 5xx are
``TransientError``; other 4xx are ``RejectedError``; a body that is not the documented shape is
``MalformedPositionsError`` (transient: a proxy error page or a half-deployed API should be retried,
and partial data must never be reconciled against).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from pmbot.errors import RejectedError, TransientError
from pmbot.model import ZERO, PositionRow, PositionsSnapshot, dec
from pmbot.venue.polling import PeriodicPoller

_Timeout = float | tuple[float, float]

log = logging.getLogger(__name__)

PAGE_LIMIT = 500
MAX_OFFSET = 10_000

__all__ = [
    "PositionRow",
    "MalformedPositionsError",
    "fetch_positions",
    "parse_position_row",
    "PositionsPoller",
]


class MalformedPositionsError(TransientError):
    """The Data API answered 200 with something that is not a list of position rows."""


# --------------------------------------------------------------------------- parsing


def _number(row: dict, key: str) -> Decimal:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MalformedPositionsError(f"positions row field {key!r} is not a number: {value!r}")
    try:
        result = dec(value)
    except (InvalidOperation, ValueError):
        raise MalformedPositionsError(
            f"positions row field {key!r} is not a number: {value!r}"
        ) from None
    if not result.is_finite():
        raise MalformedPositionsError(f"positions row field {key!r} is not finite")
    return result


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPositionsError(f"positions row field {key!r} is missing or not a string")
    return value


def parse_position_row(row: Any) -> PositionRow:
    if not isinstance(row, dict):
        raise MalformedPositionsError("positions row is not an object")
    cur = row.get("curPrice")
    index = row.get("outcomeIndex")
    return PositionRow(
        token_id=_text(row, "asset"),
        condition_id=_text(row, "conditionId"),
        size=_number(row, "size"),
        avg_price=_number(row, "avgPrice") if row.get("avgPrice") is not None else ZERO,
        cur_price=_number(row, "curPrice") if cur is not None else None,
        outcome=str(row.get("outcome") or ""),
        outcome_index=index if isinstance(index, int) and not isinstance(index, bool) else None,
        redeemable=row.get("redeemable") is True,
        mergeable=row.get("mergeable") is True,
        neg_risk=row.get("negativeRisk") is True,
    )


# --------------------------------------------------------------------------- fetching


def _get_page(session: Any, url: str, params: dict, timeout: _Timeout) -> list:
    try:
        resp = session.get(url, params=params, timeout=timeout)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise TransientError(f"data api positions: {type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise TransientError(f"data api positions: {type(exc).__name__}") from None
    status = resp.status_code
    if status == 429 or status >= 500:
        retry_after = None
        try:
            retry_after = float(resp.headers.get("Retry-After", ""))
        except ValueError:
            pass
        raise TransientError(
            f"data api positions: HTTP {status}", status=status, retry_after=retry_after
        )
    if status >= 400:
        raise RejectedError(f"data api positions: HTTP {status}: {resp.text[:200]}", status=status)
    try:
        body = resp.json()
    except ValueError:
        raise MalformedPositionsError(
            f"data api positions: body is not JSON ({resp.text[:80]!r})"
        ) from None
    if not isinstance(body, list):
        raise MalformedPositionsError(
            f"data api positions: expected a JSON array, got {type(body).__name__}"
        )
    return body


def fetch_positions(
    data_api_url: str,
    user: str,
    *,
    session: requests.Session | None = None,
    timeout: _Timeout = (3.05, 10),
) -> list[PositionRow]:
    """Every position of ``user`` (the funder address), dust included."""
    if not user:
        raise ValueError("fetch_positions needs the funder address")
    http: Any = session or requests  # a Session, or the module's one-shot get
    url = data_api_url.rstrip("/") + "/positions"
    rows: list[PositionRow] = []
    seen: set[str] = set()
    offset = 0
    while True:
        params = {
            "user": user,
            "sizeThreshold": "0",
            "limit": str(PAGE_LIMIT),
            "offset": str(offset),
        }
        page = [parse_position_row(r) for r in _get_page(http, url, params, timeout)]
        fresh = [r for r in page if r.token_id not in seen]
        rows.extend(fresh)
        seen.update(r.token_id for r in fresh)
        if len(page) < PAGE_LIMIT or len(fresh) < len(page) or offset + PAGE_LIMIT > MAX_OFFSET:
            return rows
        offset += PAGE_LIMIT


def as_seed(rows: Iterable[PositionRow]) -> dict[str, tuple[Decimal, Decimal]]:
    """Rows as ``Inventory.seed`` / ``Journal.record_seed`` input: token -> (size, avg_price)."""
    return {r.token_id: (r.size, r.avg_price) for r in rows if r.size != 0}


# --------------------------------------------------------------------------- polling thread


class PositionsPoller(PeriodicPoller):
    """Thread ``positions-poller``: every ``interval_secs`` fetch the funder's positions and put a
    ``PositionsSnapshot`` on ``out`` for the strategy thread. Failures are logged (first of a run at
    warning) and counted; the loop never dies and never sends partial data."""

    thread_name = "positions-poller"

    def __init__(
        self,
        data_api_url: str,
        user: str,
        out: queue.Queue[PositionsSnapshot],
        *,
        stop: threading.Event,
        interval_secs: float = 30.0,
        session: requests.Session | None = None,
        metrics: object | None = None,  # looked up by name: feed_parse_errors_total
        clock: Callable[[], float] = time.time,
        fetch: Callable[..., list[PositionRow]] = fetch_positions,
    ) -> None:
        super().__init__(stop=stop, interval_secs=interval_secs)
        self.data_api_url = data_api_url
        self.user = user
        self.out = out
        self._session = session
        self._metrics = metrics
        self._clock = clock
        self._fetch = fetch

    def poll_once(self) -> PositionsSnapshot | None:
        try:
            rows = self._fetch(self.data_api_url, self.user, session=self._session)
        except (TransientError, RejectedError) as exc:
            self.failures += 1
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            log.log(level, "positions poll failed (%d so far): %s", self.failures, exc)
            self._count_error(
                "positions_malformed"
                if isinstance(exc, MalformedPositionsError)
                else "positions_error"
            )
            return None
        self.polls += 1
        snap = PositionsSnapshot(tuple(rows), self._clock())
        self.out.put(snap)
        return snap

    def _count_error(self, kind: str) -> None:
        metric = (
            getattr(self._metrics, "feed_parse_errors_total", None)
            if self._metrics is not None
            else None
        )
        if metric is not None:
            metric.labels(kind=kind).inc()
