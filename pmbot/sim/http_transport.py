"""The simulator's HTTP transport: a threading HTTP server whose connection threads are named,
tracked and joined on stop, and a request handler that turns HTTP into :class:`Request` /
:class:`Reply` for ``RestApi`` and upgrades ``/ws/market`` and ``/ws/user`` to WebSockets.

The handler applies the ``delay_ms`` and ``hang`` fault knobs around the REST call and answers
500 (and keeps serving) if an endpoint raises.
"""

from __future__ import annotations

import io
import itertools
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from pmbot.sim import wire_stamps, wsproto
from pmbot.sim.rest import Reply, Request
from pmbot.sim.ws_hub import WsConnection, dumps
from pmbot.sim.ws_sessions import WsSessions

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 << 20  # a 1000-id cancel batch is ~70 kB; the venue: "Payload exceeds the limit"
_conn_ids = itertools.count(1)


class RequestGate(Protocol):
    def response_delay_secs(self) -> float: ...


class RestHandler(Protocol):
    def handle(self, req: Request) -> Reply: ...


class SimHost(Protocol):
    """What the transport needs of the server that owns it."""

    @property
    def faults(self) -> RequestGate: ...
    @property
    def rest(self) -> RestHandler: ...
    @property
    def stopping(self) -> threading.Event: ...
    @property
    def ws_queue_frames(self) -> int: ...
    @property
    def ws_sessions(self) -> WsSessions: ...
    @property
    def wire_stamps(self) -> bool: ...

    def track_ws(self, conn: WsConnection, add: bool) -> None: ...


class HttpServer(ThreadingHTTPServer):
    """Names its per-connection threads, tracks their sockets so stop() can unblock keep-alive
    readers, and joins them itself."""

    daemon_threads = False
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler], sim: SimHost
    ) -> None:
        self.sim = sim
        self._conn_lock = threading.Lock()
        self._conns: dict[threading.Thread, socket.socket] = {}
        super().__init__(addr, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(
            target=self._serve_one,
            args=(request, client_address),
            name=f"sim-http-conn-{next(_conn_ids)}",
            daemon=False,
        )
        with self._conn_lock:
            self._conns[t] = request
        t.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pmbot-sim"
    sys_version = ""

    _stamps: wire_stamps.StampedReader | None = None

    def setup(self) -> None:
        super().setup()
        # Small request/response pairs: without NODELAY, Nagle + delayed ACK add ~40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert isinstance(self.server, HttpServer)
        if self.server.sim.wire_stamps and wire_stamps.enable(self.connection):
            # benchmarks: when each request reached the socket (pmbot.sim.wire_stamps)
            self.rfile.close()  # the makefile() reader holds a reference to the socket
            self._stamps = wire_stamps.StampedReader(self.connection)
            self.rfile = io.BufferedReader(self._stamps)

    def handle_one_request(self) -> None:
        if self._stamps is not None:
            self._stamps.mark()
        super().handle_one_request()

    def log_message(
        self, fmt: str, *args: Any
    ) -> None:  # route http.server's stderr chatter to logging
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
        assert isinstance(self.server, HttpServer)
        sim = self.server.sim
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
            wire_ns=self._stamps.first_ns if self._stamps is not None else None,
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
        # headers and body in ONE write (http.server buffers the headers in _headers_buffer)
        self._headers_buffer.append(b"\r\n" + data)  # type: ignore[attr-defined]  # see above
        self.flush_headers()

    def _upgrade(self, sim: SimHost, path: str) -> None:
        key = self.headers.get("Sec-WebSocket-Key")
        if not key:
            self._send(Reply(400, {"error": "missing Sec-WebSocket-Key"}))
            return
        self.wfile.write(wsproto.handshake_response(key))
        self.wfile.flush()
        self.close_connection = True
        channel = "market" if path == "/ws/market" else "user"
        conn = WsConnection(self.connection, channel, queue_size=sim.ws_queue_frames)
        sim.track_ws(conn, True)
        try:
            sessions = sim.ws_sessions
            session = sessions.market_session if channel == "market" else sessions.user_session
            session(conn, wsproto.MessageReader(self.rfile))
        except (EOFError, OSError):
            pass
        except wsproto.ProtocolError as exc:
            conn.close(exc.code, str(exc))
        finally:
            sim.ws_sessions.market_hub.remove(conn)
            sim.ws_sessions.user_hub.remove(conn)
            conn.close()  # polite: flush what is queued plus a close frame (no-op if aborted)
            conn.join(1.0)
            conn.abort("session ended")
            conn.join(5.0)
            sim.track_ws(conn, False)
