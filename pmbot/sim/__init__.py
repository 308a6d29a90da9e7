"""pmbot.sim: a local exchange that speaks Polymarket's CLOB V2 protocol (REST + WebSockets + Data
API + Gamma) on loopback, with a matching engine, background traders and fault knobs.

    from pmbot.sim import SimServer
    with SimServer() as sim:
        sim.urls["clob_url"], sim.urls["market_ws_url"], ...

Modules, by responsibility:

- server (``SimServer``: lifecycle, clock thread), http_transport, ws_sessions, ws_hub, wsproto;
- rest (route tables, dispatch), rest_messages, rest_market_data, rest_orders, rest_data_gamma,
  rest_control (``/_sim``), ports (the Protocols the routes need), auth, heartbeats, faults;
- engine (``Exchange``, the locked public API), order_checks, order_path, matching, orderbook,
  ledger, records (orders and trades, with the retention that bounds memory), publisher,
  timers, front_run, knobs;
- markets (``SimConfig``, YAML), traders (background makers and takers), payloads and views
  (venue-shaped JSON), paper (paper mode's mirror), bench_feed (benchmark markets and flood).
"""

from pmbot.sim.server import SimServer

__all__ = ["SimServer"]
