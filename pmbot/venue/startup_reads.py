"""The venue facts the runner reads once at start-up: the order version it must sign
(``GET /version``) and the funder's pUSD balance and allowance (``GET /balance-allowance``).

A stop-gap: these are two plain requests here until ``pmbot.venue.rest.ClobRest`` has
``order_version()`` and ``balance_allowance()`` (helper "fastcancel"); then the runner should call
those and this module can go. Errors name the URL and the cause, never a credential.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from pmbot.errors import FatalError, TransientError
from pmbot.venue.auth import ApiCreds, l2_headers
from pmbot.venue.wire_clob import BalanceAllowance, ClobWireError, parse_balance_allowance
from pmbot.venue.wire_clob import parse_version as _parse_version

BALANCE_PATH = "/balance-allowance"


def _get(url: str, timeout: tuple[float, float], headers: dict | None = None, **params: Any) -> Any:
    try:
        response = requests.get(url, params=params or None, headers=headers, timeout=timeout)
    except requests.exceptions.RequestException as exc:
        raise TransientError(f"GET {url}: {type(exc).__name__}") from None
    if response.status_code in (425, 429) or response.status_code >= 500:
        raise TransientError(f"GET {url}: HTTP {response.status_code}", status=response.status_code)
    if not response.ok:
        raise FatalError(f"GET {url}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise TransientError(f"GET {url}: not JSON") from None


def read_order_version(clob_url: str, timeout: tuple[float, float]) -> int:
    """The order version the venue asks orders to be signed for."""
    url = clob_url.rstrip("/") + "/version"
    try:
        return _parse_version(_get(url, timeout))
    except ClobWireError as exc:
        raise FatalError(f"GET {url}: {exc}") from None


def read_collateral(
    clob_url: str,
    creds: ApiCreds,
    address: str,
    signature_type: int,
    timeout: tuple[float, float],
) -> BalanceAllowance:
    """The funder's pUSD balance and allowance (L2-authenticated)."""
    url = clob_url.rstrip("/") + BALANCE_PATH
    headers = l2_headers(creds, address, "GET", BALANCE_PATH, None, int(time.time()))
    body = _get(url, timeout, headers, asset_type="COLLATERAL", signature_type=signature_type)
    try:
        return parse_balance_allowance(body)
    except ClobWireError as exc:
        raise FatalError(f"GET {url}: {exc}") from None
