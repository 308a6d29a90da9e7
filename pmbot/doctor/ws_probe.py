"""Short-lived WebSocket probes: does the market channel deliver a book for these tokens, does the
user channel accept the API key, and does an order show up on it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import websocket

from pmbot.venue.auth import ApiCreds


def _frames(ws: websocket.WebSocket, deadline: float) -> Iterable[Any]:
    """Parsed JSON frames (lists flattened) until ``deadline``; text keep-alives are skipped."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ws.settimeout(left)
        try:
            raw = ws.recv()
        except websocket.WebSocketTimeoutException:
            return
        try:
            msg = json.loads(raw)
        except (ValueError, TypeError):
            continue
        yield from msg if isinstance(msg, list) else [msg]


def books_seen(url: str, tokens: list[str], timeout: float) -> set[str]:
    """The tokens among ``tokens`` whose ``book`` arrived within ``timeout`` seconds."""
    seen: set[str] = set()
    ws = websocket.create_connection(url, timeout=timeout)
    try:
        ws.send(json.dumps({"assets_ids": tokens, "type": "market"}))
        for msg in _frames(ws, time.monotonic() + timeout):
            if isinstance(msg, dict) and msg.get("event_type") == "book":
                seen.add(str(msg.get("asset_id")))
                if seen >= set(tokens):
                    break
    finally:
        ws.close()
    return seen


class UserChannel:
    """An authenticated user-channel connection for the live test."""

    def __init__(self, url: str, creds: ApiCreds, markets: list[str], timeout: float) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout)
        auth = {"apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase}
        self.ws.send(json.dumps({"auth": auth, "markets": markets, "type": "user"}))

    def still_open(self, wait: float) -> bool:
        """True when the venue has not closed the connection within ``wait`` seconds (a refused
        auth is answered by a close)."""
        try:
            for _ in _frames(self.ws, time.monotonic() + wait):
                pass
            self.ws.ping()
        except (websocket.WebSocketException, OSError):
            return False
        return True

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float) -> dict | None:
        try:
            for msg in _frames(self.ws, time.monotonic() + timeout):
                if isinstance(msg, dict) and predicate(msg):
                    return msg
        except (websocket.WebSocketException, OSError):
            return None
        return None

    def close(self) -> None:
        self.ws.close()
