"""Ethereum JSON-RPC over HTTP (one ``requests.Session``), every failure classified.

- ``TransientError``: connection failures, timeouts, HTTP 429/5xx, malformed answers.
- ``RpcError`` (a ``RejectedError``): the node answered with a JSON-RPC error; ``message`` says why
  ("nonce too low", "replacement transaction underpriced", "execution reverted", ...).
- ``FatalError``: HTTP 401/403 (a bad key in the RPC URL).

The URL may carry a provider key, so it never appears in logs or exception texts: errors name
the method only.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import requests

from pmbot.errors import FatalError, RejectedError, TransientError

log = logging.getLogger(__name__)


class RpcError(RejectedError):
    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: rpc error {code}: {message}")
        self.code = code
        self.rpc_message = message


class JsonRpc:
    def __init__(self, url: str, *, timeout_secs: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_secs
        self._session = requests.Session()
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            resp = self._session.post(self._url, json=body, timeout=self._timeout)
        except requests.Timeout:
            raise TransientError(f"{method}: timed out") from None
        except requests.RequestException as exc:
            raise TransientError(f"{method}: connection failed ({type(exc).__name__})") from None
        if resp.status_code in (401, 403):
            raise FatalError(f"{method}: HTTP {resp.status_code} (check onchain.rpc_url)")
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientError(f"{method}: HTTP {resp.status_code}", status=resp.status_code)
        try:
            data = resp.json()
        except ValueError:
            raise TransientError(f"{method}: malformed answer (HTTP {resp.status_code})") from None
        if not isinstance(data, dict):
            raise TransientError(f"{method}: malformed answer")
        err = data.get("error")
        if err is not None:
            code = int(err.get("code", 0)) if isinstance(err, dict) else 0
            message = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            raise RpcError(method, code, message)
        return data.get("result")

    def close(self) -> None:
        self._session.close()


def quantity(value: Any) -> int:
    """A JSON-RPC hex quantity as an int."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise TransientError(f"malformed quantity {value!r}")
    return int(value, 16)
