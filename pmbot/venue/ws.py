"""A reconnecting WebSocket runner shared by the market and user channels.

Why this exists: websocket-client's ``WebSocketApp`` has two traps that make a broken handler look
exactly like a quiet market (issue 4, "websocket-client pitfalls"):

* with ``skip_utf8_validation=True`` (which we want: the library's pure-Python UTF-8 check costs
  most of the receive time) text frames reach ``on_message`` as ``bytes``, so the venue's ``PONG``
  arrives as ``b"PONG"`` and a ``text == "PONG"`` check silently never matches;
* an exception raised inside a callback is caught by the library and handed to ``on_error``; if that
  only logs at debug level, the feed goes quiet with no trace.

``WsRunner`` decodes frames itself, records ``PONG`` (never passed on), catches handler exceptions,
counts them per kind and logs the first of each kind with its traceback. It sends Polymarket's
text-frame ``PING`` (not a WebSocket ping frame) every ``ping_interval`` seconds and reconnects
with capped exponential backoff and full jitter after any disconnect. ``rotate`` forces a
reconnect (used when a connection answers PONG but delivers no data).

Read-ahead (why, measured in ``bench/bench_ingest.py``): websocket-client reads every frame with
three or four syscalls (a ``select``, 2 header bytes, 2 extended-length bytes, the payload), and
each syscall releases the GIL. With one connection per 200 tokens, five reader threads then hand the
GIL to each other several times per frame, and the feed ran at a third of the raw receive rate. Once
the handshake is done (websocket-client reads the HTTP response a byte at a time, so nothing is
buffered yet) ``_handle_open`` wraps the connection's socket in ``_ReadAheadSocket``, which serves
those small reads from one 64 KiB ``recv``; ``_BufferedApp`` makes websocket-client's loop use the
dispatcher that asks ``pending()`` before blocking in ``select`` (the one it uses for TLS, where the
same problem exists inside OpenSSL), so frames already read are never left waiting. Frames still
reach ``on_message`` through websocket-client's own callback path.

Accelerators: none. websocket-client picks up ``wsaccel`` if installed, but it only speeds up UTF-8
validation (skipped here) and frame masking (only client frames are masked); measured with
``bench/bench_ingest.py`` it made no difference to the feed, so it is not a dependency.

Threads: ``ws-<name>`` runs the connection loop; ``ws-<name>-ping`` sends PINGs and notices the
shared ``stop`` event. Both stop on ``close()`` or ``stop`` and are joined by ``join()``. The
counters (``frames``, ``reconnects``, ``handler_errors``, ``last_message_ns``, ``last_pong_ns``)
have one writer, the connection thread (every callback runs there); ``rotations`` is counted under
the lock because ``rotate()`` is called from other threads. ``last_message_ns`` counts every
non-PONG frame, keep-alive text included: the market feed judges silence on its own data timestamp.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import websocket

from pmbot.venue.polling import STOP_POLL_SECS  # how soon the ping thread sees a stop
from pmbot.venue.ws_socket import BufferedApp as _BufferedApp
from pmbot.venue.ws_socket import ReadAheadSocket as _ReadAheadSocket

log = logging.getLogger(__name__)


class WsMetrics(Protocol):
    """What the runner uses of ``pmbot.metrics.Metrics``, looked up by name so a partial fake (or
    one without a metric) still works: each attribute is a labelled prometheus_client metric."""

    ws_connection_up: Any
    ws_reconnects_total: Any
    ws_rotations_total: Any
    ws_handler_errors_total: Any


_PONG_TEXT = "PONG"
_STABLE_SECS = 5.0  # a connection that lived this long resets the backoff


class WsRunner:
    """One WebSocket connection that keeps itself connected until closed.

    ``on_open(runner)`` runs on every (re)connect: send the subscription there.
    ``on_text(text, recv_ns)`` gets every non-PONG frame as ``str``; ``recv_ns`` is
    ``time.monotonic_ns()`` taken when the frame came off the socket.
    ``on_state(up, reason)`` is told about connects (``True, ""``) and disconnects.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        on_open: Callable[[WsRunner], None],
        on_text: Callable[[str, int], None],
        on_state: Callable[[bool, str], None] | None = None,
        stop: threading.Event,
        ping_interval: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rng: random.Random | None = None,
        metrics: WsMetrics | None = None,
        skip_utf8_validation: bool = True,
    ) -> None:
        self.name = name
        self.url = url
        self._on_open = on_open
        self._on_text = on_text
        self._on_state = on_state
        self._stop = stop
        self.ping_interval = ping_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._rng = rng or random.Random()
        self._metrics = metrics
        self.skip_utf8_validation = skip_utf8_validation

        self.connected = False
        self.last_message_ns = 0  # last non-PONG frame
        self.last_pong_ns = 0
        self.connected_ns = 0
        self.reconnects = 0
        self.rotations = 0
        self.frames = 0
        self.handler_errors: dict[str, int] = {}

        self._halt = threading.Event()  # set by close(): no more reconnects
        self._lock = threading.Lock()  # guards _app, _reason and rotations
        self._app: websocket.WebSocketApp | None = None
        self._reason = ""
        self._thread: threading.Thread | None = None
        self._ping_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"WsRunner {self.name} already started")
        self._thread = threading.Thread(target=self._run, name=f"ws-{self.name}", daemon=False)
        self._ping_thread = threading.Thread(
            target=self._ping_loop, name=f"ws-{self.name}-ping", daemon=False
        )
        self._thread.start()
        self._ping_thread.start()

    def send(self, text: str) -> bool:
        """Send a text frame; False if not connected or the send failed (the loop will
        reconnect)."""
        app = self._app
        if app is None or not self.connected:
            return False
        try:
            app.send(text)
            return True
        except Exception as exc:  # noqa: BLE001 - any send failure means "not sent"; the read side reconnects
            log.debug("ws %s send failed: %r", self.name, exc)
            return False

    def rotate(self, reason: str) -> None:
        """Drop the current connection now; the loop reconnects after a short jittered delay."""
        log.warning("ws %s rotating: %s", self.name, reason)
        with self._lock:
            self.rotations += 1  # rotate() may be called from any thread
        self._count("ws_rotations_total")
        self._abort(f"rotated: {reason}")

    def close(self) -> None:
        """Stop for good: close the socket, no reconnect. Idempotent."""
        if self._halt.is_set():
            return
        self._halt.set()
        self._abort("closed")

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in (self._thread, self._ping_thread):
            if thread is None:
                continue
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ connection loop

    def _stopping(self) -> bool:
        return self._halt.is_set() or self._stop.is_set()

    def _run(self) -> None:
        attempt = 0
        while not self._stopping():
            app = _BufferedApp(
                self.url,
                on_open=self._handle_open,
                on_message=self._handle_message,
                on_error=self._handle_error,
                on_close=self._handle_close,
            )
            with self._lock:
                self._app = app
                self._reason = ""
            try:
                # reconnect=0: this loop owns reconnects (backoff, jitter, stop); no WS-level pings:
                # Polymarket wants a text "PING", sent by the ping thread.
                app.run_forever(
                    skip_utf8_validation=self.skip_utf8_validation, reconnect=0, ping_interval=0
                )
            except Exception as exc:  # noqa: BLE001 - never let the connection thread die
                self._set_reason(f"run_forever raised {exc!r}")
                log.exception("ws %s: run_forever raised", self.name)
            was_up = self.connected
            lived_ns = time.monotonic_ns() - self.connected_ns if was_up else 0
            self.connected = False
            with self._lock:
                self._app = None
                reason = self._reason or "connection closed"
            self._gauge("ws_connection_up", 0)
            if was_up:
                self._notify_state(False, reason)
            if self._stopping():
                break
            if lived_ns >= _STABLE_SECS * 1e9:
                attempt = 0
            delay = self._backoff(attempt)
            attempt += 1
            self.reconnects += 1
            self._count("ws_reconnects_total")
            log.info("ws %s disconnected (%s); reconnecting in %.2fs", self.name, reason, delay)
            if self._halt.wait(delay):
                break
        log.debug("ws %s loop ended", self.name)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(max, initial * 2**attempt))."""
        cap = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt, 30)))
        return self._rng.uniform(0.0, cap)

    def _ping_loop(self) -> None:
        last_ping = time.monotonic()
        while not self._halt.wait(min(self.ping_interval, STOP_POLL_SECS)):
            if self._stop.is_set():
                self.close()
                break
            now = time.monotonic()
            if self.connected and now - last_ping >= self.ping_interval:
                last_ping = now
                self.send("PING")

    def _abort(self, reason: str) -> None:
        """Wake the reader by shutting the socket down (WebSocket.close() would race the reader
        thread)."""
        self._set_reason(reason)
        with self._lock:
            app = self._app
        if app is None:
            return
        if self._halt.is_set():
            app.keep_running = False
        sock = app.sock
        if sock is None:
            return
        try:
            sock.send_close()
        except Exception:  # noqa: BLE001 - best effort politeness before the abort
            pass
        try:
            sock.abort()
        except Exception:  # noqa: BLE001
            pass

    def _set_reason(self, reason: str) -> None:
        with self._lock:
            if not self._reason:
                self._reason = reason

    # ------------------------------------------------------------------ websocket-client callbacks

    def _handle_open(self, app: websocket.WebSocketApp) -> None:
        if self._stopping():
            # close() raced the connect: run_forever resets keep_running, so stop it here.
            app.keep_running = False
            return
        conn = app.sock
        if (
            conn is not None
            and conn.sock is not None
            and not isinstance(conn.sock, _ReadAheadSocket)
        ):
            # a duck-typed socket: websocket-client only calls the methods ReadAheadSocket forwards
            conn.sock = _ReadAheadSocket(conn.sock)  # type: ignore[assignment]
        self.connected = True
        self.connected_ns = time.monotonic_ns()
        self._gauge("ws_connection_up", 1)
        log.info("ws %s connected to %s", self.name, self.url)
        self._notify_state(True, "")
        try:
            self._on_open(self)
        except Exception as exc:  # noqa: BLE001 - counted and logged, never swallowed silently
            self._handler_failed("on_open", exc)

    def _handle_message(self, app: websocket.WebSocketApp, data: str | bytes) -> None:
        recv_ns = time.monotonic_ns()
        if isinstance(data, (bytes, bytearray)):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._handler_failed("bad_utf8", exc)
                return
        else:
            text = data
        if text == _PONG_TEXT:
            self.last_pong_ns = recv_ns
            return
        self.last_message_ns = recv_ns
        self.frames += 1
        try:
            self._on_text(text, recv_ns)
        except Exception as exc:  # noqa: BLE001 - counted and logged, never swallowed silently
            self._handler_failed(type(exc).__name__, exc)

    def _handle_error(self, app: websocket.WebSocketApp, exc: BaseException) -> None:
        self._set_reason(f"error: {exc!r}")
        log.debug("ws %s error: %r", self.name, exc)

    def _handle_close(
        self, app: websocket.WebSocketApp, status: int | None, message: str | None
    ) -> None:
        if status is not None:
            self._set_reason(f"closed by peer ({status} {message or ''})".strip())

    # ------------------------------------------------------------------ helpers

    def _notify_state(self, up: bool, reason: str) -> None:
        if self._on_state is None:
            return
        try:
            self._on_state(up, reason)
        except Exception as exc:  # noqa: BLE001
            self._handler_failed("on_state", exc)

    def _handler_failed(self, kind: str, exc: BaseException) -> None:
        first = kind not in self.handler_errors
        self.handler_errors[kind] = self.handler_errors.get(kind, 0) + 1
        self._count("ws_handler_errors_total", kind=kind)
        if first:
            log.error(
                "ws %s handler error (%s), first of its kind; later ones are only counted",
                self.name,
                kind,
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def _count(self, name: str, **labels: str) -> None:
        metric = getattr(self._metrics, name, None) if self._metrics is not None else None
        if metric is not None:
            metric.labels(connection=self.name, **labels).inc()

    def _gauge(self, name: str, value: float) -> None:
        metric = getattr(self._metrics, name, None) if self._metrics is not None else None
        if metric is not None:
            metric.labels(connection=self.name).set(value)

    def __repr__(self) -> str:
        return f"WsRunner(name={self.name!r}, url={self.url!r}, connected={self.connected})"
