"""SimServer: one loopback HTTP server that serves the CLOB REST API, the Data API (under
``/data-api``), Gamma (under ``/gamma``), the ``/_sim`` control endpoints, and upgrades
``/ws/market`` and ``/ws/user`` to WebSockets.

Threads (all named, all joined by :meth:`SimServer.stop`):
- ``sim-http``: the accept loop (``ThreadingHTTPServer.serve_forever``);
- ``sim-http-conn-N``: one per TCP connection (HTTP keep-alive, or a WebSocket's reader loop);
- ``sim-ws-<channel>-writer-N``: one per WebSocket, draining its bounded outbound queue;
- ``sim-clock``: calls ``exchange.step()`` every ``step_secs`` and sweeps lapsed heartbeats;
- ``sim-bench-flood``: only while a benchmark flood runs.

The engine's listener callbacks run under the exchange lock; they only serialise and enqueue.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pmbot.sim import wsproto
from pmbot.sim.auth import KeyStore
from pmbot.sim.bench_feed import BenchFeed
from pmbot.sim.deposit_wallet import SimAccounts
from pmbot.sim.faults import Faults
from pmbot.sim.heartbeats import Heartbeats
from pmbot.sim.rest import Reply, Request, RestApi
from pmbot.sim.ws_hub import MarketHub, UserHub, WsConnection, dumps

log = logging.getLogger(__name__)

MAX_BODY_BYTES = (
    4 << 20
)  # a 1000-id cancel batch is ~70 kB; the venue answers "Payload exceeds the limit"
WS_QUEUE_FRAMES = 100_000  # per connection; overflow drops the client (as the venue would)
_conn_ids = itertools.count(1)


class _HttpServer(ThreadingHTTPServer):
    """Names its per-connection threads, tracks their sockets so stop() can unblock keep-alive
    readers, and joins them itself."""

    daemon_threads = False
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, handler, sim: SimServer) -> None:
        self.sim = sim
        self._conn_lock = threading.Lock()
        self._conns: dict[threading.Thread, socket.socket] = {}
        super().__init__(addr, handler)

    def process_request(self, request, client_address) -> None:
        t = threading.Thread(
            target=self._serve_one,
            args=(request, client_address),
            name=f"sim-http-conn-{next(_conn_ids)}",
            daemon=False,
        )
        with self._conn_lock:
            self._conns[t] = request
        t.start()

    def _serve_one(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except OSError:
            pass  # client went away
        except Exception:  # noqa: BLE001 - a bad request must never kill the server
            log.exception("unhandled error serving %s", client_address)
        finally:
            self.shutdown_request(request)
            with self._conn_lock:
                self._conns.pop(threading.current_thread(), None)

    def close_connections(self, timeout: float) -> None:
        with self._conn_lock:
            conns = list(self._conns.items())
        for _, sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t, _ in conns:
            t.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pmbot-sim"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Small request/response pairs: without NODELAY, Nagle + delayed ACK add ~40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args) -> None:  # route http.server's stderr chatter to logging
        log.debug("%s " + fmt, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        sim: SimServer = self.server.sim
        parts = urlsplit(self.path)
        if (
            method == "GET"
            and parts.path in ("/ws/market", "/ws/user")
            and self.headers.get("Upgrade", "").lower() == "websocket"
        ):
            self._upgrade(sim, parts.path)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._send(Reply(400, {"error": "Invalid Content-Length"}))
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(Reply(413, {"error": "Payload exceeds the limit"}))
            return
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._send(Reply(400, {"error": "Invalid payload"}))
            return
        lists = parse_qs(parts.query, keep_blank_values=True)
        req = Request(
            method=method,
            path=parts.path,
            query={k: v[0] for k, v in lists.items()},
            headers=self.headers,
            body=body,
            client_ip=self.client_address[0],
            query_lists=lists,
        )
        if not parts.path.startswith("/_sim/"):
            delay = sim.faults.response_delay_secs()
            if delay and sim.stopping.wait(delay):
                self.close_connection = True
                return
        try:
            reply = sim.rest.handle(req)
        except Exception:  # noqa: BLE001 - answer 500, keep serving
            log.exception("error handling %s %s", method, parts.path)
            reply = Reply(500, {"error": "internal error"})
        if reply.hang_secs and sim.stopping.wait(reply.hang_secs):
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self._headers_buffer.append(b"\r\n" + data)  # headers and body in ONE write
        self.flush_headers()

    def _upgrade(self, sim: SimServer, path: str) -> None:
        key = self.headers.get("Sec-WebSocket-Key")
        if not key:
            self._send(Reply(400, {"error": "missing Sec-WebSocket-Key"}))
            return
        self.wfile.write(wsproto.handshake_response(key))
        self.wfile.flush()
        self.close_connection = True
        channel = "market" if path == "/ws/market" else "user"
        conn = WsConnection(self.connection, channel, queue_size=sim.ws_queue_frames)
        sim._track(conn, True)
        try:
            session = sim._market_session if channel == "market" else sim._user_session
            session(conn, wsproto.MessageReader(self.rfile))
        except (EOFError, OSError):
            pass
        except wsproto.ProtocolError as exc:
            conn.close(exc.code, str(exc))
        finally:
            sim.market_hub.remove(conn)
            sim.user_hub.remove(conn)
            conn.close()  # polite: flush what is queued plus a close frame (no-op if aborted)
            conn.join(1.0)
            conn.abort("session ended")
            conn.join(5.0)
            sim._track(conn, False)


class SimServer:
    """The simulator: ``start()``, use ``urls``, ``stop()``. ``exchange`` is the matching engine;
    ``faults`` drives misbehaviour from Python (same knobs as ``POST /_sim/control``)."""

    def __init__(
        self,
        config=None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chain_id: int = 137,
        ws_queue_frames: int = WS_QUEUE_FRAMES,
    ) -> None:
        from pmbot.sim.engine import Exchange
        from pmbot.sim.markets import load_sim_config

        self.config = config if config is not None else load_sim_config(None)
        if isinstance(self.config, (str, dict)):
            self.config = load_sim_config(self.config)
        self.host = host
        self.port = port
        self.chain_id = chain_id
        self.ws_queue_frames = ws_queue_frames
        seed = int(self.config.seed)
        self.exchange = Exchange(self.config, rng=random.Random(seed))
        self.keys = KeyStore(
            f"pmbot-sim-keys:{seed}".encode(), SimAccounts.from_extra(self.config.extra)
        )
        self.faults = Faults(rng=random.Random(seed + 1))
        self.faults.exchange = self.exchange
        self.faults.drop_connections = self.drop_connections
        self.heartbeats = Heartbeats(
            float(self.config.heartbeat_timeout_secs), rng=random.Random(seed + 2)
        )
        self.market_hub = MarketHub(is_silent=lambda: self.faults.feed_silent)
        self.user_hub = UserHub()
        self.bench = BenchFeed(self.market_hub, seed=seed + 3)
        self.rest = RestApi(
            exchange=self.exchange,
            keys=self.keys,
            faults=self.faults,
            heartbeats=self.heartbeats,
            chain_id=chain_id,
            bench=self.bench,
        )
        self.stopping = threading.Event()
        self.urls: dict = {}
        self.malformed_ws_messages = 0
        self._ws_lock = threading.Lock()
        self._ws_conns: set[WsConnection] = set()
        self._httpd: _HttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = False
        self.exchange.add_listener(self._on_exchange_event)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._started:
            raise RuntimeError("SimServer already started")
        self._started = True
        self._httpd = _HttpServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        base = f"{self.host}:{self.port}"
        self.urls = {
            "clob_url": f"http://{base}",
            "market_ws_url": f"ws://{base}/ws/market",
            "user_ws_url": f"ws://{base}/ws/user",
            "data_api_url": f"http://{base}/data-api",
            "gamma_url": f"http://{base}/gamma",
        }
        http = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sim-http",
            daemon=False,
        )
        clock = threading.Thread(target=self._clock_loop, name="sim-clock", daemon=False)
        self._threads = [http, clock]
        for t in self._threads:
            t.start()
        log.info("sim listening on %s", self.urls["clob_url"])

    def stop(self) -> None:
        """Close every socket and join every thread. Idempotent."""
        if self._stopped or not self._started:
            self._stopped = True
            return
        self._stopped = True
        self.stopping.set()
        self.bench.stop()
        self._httpd.shutdown()
        self.drop_connections("all")
        self._httpd.close_connections(timeout=5.0)
        self._httpd.server_close()
        for t in self._threads:
            t.join(5.0)
        log.info("sim stopped")

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _clock_loop(self) -> None:
        step = float(self.config.step_secs)
        while not self.stopping.wait(step):
            try:
                self.exchange.step()
                self.rest.rewards.maybe_sample()  # liquidity-reward sampling (pmbot.sim.rewards)
                for api_key in self.heartbeats.sweep():
                    cancelled = self.exchange.cancel_all_for_key(api_key, "heartbeat")
                    log.info(
                        "heartbeat lapsed for key %s…: cancelled %d orders",
                        api_key[:8],
                        len(cancelled),
                    )
            except Exception:  # noqa: BLE001 - the clock must keep ticking
                log.exception("sim clock step failed")

    # ------------------------------------------------------------------ WebSockets

    def _track(self, conn: WsConnection, add: bool) -> None:
        with self._ws_lock:
            (self._ws_conns.add if add else self._ws_conns.discard)(conn)

    def drop_connections(self, channel: str = "all") -> int:
        """Abort market and/or user WebSockets now (fault knob ``ws_drop``)."""
        with self._ws_lock:
            conns = [c for c in self._ws_conns if channel in ("all", c.channel)]
        for conn in conns:
            conn.abort("dropped by the sim")
        return len(conns)

    def ws_connections(self) -> int:
        with self._ws_lock:
            return len(self._ws_conns)

    def _on_exchange_event(self, channel: str, key: str, message: dict) -> None:
        """Engine listener (runs under the exchange lock): serialise once, enqueue, return."""
        if channel == "market":
            self.market_hub.publish(message)
        elif channel == "user":
            self.user_hub.publish(key, message)

    def _book_event(self, token_id: str) -> dict | None:
        """The WS ``book`` snapshot for a token (REST shape + event_type, as the real feed sends)."""
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

    def _read_json(self, conn: WsConnection, reader: wsproto.MessageReader):
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
            self.malformed_ws_messages += 1
            log.info("%r: ignoring non-JSON message", conn)
            return None

    def _market_session(self, conn: WsConnection, reader: wsproto.MessageReader) -> None:
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
                self.malformed_ws_messages += 1

    def _user_session(self, conn: WsConnection, reader: wsproto.MessageReader) -> None:
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
                self.malformed_ws_messages += 1
