"""Data API positions: parsing, classified errors (with `responses`), reconcile with lag and dust,
poller."""

import json
import queue
import threading
import time
from decimal import Decimal as D

import pytest
import requests
import responses
from prometheus_client import CollectorRegistry

from pmbot.errors import RejectedError, TransientError
from pmbot.metrics import Metrics
from pmbot.model import PositionRow, PositionsSnapshot
from pmbot.trading.position_check import PositionReconciler
from pmbot.venue.positions import (
    MalformedPositionsError,
    PositionsPoller,
    as_seed,
    fetch_positions,
)

API = "https://data-api.example.test"
USER = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
DOC_ROW = {
    "proxyWallet": USER,
    "asset": "21742633143463906290569050155826241533067272736897614950488156847949938836455",
    "conditionId": "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917",
    "size": 120.5,
    "avgPrice": 0.52,
    "initialValue": 62.66,
    "currentValue": 66.28,
    "cashPnl": 3.62,
    "percentPnl": 5.78,
    "totalBought": 120.5,
    "realizedPnl": 0.0,
    "percentRealizedPnl": 0.0,
    "curPrice": 0.55,
    "redeemable": False,
    "mergeable": True,
    "title": "Will X happen?",
    "slug": "will-x-happen",
    "icon": "https://x",
    "eventSlug": "x-event",
    "outcome": "Yes",
    "outcomeIndex": 0,
    "oppositeOutcome": "No",
    "oppositeAsset": "4833",
    "endDate": "2026-12-31",
    "negativeRisk": False,
}


def row(token, size, avg=0.5):
    return dict(DOC_ROW, asset=token, size=size, avgPrice=avg)


@responses.activate
def test_documented_row_parses_exactly_and_dust_is_requested():
    responses.get(f"{API}/positions", json=[DOC_ROW])
    (r,) = fetch_positions(API, USER)
    assert r.size == D("120.5") and r.avg_price == D("0.52") and r.cur_price == D("0.55")
    assert r.mergeable and not r.redeemable and r.outcome_index == 0
    qs = responses.calls[0].request.params
    assert qs["user"] == USER and qs["sizeThreshold"] == "0"


@responses.activate
def test_pages_until_a_short_page():
    responses.get(
        f"{API}/positions",
        json=[row(f"t{i}", 1) for i in range(500)],
        match=[
            responses.matchers.query_param_matcher(
                {"user": USER, "sizeThreshold": "0", "limit": "500", "offset": "0"}
            )
        ],
    )
    responses.get(
        f"{API}/positions",
        json=[row("last", 2)],
        match=[
            responses.matchers.query_param_matcher(
                {"user": USER, "sizeThreshold": "0", "limit": "500", "offset": "500"}
            )
        ],
    )
    rows = fetch_positions(API, USER)
    assert len(rows) == 501 and rows[-1].token_id == "last"


@responses.activate
def test_a_server_that_ignores_paging_does_not_loop_or_duplicate():
    responses.get(f"{API}/positions", json=[row(f"t{i}", 1) for i in range(500)])
    rows = fetch_positions(API, USER)
    assert len(rows) == 500 and len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize(
    "exc", [requests.ConnectTimeout("x"), requests.ReadTimeout("x"), requests.ConnectionError("x")]
)
def test_timeouts_and_connection_errors_are_transient(exc):
    responses.get(f"{API}/positions", body=exc)
    with pytest.raises(TransientError):
        fetch_positions(API, USER)


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_5xx_and_429_are_transient_with_retry_after(status):
    responses.get(f"{API}/positions", status=status, body="busy", headers={"Retry-After": "2"})
    with pytest.raises(TransientError) as err:
        fetch_positions(API, USER)
    assert err.value.status == status and err.value.retry_after == 2.0


