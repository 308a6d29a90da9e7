"""WebSocket connections and fan-out for the simulator's market and user channels.

Each connection has a bounded outbound queue drained by its own writer thread, so a slow client
never blocks the engine (whose listener callbacks run under the exchange lock and only enqueue).
If a client falls so far behind that its queue overflows, the connection is dropped, as the venue
would do, rather than silently losing messages: a dropped client knows to resubscribe and resync.

Messages are serialised and framed ONCE per event and the same bytes are queued to every
subscriber.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterable

from pmbot.sim import wsproto

log = logging.getLogger(__name__)

_STOP = object()
_ids = itertools.count(1)

# Only sent to connections that subscribed with custom_feature_enabled (reference 2.1).
CUSTOM_FEATURE_EVENTS = frozenset({"best_bid_ask", "new_market", "market_resolved"})


def dumps(message) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class WsConnection:
    """One client connection. The reader loop runs on the HTTP handler thread (see server.py);
    writes go through :meth:`send_frame`, which never blocks."""

    def __init__(self, sock: socket.socket, channel: str, *, queue_size: int) -> None:
        self.id = next(_ids)
        self.channel = channel
        self.sock = sock
        self.custom_features = False
        self.dropped_reason = ""
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._closed = threading.Event()
        self._writer = threading.Thread(
            target=self._write_loop, name=f"sim-ws-{channel}-writer-{self.id}", daemon=False
        )
        self._writer.start()

    def __repr__(self) -> str:
        return f"WsConnection({self.channel}#{self.id})"

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send_frame(self, frame: bytes) -> bool:
        """Queue an encoded frame. On overflow the connection is dropped; returns False then."""
        if self._closed.is_set():
            return False
        try:
            self._queue.put_nowait(frame)
            return True
        except queue.Full:
            log.warning(
                "%r: outbound queue full (%d), dropping the slow client", self, self._queue.maxsize
            )
            self.abort("outbound queue overflow")
            return False

    def send_text(self, text: str) -> bool:
        return self.send_frame(wsproto.encode_text(text))

    def send_json(self, message) -> bool:
        return self.send_text(dumps(message))

    def close(self, code: int = wsproto.CLOSE_NORMAL, reason: str = "") -> None:
        """Polite close: queued data first, then a close frame, then the socket."""
        if self._closed.is_set():
            return
        try:
            self._queue.put_nowait(wsproto.encode_close(code, reason))
            self._queue.put_nowait(_STOP)
        except queue.Full:
            self.abort(reason or "close")

    def abort(self, reason: str) -> None:
        """Drop the TCP connection now (what a venue does to a slow or misbehaving client)."""
        if self._closed.is_set():
            return
        self.dropped_reason = reason
        self._closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass  # the writer sees _closed on its next wake-up

    def join(self, timeout: float | None = None) -> None:
        self._writer.join(timeout)

    def _write_loop(self) -> None:
        q = self._queue
        while True:
            try:
                item = q.get(timeout=1.0)
            except queue.Empty:
                if self._closed.is_set():
                    return
                continue
            batch = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                if len(batch) >= 256:
                    break
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    break
            if batch and not self._closed.is_set():
                try:
                    self.sock.sendall(b"".join(batch))
                except OSError as exc:
                    self.abort(f"send failed: {exc.__class__.__name__}")
                    return
            if stop or self._closed.is_set():
                if not self._closed.is_set():
                    self._closed.set()
                    try:
                        self.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return


class MarketHub:
    """token id -> subscribed connections; routes market-channel events (reference 2)."""

    def __init__(self, *, is_silent: Callable[[], bool]) -> None:
        self._is_silent = is_silent
        self._lock = threading.Lock()
        self._by_token: dict[str, set[WsConnection]] = {}
        self._tokens_of: dict[WsConnection, set[str]] = {}
        self.delivered = 0
        # While silent, send this plain-text frame instead of each withheld event, as the venue's
        # ``NO NEW ASSETS`` with custom_feature_enabled (protocol 10.5); None: send nothing.
        self.silent_text: str | None = None

    def add(self, conn: WsConnection) -> None:
        with self._lock:
            self._tokens_of.setdefault(conn, set())

    def subscribe(self, conn: WsConnection, tokens: Iterable[str]) -> None:
        with self._lock:
            mine = self._tokens_of.setdefault(conn, set())
            for token in tokens:
                mine.add(token)
                self._by_token.setdefault(token, set()).add(conn)

    def unsubscribe(self, conn: WsConnection, tokens: Iterable[str]) -> None:
        with self._lock:
            mine = self._tokens_of.get(conn, set())
            for token in tokens:
                mine.discard(token)
                subs = self._by_token.get(token)
                if subs is not None:
                    subs.discard(conn)
                    if not subs:
                        del self._by_token[token]

    def remove(self, conn: WsConnection) -> None:
        with self._lock:
            tokens = self._tokens_of.pop(conn, set())
        self.unsubscribe(conn, tokens)

    def connections(self) -> list[WsConnection]:
        with self._lock:
            return list(self._tokens_of)

    def subscribers(self, tokens: Iterable[str]) -> set[WsConnection]:
        with self._lock:
            out: set[WsConnection] = set()
            for token in tokens:
                subs = self._by_token.get(token)
                if subs:
                    out |= subs
            return out

    def publish(self, message: dict) -> int:
        """Send one event to the subscribers of the tokens it concerns; returns how many got it."""
        if self._is_silent():
            text = self.silent_text
            if text is not None:
                frame = wsproto.encode_text(text)
                for conn in self.connections():
                    conn.send_frame(frame)
            return 0
        kind = message.get("event_type")
        if "price_changes" in message:
            tokens = [c.get("asset_id") for c in message["price_changes"]]
        elif "asset_id" in message:
            tokens = [message["asset_id"]]
        else:
            tokens = message.get("assets_ids") or message.get("clob_token_ids") or []
        if kind == "new_market":
            conns = {c for c in self.connections() if c.custom_features}
        else:
            conns = self.subscribers(tokens)
        if kind in CUSTOM_FEATURE_EVENTS:
            conns = {c for c in conns if c.custom_features}
        if not conns:
            return 0
        frame = wsproto.encode_text(dumps(message))
        sent = sum(1 for c in conns if c.send_frame(frame))
        self.delivered += sent
        return sent

    def publish_frame_to(self, tokens: Iterable[str], frame: bytes) -> int:
        """Pre-encoded frame to the subscribers of ``tokens`` (the benchmark flood path)."""
        if self._is_silent():
            return 0
        return sum(1 for c in self.subscribers(tokens) if c.send_frame(frame))


class UserHub:
    """API key -> user-channel connections, each with an optional condition-id filter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, dict[WsConnection, set[str]]] = {}
        self._key_of: dict[WsConnection, str] = {}

    def add(self, conn: WsConnection, api_key: str, markets: Iterable[str]) -> None:
        with self._lock:
            self._by_key.setdefault(api_key, {})[conn] = set(markets)
            self._key_of[conn] = api_key

    def change(self, conn: WsConnection, markets: Iterable[str], *, subscribe: bool) -> None:
        with self._lock:
            key = self._key_of.get(conn)
            if key is None:
                return
            current = self._by_key[key][conn]
            if subscribe:
                current.update(markets)
            else:
                current.difference_update(markets)

    def remove(self, conn: WsConnection) -> None:
        with self._lock:
            key = self._key_of.pop(conn, None)
            if key is not None:
                conns = self._by_key.get(key, {})
                conns.pop(conn, None)
                if not conns:
                    self._by_key.pop(key, None)

    def connections(self) -> list[WsConnection]:
        with self._lock:
            return list(self._key_of)

    def publish(self, api_key: str, message: dict) -> int:
        """An order/trade event for one API key; ``[]`` market filter means all markets."""
        with self._lock:
            targets = [
                c
                for c, markets in self._by_key.get(api_key, {}).items()
                if not markets or message.get("market") in markets
            ]
        if not targets:
            return 0
        frame = wsproto.encode_text(dumps(message))
        return sum(1 for c in targets if c.send_frame(frame))
