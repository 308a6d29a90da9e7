"""The simulator's WebSocket sessions: the market channel (subscribe with a snapshot, unsubscribe,
custom features) and the user channel (auth, then market filters), over one connection each.

A market subscription takes the snapshot and registers the subscriber under the exchange lock
(and the bench feed's), so no event falls between the snapshot and the first live update.
Malformed client messages are counted and ignored; the venue's text ``PING`` is answered ``PONG``.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from pmbot.sim import wsproto
from pmbot.sim.auth import ApiCredentials
from pmbot.sim.ws_hub import MarketHub, UserHub, WsConnection

log = logging.getLogger(__name__)


class BookSource(Protocol):
    lock: Any  # a context manager (the exchange's RLock)

    def market_of_token(self, token_id: str) -> Any: ...
    def book_snapshot(self, token_id: str) -> dict: ...


class BenchBooks(Protocol):
    lock: Any

    def has_token(self, token_id: str) -> bool: ...
    def book_snapshot(self, token_id: str) -> dict: ...


class RawKeyCheck(Protocol):
    def check_raw(self, api_key: str, secret: str, passphrase: str) -> ApiCredentials | None: ...


class FeedSwitch(Protocol):
    @property
    def feed_silent(self) -> bool: ...


class WsSessions:
    def __init__(
        self,
        *,
        exchange: BookSource,
        bench: BenchBooks,
        keys: RawKeyCheck,
        faults: FeedSwitch,
        market_hub: MarketHub,
        user_hub: UserHub,
    ) -> None:
        self.exchange = exchange
        self.bench = bench
        self.keys = keys
        self.faults = faults
        self.market_hub = market_hub
        self.user_hub = user_hub
        self._lock = threading.Lock()
        self._malformed = 0

    @property
    def malformed(self) -> int:
        """Client messages that were neither JSON nor a known operation."""
        return self._malformed

    def _count_malformed(self) -> None:
        with self._lock:  # one counter, a reader thread per connection
            self._malformed += 1

    def _book_event(self, token_id: str) -> dict | None:
        """The WS ``book`` snapshot of a token (REST shape + event_type, as the real feed sends)."""
        if self.bench.has_token(token_id):
            snap = self.bench.book_snapshot(token_id)
        else:
            try:
                self.exchange.market_of_token(token_id)
            except KeyError:
                return None
            snap = self.exchange.book_snapshot(token_id)
        event = {
            k: snap[k]
            for k in ("market", "asset_id", "timestamp", "hash", "bids", "asks")
            if k in snap
        }
        event["tick_size"] = snap.get("tick_size")
        event["event_type"] = "book"
        if snap.get("last_trade_price"):
            event["last_trade_price"] = snap["last_trade_price"]
        return event

    def _subscribe_market(self, conn: WsConnection, tokens: list[str], *, dump: bool) -> None:
        """Snapshot and subscribe atomically under the exchange lock, so no event falls between
        the snapshot and the first live update."""
        with self.exchange.lock, self.bench.lock:
            self.market_hub.subscribe(conn, tokens)
            if dump:
                books = [b for b in (self._book_event(t) for t in tokens) if b is not None]
                if books and not self.faults.feed_silent:
                    conn.send_json(books)

    def _read_json(self, conn: WsConnection, reader: wsproto.MessageReader) -> Any:
        """Next client message: returns parsed JSON, or None after answering PING/control frames.
        Raises EOFError when the client closes."""
        opcode, payload = reader.next()
        if opcode == wsproto.OP_CLOSE:
            conn.close()
            raise EOFError("client closed")
        if opcode == wsproto.OP_PING:
            conn.send_frame(wsproto.encode_frame(payload, wsproto.OP_PONG))
            return None
        if opcode != wsproto.OP_TEXT:
            return None
        text = payload.decode("utf-8", errors="replace")
        if text.strip() == "PING":
            conn.send_text("PONG")
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            self._count_malformed()
            log.info("%r: ignoring non-JSON message", conn)
            return None

    def market_session(self, conn: WsConnection, reader: wsproto.MessageReader) -> None:
        self.market_hub.add(conn)
        while not conn.closed:
            msg = self._read_json(conn, reader)
            if not isinstance(msg, dict):
                continue
            tokens = [str(t) for t in msg.get("assets_ids") or [] if isinstance(t, (str, int))]
            if msg.get("custom_feature_enabled") is True:
                conn.custom_features = True
            op = msg.get("operation")
            if op == "unsubscribe":
                self.market_hub.unsubscribe(conn, tokens)
            elif (
                op == "subscribe"
                or msg.get("type", "").lower() == "market"
                or (op is None and tokens)
            ):
                self._subscribe_market(
                    conn, tokens, dump=msg.get("initial_dump", True) is not False
                )
            else:
                self._count_malformed()

    def user_session(self, conn: WsConnection, reader: wsproto.MessageReader) -> None:
        creds = None
        while creds is None:
            msg = self._read_json(conn, reader)
            if msg is None:
                continue
            auth = msg.get("auth") if isinstance(msg, dict) else None
            if isinstance(auth, dict):
                creds = self.keys.check_raw(
                    str(auth.get("apiKey", "")),
                    str(auth.get("secret", "")),
                    str(auth.get("passphrase", "")),
                )
            if creds is None:
                log.info("%r: user channel auth failed, closing", conn)
                conn.close(wsproto.CLOSE_POLICY, "invalid auth")
                return
            markets = [m for m in msg.get("markets") or [] if isinstance(m, str)]
            self.user_hub.add(conn, creds.api_key, markets)
        while not conn.closed:
            msg = self._read_json(conn, reader)
            if not isinstance(msg, dict):
                continue
            op = msg.get("operation")
            markets = [m for m in msg.get("markets") or [] if isinstance(m, str)]
            if op in ("subscribe", "unsubscribe"):
                self.user_hub.change(conn, markets, subscribe=op == "subscribe")
            else:
                self._count_malformed()
