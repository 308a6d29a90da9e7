"""Classifying the CLOB's HTTP failures into ``pmbot.errors`` (see ``pmbot.venue.rest``)."""

from __future__ import annotations

import json
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from pmbot.errors import (
    FatalError,
    RejectedError,
    TransientError,
    VenueModeError,
)
from pmbot.venue.wire_clob import is_order_version_mismatch


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
    # the venue wants another order version: re-read GET /version, re-sign once (the executor)
    rejected.version_mismatch = is_order_version_mismatch(body)  # type: ignore[attr-defined]
    if (
        isinstance(body, dict)
        and isinstance(body.get("heartbeat_id"), str)
        and "heartbeat" in lowered
    ):
        # 400 "Invalid Heartbeat ID" names the id it wants (read back with getattr by heartbeat())
        rejected.expected_heartbeat_id = body["heartbeat_id"]  # type: ignore[attr-defined]
    return rejected


def never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the request cannot have reached the venue (refused, connect timeout, DNS)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", None)  # urllib3 MaxRetryError.reason
    return isinstance(inner, (NewConnectionError, ConnectTimeoutError)) or isinstance(
        reason, (NewConnectionError, ConnectTimeoutError)
    )
