"""Shared helpers for the simulator's integration tests (tests/integration/test_sim_*)."""

from __future__ import annotations

import json
import time

import yaml

from pmbot.sim import SimServer
from pmbot.sim.markets import BUNDLED_CONFIG, load_sim_config
from tests.waiting import timeout_scale

KEY_A = "0x" + "a1" * 32
KEY_B = "0x" + "b2" * 32
KEY_C = "0x" + "c3" * 32


def quiet_config(**overrides):
    """The bundled config without background traders (a deterministic, empty book) and with fast
    settlement, so tests see only their own orders."""
    with open(BUNDLED_CONFIG, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    raw.update(
        {
            "background": False,
            "settle_mined_secs": 0.05,
            "settle_confirmed_secs": 0.1,
            "step_secs": 0.02,
        }
    )
    raw.update(overrides)
    return load_sim_config(raw)


def start_sim(**overrides) -> SimServer:
    sim = SimServer(quiet_config(**overrides))
    sim.start()
    return sim


def first_market(sim, *, neg_risk=False):
    return next(
        m
        for m in sim.exchange.markets.values()
        if m.neg_risk == neg_risk and m.tick == m.base_tick and str(m.tick) == "0.01"
    )


def recv_json(ws, *, skip_pong=True):
    while True:
        text = ws.recv()
        if skip_pong and text == "PONG":
            continue
        return json.loads(text)


def wait_for(ws, predicate, timeout=10.0):
    """Read messages (objects or arrays) until one satisfies ``predicate``; returns it.

    ``timeout`` (scaled by ``PMBOT_TEST_TIMEOUT_SCALE``) is a deadline for a busy machine: the
    wait ends at the first matching message. Fails naming the last messages seen."""
    deadline = time.monotonic() + timeout * timeout_scale()
    seen: list[object] = []
    while (remaining := deadline - time.monotonic()) > 0:
        ws.settimeout(max(0.01, remaining))
        try:
            text = ws.recv()
        except Exception as exc:  # timeout: report what was seen
            raise AssertionError(f"no matching message in {timeout}s; saw {seen[-5:]}") from exc
        if text == "PONG":
            continue
        msg = json.loads(text)
        seen.append(msg)
        if predicate(msg):
            return msg
    raise AssertionError(f"no matching message in {timeout}s; saw {seen[-5:]}")


def clob_client(sim, key):
    from py_clob_client_v2.client import ClobClient

    client = ClobClient(sim.urls["clob_url"], 137, key=key)
    client.set_api_creds(client.create_or_derive_api_key())
    return client
