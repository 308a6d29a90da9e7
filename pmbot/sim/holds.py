"""Test knob: see in which order requests reach the simulator, and hold an answer until released.

``Holds.install(sim)`` (or ``python -m pmbot.sim --holds``) wraps ``sim.rest.handle`` and turns on
the server's ``wire_stamps`` (no change to the REST routes). Every request is recorded as it
reaches the REST layer (its body read, before the exchange sees it) with ``time.monotonic_ns()``
(one clock for every process on the machine), and with when its first bytes reached the sim's
socket (the kernel's stamp, ``pmbot.sim.wire_stamps``: the arrival a latency benchmark wants, free
of the sim's own delays). ``hold_next(method, path)`` makes the next such request wait, once the
exchange processed it, before its answer is sent, until released. The same from another process,
loopback only: ``POST /_sim/holds/hold {"method", "path"}``, ``POST /_sim/holds/release``,
``GET /_sim/holds/held``, ``GET /_sim/holds/arrivals`` (``?clear=1`` empties the list; each row is
``[seq, method, path, at_ns, body, wire_ns]``). For tests and benchmarks only; a sim without
``install`` is untouched.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pmbot.sim.rest import Reply, Request, error

CONTROL = "/_sim/holds/"


@dataclass(frozen=True, slots=True)
class Arrival:
    seq: int
    method: str
    path: str
    at_ns: int  # time.monotonic_ns() when the request reached the REST layer
    body: str
    wire_ns: int | None = None  # when it reached the socket (same clock); None: no kernel stamp


def _loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


class Holds:
    def __init__(self, inner: Callable[[Request], Reply], stopping: threading.Event) -> None:
        self._inner = inner
        self._stopping = stopping
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._armed: dict[tuple[str, str], threading.Event] = {}
        self._held: set[tuple[str, str]] = set()  # answers being held now
        self._gates: list[threading.Event] = []

    @classmethod
    def install(cls, sim: Any) -> Holds:
        holds = cls(sim.rest.handle, sim.stopping)
        sim.rest.handle = holds
        sim.wire_stamps = True  # connections accepted from now on stamp what they receive
        return holds

    def __call__(self, req: Request) -> Reply:
        if req.path.startswith(CONTROL):
            return self._control(req)
        key = (req.method, req.path)
        with self._lock:
            self._arrivals.append(
                Arrival(
                    len(self._arrivals),
                    req.method,
                    req.path,
                    time.monotonic_ns(),
                    req.body,
                    req.wire_ns,
                )
            )
            gate = self._armed.pop(key, None)
        reply = self._inner(req)
        if gate is not None:
            with self._lock:
                self._held.add(key)
            while not gate.wait(0.1) and not self._stopping.is_set():
                pass  # the held answer waits for release() or the sim's stop
            with self._lock:
                self._held.discard(key)
        return reply

    def hold_next(self, method: str, path: str) -> threading.Event:
        """Hold the answer to the next ``method path`` request; set the event to release it."""
        gate = threading.Event()
        with self._lock:
            self._armed[(method, path)] = gate
            self._gates.append(gate)
        return gate

    def release_all(self) -> None:
        with self._lock:
            gates, self._gates = self._gates, []
            self._armed.clear()
        for gate in gates:
            gate.set()

    def _control(self, req: Request) -> Reply:
        if not _loopback(req.client_ip):
            return error(403, "control endpoints are loopback only")
        what = (req.method, req.path[len(CONTROL) :])
        if what == ("POST", "hold"):
            body = req.json() or {}
            self.hold_next(str(body["method"]).upper(), str(body["path"]))
            return Reply(200, {"ok": True})
        if what == ("POST", "release"):
            self.release_all()
            return Reply(200, {"ok": True})
        if what == ("GET", "held"):
            return Reply(200, sorted(list(k) for k in self.held()))
        if what == ("GET", "arrivals"):
            rows = [[a.seq, a.method, a.path, a.at_ns, a.body, a.wire_ns] for a in self.arrivals()]
            if req.query.get("clear"):
                self.clear()
            return Reply(200, rows)
        return error(404, "not found")

    def held(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._held)

    def arrivals(self, method: str | None = None, path: str | None = None) -> list[Arrival]:
        with self._lock:
            return [
                a
                for a in self._arrivals
                if (method is None or a.method == method) and (path is None or a.path == path)
            ]

    def clear(self) -> None:
        with self._lock:
            self._arrivals.clear()
