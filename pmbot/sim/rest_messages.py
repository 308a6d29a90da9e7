"""The request and reply values the simulator's REST routes work on, and helpers they share.

No sockets here: the transport (``http_transport``) builds a :class:`Request` and sends the
:class:`Reply`; the route families (``rest_market_data``, ``rest_orders``, ``rest_data_gamma``,
``rest_control``) are pure request -> reply functions over the exchange.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmbot.sim.faults import FaultReply


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any  # JSON-able; a str is sent as a JSON string
    headers: tuple[tuple[str, str], ...] = ()
    hang_secs: float = 0.0  # answer this much later (the order was processed already)


def error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # without query string
    query: dict  # first value of each parameter
    headers: Any  # case-insensitive mapping (http.client.HTTPMessage)
    body: str
    client_ip: str = "127.0.0.1"
    query_lists: dict = field(default_factory=dict)  # every value of each parameter
    # when the request's first bytes reached the sim's socket (kernel stamp, time.monotonic_ns()
    # terms; ``wire_stamps``); None unless the server stamps arrivals (``SimServer.wire_stamps``)
    wire_ns: int | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Handler = Callable[[Request], Reply]


def fault_reply(reply: FaultReply | None) -> Reply | None:
    return None if reply is None else Reply(reply.status, reply.body, reply.headers)


def top(snapshot: Mapping[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    """Best bid and ask of a REST-shaped book (best level is LAST in each array)."""
    bids = [Decimal(level["price"]) for level in snapshot.get("bids", [])]
    asks = [Decimal(level["price"]) for level in snapshot.get("asks", [])]
    return (max(bids) if bids else None, min(asks) if asks else None)


def multi(req: Request, name: str) -> list[str]:
    """Gamma repeats list parameters (``slug=a&slug=b``) or comma-joins them."""
    items = req.query_lists.get(name) or ([req.query[name]] if req.query.get(name) else [])
    return [part for item in items for part in item.split(",") if part]


def is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "localhost")
