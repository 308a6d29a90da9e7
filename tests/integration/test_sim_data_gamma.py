"""Data API /positions and Gamma market/event lookups, in the documented shapes, and the CLI."""

import json
import signal
import subprocess
import sys
import time

import pytest
import requests
import websocket
from py_clob_client_v2.clob_types import OrderArgs

from tests.conftest import ROOT
from tests.integration.sim_support import KEY_A, KEY_B, clob_client, first_market, start_sim


@pytest.fixture(scope="module")
def sim():
    s = start_sim()
    yield s
    s.stop()


def test_positions_after_a_fill(sim):
    m = first_market(sim)
    a, b = clob_client(sim, KEY_A), clob_client(sim, KEY_B)
    a.create_and_post_order(
        OrderArgs(token_id=m.yes_token, price=0.40, size=10, side="BUY"), post_only=True
    )
    b.create_and_post_order(OrderArgs(token_id=m.no_token, price=0.60, size=10, side="BUY"))
    rows = requests.get(
        sim.urls["data_api_url"] + "/positions", params={"user": a.get_address()}, timeout=5
    ).json()
    assert isinstance(rows, list) and len(rows) == 1
    row = rows[0]
    assert (row["asset"], row["conditionId"], row["outcome"], row["oppositeAsset"]) == (
        m.yes_token,
        m.condition_id,
        "Yes",
        m.no_token,
    )
    assert (
        row["size"] == 10
        and row["avgPrice"] == 0.4
        and row["proxyWallet"] == a.get_address().lower()
    )
    b_rows = requests.get(
        sim.urls["data_api_url"] + "/positions", params={"user": b.get_address()}, timeout=5
    ).json()
    assert [(r["asset"], r["size"]) for r in b_rows] == [(m.no_token, 10)]
    small = requests.get(
        sim.urls["data_api_url"] + "/positions",
        params={"user": a.get_address(), "sizeThreshold": 11},
        timeout=5,
    ).json()
    assert small == []
    bal = a.get_balance_allowance()
    assert bal["balance"] == str((10000 - 4) * 1_000_000)


def test_gamma_market_by_slug(sim):
    m = first_market(sim)
    g = requests.get(f"{sim.urls['gamma_url']}/markets/slug/{m.slug}", timeout=5).json()
    assert g["conditionId"] == m.condition_id and g["slug"] == m.slug
    assert json.loads(g["outcomes"]) == ["Yes", "No"]
    assert json.loads(g["clobTokenIds"]) == [m.yes_token, m.no_token]
    assert (
        g["negRisk"] is False and g["enableOrderBook"] and g["acceptingOrders"] and not g["closed"]
    )
    assert g["orderMinSize"] == 5 and g["orderPriceMinTickSize"] == 0.01 and g["endDate"]
    assert g["feeSchedule"]["rate"] == float(m.fee_rate)
    listed = requests.get(
        f"{sim.urls['gamma_url']}/markets", params={"slug": m.slug}, timeout=5
    ).json()
    assert [x["conditionId"] for x in listed] == [m.condition_id]
    assert requests.get(f"{sim.urls['gamma_url']}/markets/slug/nope", timeout=5).status_code == 404


def test_gamma_neg_risk_event(sim):
    event = next(iter(sim.exchange.events.values()))
    e = requests.get(f"{sim.urls['gamma_url']}/events/slug/{event.slug}", timeout=5).json()
    assert e["slug"] == event.slug and e["negRisk"] is True and e["negRiskAugmented"] is False
    assert [mk["conditionId"] for mk in e["markets"]] == list(event.condition_ids)
    assert all(
        mk["negRisk"] is True and mk["negRiskMarketID"] == e["markets"][0]["negRiskMarketID"]
        for mk in e["markets"]
    )
    assert all(mk["groupItemTitle"] for mk in e["markets"])


