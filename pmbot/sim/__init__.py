"""pmbot.sim: a local exchange that speaks Polymarket's CLOB V2 protocol (REST + WebSockets + Data
API + Gamma) on loopback, with a matching engine, background traders and fault knobs.

    from pmbot.sim import SimServer
    with SimServer() as sim:
        sim.urls["clob_url"], sim.urls["market_ws_url"], ...
"""

from pmbot.sim.server import SimServer

__all__ = ["SimServer"]
