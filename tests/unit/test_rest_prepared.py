"""Issue 20's split REST calls against a real local HTTP server: a cancel built and signed ahead
(``prepare_cancel``) and written later in one go (``send_cancel``), posts and cancels written on the
caller's thread whose answers are read later (``begin_post`` / ``begin_cancel``, ``finish``): the
exact bytes and L2 signature, the blocking calls' answer shapes, a busy lane or an empty rate
budget sending nothing, and transport failures classified as the blocking calls classify them."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from pmbot.errors import TransientError, UnknownOutcomeError
from pmbot.ratelimit import BucketLimit, RateBudget
from pmbot.venue.auth import ApiCreds, hmac_signature
from pmbot.venue.rest import ClobRest
from tests.waiting import wait_for

ADDRESS = "0x2222222222222222222222222222222222222222"
CREDS = ApiCreds("api-key-1", base64.urlsafe_b64encode(b"s" * 32).decode(), "passphrase-1")
NOW = 1_767_000_000
GONE = "order can't be found - already canceled or matched"


class Venue(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = []  # (method, path, headers, body)
        self.bad_signatures = 0
        self.drop = False  # read the request, then close the connection without an answer
        self.not_canceled: dict[str, str] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        headers = dict(self.headers)
        expected = hmac_signature(
            CREDS.secret, int(headers.get("POLY_TIMESTAMP", 0)), self.command, self.path, body
        )
        if headers.get("POLY_SIGNATURE") != expected or headers.get("POLY_API_KEY") != "api-key-1":
            self.server.bad_signatures += 1
        self.server.seen.append((self.command, self.path, headers, body))
        if self.server.drop:
            self.close_connection = True
            return
        if self.command == "POST":
            answer = [{"success": True, "orderID": "0xa", "status": "live"}]
        else:
            ids = json.loads(body)
            nc = {i: r for i, r in self.server.not_canceled.items() if i in ids}
            answer = {"canceled": [i for i in ids if i not in nc], "not_canceled": nc}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_DELETE = do_GET = _answer


@pytest.fixture
def venue():
    server = Venue()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


class WallClock:
    def __init__(self):
        self.now = float(NOW)

    def __call__(self):
        return self.now


def client(port, **kw) -> ClobRest:
    return ClobRest(
        f"http://127.0.0.1:{port}", creds=CREDS, address=ADDRESS, timeout=(1.0, 2.0), **kw
    )


@pytest.fixture
def clock():
    return WallClock()


@pytest.fixture
def rest(venue, clock):
    c = client(venue.server_address[1], clock=clock)
    yield c
    c.close()


def test_a_prepared_cancel_goes_out_as_built_and_signed(rest, venue, clock):
    venue.not_canceled = {"0x2": GONE}
    prepared = rest.prepare_cancel(["0x1", "0x2"])
    assert prepared is not None
    assert venue.seen == []  # built, not sent
    clock.now += 3  # the request keeps the timestamp it was signed with
    begun = rest.send_cancel(prepared, 2)
    assert begun is not None
    result = begun.finish()
    [(method, path, headers, body)] = venue.seen
    assert (method, path) == ("DELETE", "/orders")
    assert body == '["0x1","0x2"]'
    assert headers["POLY_TIMESTAMP"] == str(NOW)
    assert headers["POLY_SIGNATURE"] == hmac_signature(CREDS.secret, NOW, "DELETE", "/orders", body)
    assert headers["POLY_ADDRESS"] == ADDRESS and headers["POLY_PASSPHRASE"] == "passphrase-1"
    assert headers["Content-Type"] == "application/json"
    assert venue.bad_signatures == 0
    assert result["canceled"] == ["0x1"]
    assert result["not_canceled"] == {"0x2": GONE} and result["gone"] == ["0x2"]
    assert result == rest.cancel_orders(["0x1", "0x2"])  # the blocking call's shape


def test_a_prepared_request_can_be_sent_again_on_the_kept_connection(rest, venue):
    prepared = rest.prepare_cancel(["0x3"])
    first = rest.send_cancel(prepared, 1)
    assert first is not None and first.finish()["canceled"] == ["0x3"]
    second = rest.send_cancel(prepared, 1)
    assert second is not None and second.finish()["canceled"] == ["0x3"]
    assert [s[3] for s in venue.seen] == ['["0x3"]', '["0x3"]']


def test_a_second_send_while_the_first_answer_is_unread_sends_nothing(rest, venue):
    first = rest.send_cancel(rest.prepare_cancel(["0x4"]), 1)
    assert first is not None
    wait_for(lambda: len(venue.seen) == 1, 5, "the first cancel reached the venue")
    assert rest.send_cancel(rest.prepare_cancel(["0x5"]), 1) is None  # the lane is busy
    assert rest.begin_cancel(["0x5"], lane="pull") is None
    assert first.finish()["canceled"] == ["0x4"]
    after = rest.send_cancel(rest.prepare_cancel(["0x6"]), 1)  # finish freed the lane
    assert after is not None and after.finish()["canceled"] == ["0x6"]
    assert [s[3] for s in venue.seen] == ['["0x4"]', '["0x6"]']  # 0x5 never went out


def test_the_second_pull_connection_sends_while_the_first_answer_is_unread(rest, venue):
    first = rest.send_cancel(rest.prepare_cancel(["0x7"]), 1)
    assert first is not None
    wait_for(lambda: len(venue.seen) == 1, 5, "the first cancel reached the venue")
    prepared = rest.prepare_cancel(["0x8"])
    assert rest.send_cancel(prepared, 1) is None  # "pull" is busy
    second = rest.send_cancel(prepared, 1, "pull2")  # the same bytes on the other connection
    assert second is not None
    wait_for(lambda: len(venue.seen) == 2, 5, "the second cancel reached the venue")
    assert second.finish()["canceled"] == ["0x8"] and first.finish()["canceled"] == ["0x7"]
    assert [s[3] for s in venue.seen] == ['["0x7"]', '["0x8"]']


def test_begin_post_answers_in_the_shape_of_post_orders(rest, venue):
    payload = {"order": {"salt": 1}, "owner": "k", "orderType": "GTC", "postOnly": True}
    begun = rest.begin_post([payload])
    assert begun is not None
    [result] = begun.finish()
    assert result == rest.post_orders([payload])[0]
    assert result["success"] and result["orderID"] == "0xa" and result["status"] == "live"
    method, path, headers, body = venue.seen[0]
    assert (method, path) == ("POST", "/orders")
    assert body == json.dumps([payload], separators=(",", ":"))
    assert venue.bad_signatures == 0


def test_begin_cancel_answers_in_the_shape_of_cancel_orders(rest, venue):
    begun = rest.begin_cancel(["0x7", "0x8"])
    assert begun is not None
    assert begun.finish() == rest.cancel_orders(["0x7", "0x8"])
    assert venue.seen[0][3] == '["0x7","0x8"]'


def test_a_connection_closed_after_the_request_is_unknown_for_a_post(rest, venue):
    venue.drop = True
    begun = rest.begin_post([{"order": {"salt": 2}, "orderType": "GTC"}])
    assert begun is not None
    with pytest.raises(UnknownOutcomeError):
        begun.finish()
    assert len(venue.seen) == 1  # it did reach the venue


def test_a_connection_closed_after_the_request_is_transient_for_a_cancel(rest, venue):
    venue.drop = True
    pulled = rest.send_cancel(rest.prepare_cancel(["0x9"]), 1)
    assert pulled is not None
    with pytest.raises(TransientError):
        pulled.finish()
    begun = rest.begin_cancel(["0xa"])
    assert begun is not None
    with pytest.raises(TransientError):
        begun.finish()
    venue.drop = False
    again = rest.send_cancel(rest.prepare_cancel(["0xb"]), 1)  # a new connection
    assert again is not None and again.finish()["canceled"] == ["0xb"]


def test_no_venue_listening_comes_back_as_a_handle_raising_transient():
    with socket.socket() as bound:  # bound, not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        rest = client(bound.getsockname()[1], clock=lambda: NOW)
        try:
            pulled = rest.send_cancel(rest.prepare_cancel(["0xc"]), 1)
            assert pulled is not None
            with pytest.raises(TransientError):
                pulled.finish()
            posted = rest.begin_post([{"order": {"salt": 3}, "orderType": "GTC"}])
            assert posted is not None
            with pytest.raises(TransientError):  # never connected: not an unknown outcome
                posted.finish()
            # the failed writes freed their lanes
            assert rest._fast["pull"].try_acquire()
            rest._fast["pull"].release()
            assert rest._fast["create"].try_acquire()
            rest._fast["create"].release()
        finally:
            rest.close()


def test_no_room_in_the_rate_budget_sends_nothing(venue):
    budget = RateBudget(
        {"cancels": BucketLimit(1.0, 1.0), "orders": BucketLimit(1.0, 1.0)},
        fraction=1.0,
        clock=lambda: 0.0,  # frozen: nothing refills
    )
    rest = client(venue.server_address[1], clock=lambda: NOW, rate_budget=budget)
    try:
        # one token, cancels may go one burst into debt: three ids at once do not fit
        assert rest.send_cancel(rest.prepare_cancel(["0x1", "0x2", "0x3"]), 3) is None
        assert rest.begin_cancel(["0x1", "0x2", "0x3"]) is None
        posted = rest.begin_post([{"order": {"salt": 4}, "orderType": "GTC"}])
        assert posted is not None and posted.finish()[0]["success"]
        assert rest.begin_post([{"order": {"salt": 5}, "orderType": "GTC"}]) is None  # used up
        ok = rest.send_cancel(rest.prepare_cancel(["0x4"]), 1)  # the lane was not left held
        assert ok is not None and ok.finish()["canceled"] == ["0x4"]
        assert [(s[0], s[3]) for s in venue.seen] == [
            ("POST", '[{"order":{"salt":4},"orderType":"GTC"}]'),
            ("DELETE", '["0x4"]'),
        ]
    finally:
        rest.close()


def test_without_a_lean_lane_nothing_is_prepared(venue):
    rest = ClobRest(
        f"http://127.0.0.1:{venue.server_address[1]}",
        creds=CREDS,
        address=ADDRESS,
        session=requests.Session(),  # a caller's session: no lean connections
    )
    try:
        assert rest.prepare_cancel(["0x1"]) is None
        assert rest.begin_cancel(["0x1"]) is None
        assert rest.begin_post([{"order": {"salt": 6}, "orderType": "GTC"}]) is None
        assert venue.seen == []
    finally:
        rest.close()