def test_clob_market_views(sim):
    m = first_market(sim)
    url = sim.urls["clob_url"]
    listing = requests.get(url + "/markets", timeout=5).json()
    assert listing["next_cursor"] == "LTE=" and {x["condition_id"] for x in listing["data"]} >= {
        m.condition_id
    }
    one = requests.get(f"{url}/markets/{m.condition_id}", timeout=5).json()
    assert [t["token_id"] for t in one["tokens"]] == [m.yes_token, m.no_token]
    info = requests.get(f"{url}/clob-markets/{m.condition_id}", timeout=5).json()
    assert info["mts"] == 0.01 and info["mos"] == 5 and "nr" not in info
    assert (
        requests.get(f"{url}/markets-by-token/{m.no_token}", timeout=5).json()["condition_id"]
        == m.condition_id
    )
    assert requests.get(url + "/neg-risk", params={"token_id": m.yes_token}, timeout=5).json() == {
        "neg_risk": False
    }
    assert requests.get(url + "/fee-rate", params={"token_id": m.yes_token}, timeout=5).json() == {
        "base_fee": m.fee_rate_bps
    }
    books = requests.post(
        url + "/books", json=[{"token_id": m.yes_token}, {"token_id": m.no_token}], timeout=5
    )
    assert [b["asset_id"] for b in books.json()] == [m.yes_token, m.no_token]


def test_cli_prints_urls_and_exits_cleanly_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmbot.sim", "--port", "0", "--seed", "11", "--retention-secs", "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        urls = dict(part.split("=", 1) for part in line.split())
        assert list(urls) == [
            "clob_url",
            "market_ws_url",
            "user_ws_url",
            "data_api_url",
            "gamma_url",
        ]
        assert requests.get(urls["clob_url"] + "/version", timeout=5).json() == {"version": 2}
        stats = requests.get(urls["clob_url"] + "/_sim/stats", timeout=5).json()
        assert stats["retention_secs"] == 5.0 and stats["open_orders"] > 0
        ws = websocket.create_connection(urls["market_ws_url"], timeout=5)
        ws.send("PING")
        assert ws.recv() == "PONG"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0  # with a client still connected
        ws.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_finished_records_leave_after_the_retention_window_positions_stay():
    s = start_sim(retention_secs=0.5)
    try:
        m = first_market(s)
        a, b = clob_client(s, KEY_A), clob_client(s, KEY_B)
        a.create_and_post_order(
            OrderArgs(token_id=m.yes_token, price=0.40, size=10, side="BUY"), post_only=True
        )
        b.create_and_post_order(OrderArgs(token_id=m.no_token, price=0.60, size=10, side="BUY"))
        assert len(a.get_trades()) == 1
        stats = s.urls["clob_url"] + "/_sim/stats"
        deadline = time.monotonic() + 30
        while requests.get(stats, timeout=5).json()["pruned_trades"] < 1:
            assert time.monotonic() < deadline, "the trade was never pruned"
            time.sleep(0.05)
        counts = requests.get(stats, timeout=5).json()
        assert (counts["trades"], counts["orders"], counts["pruned_orders"]) == (0, 0, 2)
        assert a.get_trades() == [] and b.get_trades() == []
        rows = requests.get(
            s.urls["data_api_url"] + "/positions", params={"user": a.get_address()}, timeout=5
        ).json()
        assert [(r["asset"], r["size"]) for r in rows] == [(m.yes_token, 10)]
    finally:
        s.stop()


def test_garbage_requests_get_answers_not_crashes(sim):
    import socket

    url = sim.urls["clob_url"]
    assert (
        requests.post(url + "/order", data="{not json", timeout=5).status_code == 401
    )  # auth comes first
    assert requests.get(url + "/nope", timeout=5).status_code == 404
    assert requests.get(url + "/book", params={"token_id": "123"}, timeout=5).status_code == 404
    host, port = url[len("http://") :].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /books HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400")
    assert requests.get(url + "/ok", timeout=5).json() == "OK"  # still serving
