"""The sim with holds records when each request reached its socket (the kernel's stamp) beside when
its REST layer read it; a latency benchmark measures arrivals on the former (issue 20)."""

from __future__ import annotations

import time

import requests

from pmbot.sim.holds import Holds
from tests.integration.sim_support import start_sim


def test_arrivals_carry_the_socket_stamp_before_the_read():
    sim = start_sim()
    try:
        holds = Holds.install(sim)
        url = sim.urls["clob_url"]
        with requests.Session() as session:
            before = time.monotonic_ns()
            for _ in range(5):  # one keep-alive connection
                assert session.get(f"{url}/ok", timeout=10).status_code == 200
            after = time.monotonic_ns()
            rows = session.get(f"{url}/_sim/holds/arrivals", timeout=10).json()
        arrivals = holds.arrivals("GET", "/ok")
        assert len(arrivals) == 5
        # the connection's first request may have come before the option was set; later ones not
        stamped = [a for a in arrivals[1:] if a.wire_ns is not None]
        assert len(stamped) == 4
        slack = 5_000_000  # the stamp's realtime -> monotonic conversion
        for a in stamped:
            assert before - slack <= a.wire_ns <= a.at_ns + slack
            assert a.at_ns <= after
        assert [len(r) for r in rows] == [6] * 5
        assert [r[5] for r in rows[1:]] == [a.wire_ns for a in arrivals[1:]]
    finally:
        sim.stop()
