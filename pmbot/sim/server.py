"""SimServer: one loopback HTTP server that serves the CLOB REST API, the Data API (under
``/data-api``), Gamma (under ``/gamma``), the ``/_sim`` control endpoints, and upgrades
``/ws/market`` and ``/ws/user`` to WebSockets.

Threads (all named, all joined by :meth:`SimServer.stop`):
- ``sim-http``: the accept loop (``ThreadingHTTPServer.serve_forever``);
- ``sim-http-conn-N``: one per TCP connection (HTTP keep-alive, or a WebSocket's reader loop);
- ``sim-ws-<channel>-writer-N``: one per WebSocket, draining its bounded outbound queue;
- ``sim-clock``: calls ``exchange.step()`` every ``step_secs`` and sweeps lapsed heartbeats;
- ``sim-bench-flood``: only while a benchmark flood runs.

The transport is in ``http_transport``, the WebSocket sessions in ``ws_sessions``. The engine's
listener callbacks run under the exchange lock; they only serialise and enqueue.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

from pmbot.sim.auth import KeyStore
from pmbot.sim.bench_feed import BenchFeed
from pmbot.sim.deposit_wallet import SimAccounts
from pmbot.sim.faults import Faults
from pmbot.sim.heartbeats import Heartbeats
from pmbot.sim.http_transport import Handler, HttpServer
from pmbot.sim.markets import SimConfig, load_sim_config
from pmbot.sim.rest import RestApi
from pmbot.sim.ws_hub import MarketHub, UserHub, WsConnection
from pmbot.sim.ws_sessions import WsSessions

log = logging.getLogger(__name__)

WS_QUEUE_FRAMES = 100_000  # per connection; overflow drops the client (as the venue would)


class SimServer:
    """The simulator: ``start()``, use ``urls``, ``stop()``. ``exchange`` is the matching engine;
    ``faults`` drives misbehaviour from Python (same knobs as ``POST /_sim/control``)."""

    def __init__(
        self,
        config: SimConfig | str | dict[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chain_id: int = 137,
        ws_queue_frames: int = WS_QUEUE_FRAMES,
    ) -> None:
        from pmbot.sim.engine import Exchange

        self.config = config if isinstance(config, SimConfig) else load_sim_config(config)
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
        self.faults.set_silent_text = lambda text: setattr(self.market_hub, "silent_text", text)
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
        self.ws_sessions = WsSessions(
            exchange=self.exchange,
            bench=self.bench,
            keys=self.keys,
            faults=self.faults,
            market_hub=self.market_hub,
            user_hub=self.user_hub,
        )
        self.stopping = threading.Event()
        # stamp each request with when it reached the socket (Request.wire_ns; read per connection)
        self.wire_stamps = False
        self.urls: dict[str, str] = {}
        self._ws_lock = threading.Lock()
        self._ws_conns: set[WsConnection] = set()
        self._httpd: HttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopped = False
        self.exchange.add_listener(self._on_exchange_event)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._started:
            raise RuntimeError("SimServer already started")
        self._started = True
        httpd = self._httpd = HttpServer((self.host, self.port), Handler, self)
        self.port = int(httpd.server_address[1])
        base = f"{self.host}:{self.port}"
        self.urls = {
            "clob_url": f"http://{base}",
            "market_ws_url": f"ws://{base}/ws/market",
            "user_ws_url": f"ws://{base}/ws/user",
            "data_api_url": f"http://{base}/data-api",
            "gamma_url": f"http://{base}/gamma",
        }
        http = threading.Thread(
            target=httpd.serve_forever,
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
        httpd = self._httpd
        if self._stopped or not self._started or httpd is None:
            self._stopped = True
            return
        self._stopped = True
        self.stopping.set()
        self.bench.stop()
        httpd.shutdown()
        self.drop_connections("all")
        httpd.close_connections(timeout=5.0)
        httpd.server_close()
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

    def track_ws(self, conn: WsConnection, add: bool) -> None:
        with self._ws_lock:
            (self._ws_conns.add if add else self._ws_conns.discard)(conn)

    def drop_connections(self, channel: str = "all") -> int:
        """Abort market and/or user WebSockets now (fault knob ``ws_drop``)."""
        with self._ws_lock:
            conns = [c for c in self._ws_conns if channel in ("all", c.channel)]
        for conn in conns:
            conn.abort("dropped by the sim")
        return len(conns)

    @property
    def malformed_ws_messages(self) -> int:
        return self.ws_sessions.malformed

    def ws_connections(self) -> int:
        with self._ws_lock:
            return len(self._ws_conns)

    def _on_exchange_event(self, channel: str, key: str, message: dict) -> None:
        """Engine listener (runs under the exchange lock): serialise once, enqueue, return."""
        if channel == "market":
            self.market_hub.publish(message)
        elif channel == "user":
            self.user_hub.publish(key, message)