@responses.activate
def test_4xx_is_rejected():
    responses.get(f"{API}/positions", status=400, json={"error": "bad user"})
    with pytest.raises(RejectedError) as err:
        fetch_positions(API, USER)
    assert not isinstance(err.value, TransientError)


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        "<html>502 bad gateway</html>",
        json.dumps({"data": []}),
        json.dumps([{"asset": "t"}]),
        json.dumps([dict(DOC_ROW, size="abc")]),
        json.dumps([dict(DOC_ROW, size=True)]),
        json.dumps([dict(DOC_ROW, asset=None)]),
        json.dumps(["row"]),
    ],
)
def test_malformed_bodies_are_a_clear_transient_error(body):
    responses.get(f"{API}/positions", body=body, status=200)
    with pytest.raises(MalformedPositionsError, match="positions"):
        fetch_positions(API, USER)


def test_as_seed_skips_zero_rows():
    rows = [PositionRow("a", "c", D("3"), D("0.4")), PositionRow("b", "c", D("0"), D("0"))]
    assert as_seed(rows) == {"a": (D("3"), D("0.4"))}


def rows_of(**sizes):
    return [PositionRow(t, "c", D(str(s)), D("0.5")) for t, s in sizes.items()]


def test_reconciler_ignores_dust_and_agreement():
    rec = PositionReconciler(settlement_lag_secs=10, dust=D("0.01"))
    assert rec.compare({"a": D("5"), "b": D("1.005")}, rows_of(a=5, b=1), now=0) == []


def test_mismatch_is_reported_then_adopted_once_after_the_lag():
    rec = PositionReconciler(settlement_lag_secs=10)
    local = {"a": D("10")}
    (first,) = rec.compare(local, rows_of(a=7), now=100)
    assert first.kind == "mismatch" and first.local == 10 and first.venue == 7
    assert rec.compare(local, rows_of(a=7), now=105) == []
    (adopt,) = rec.compare(local, rows_of(a=7), now=110)
    assert (
        adopt.kind == "adopt"
        and adopt.venue == 7
        and adopt.since == 100
        and adopt.avg_price == D("0.5")
    )
    assert rec.compare(local, rows_of(a=7), now=200) == []  # once
    (cleared,) = rec.compare({"a": D("7")}, rows_of(a=7), now=201)
    assert cleared.kind == "cleared"


def test_a_changing_difference_is_lag_and_restarts_the_clock():
    rec = PositionReconciler(settlement_lag_secs=10)
    rec.compare({"a": D("10")}, rows_of(a=5), now=0)
    (again,) = rec.compare({"a": D("10")}, rows_of(a=8), now=9)  # the Data API is catching up
    assert again.kind == "mismatch"
    assert rec.compare({"a": D("10")}, rows_of(a=8), now=15) == []
    assert rec.compare({"a": D("10")}, rows_of(a=8), now=19)[0].kind == "adopt"


def test_token_missing_on_either_side_and_filter():
    rec = PositionReconciler(settlement_lag_secs=0)
    acts = rec.compare({"mine": D("3")}, rows_of(theirs=4), now=0)
    assert {(a.token_id, a.local, a.venue) for a in acts} == {("mine", 3, 0), ("theirs", 0, 4)}
    rec2 = PositionReconciler(settlement_lag_secs=0)
    assert [
        a.token_id
        for a in rec2.compare({"mine": D("3")}, rows_of(theirs=4), now=0, tokens={"mine"})
    ] == ["mine"]


def test_poller_publishes_snapshots_and_counts_failures():
    out = queue.Queue()
    metrics = Metrics(CollectorRegistry())
    calls = []

    def fetch(url, user, session=None):
        calls.append(user)
        if len(calls) == 2:
            raise MalformedPositionsError("positions body broken")
        return rows_of(a=1)

    stop = threading.Event()
    p = PositionsPoller(
        API,
        USER,
        out,
        stop=stop,
        interval_secs=0.01,
        metrics=metrics,
        clock=lambda: 42.0,
        fetch=fetch,
    )
    p.start()
    snaps = [out.get(timeout=2), out.get(timeout=2)]
    stop.set()
    t0 = time.monotonic()
    p.join(2)
    assert not p._thread.is_alive() and time.monotonic() - t0 < 1.5
    assert all(isinstance(s, PositionsSnapshot) and s.taken_ts == 42.0 for s in snaps)
    assert p.failures >= 1
    assert metrics.feed_parse_errors_total.labels(kind="positions_malformed")._value.get() >= 1
