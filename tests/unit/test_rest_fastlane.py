"""The cancel and create lanes' lean HTTP path (pmbot.venue.rest_fastlane) against a real local
HTTP server: the same bytes and signatures as the requests path, the same error classes, and a
keep-alive connection the server closed is replaced instead of losing an order."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pmbot.errors import TransientError, UnknownOutcomeError
from pmbot.venue.auth import ApiCreds, hmac_signature
from pmbot.venue.rest import ClobRest

ADDRESS = "0x2222222222222222222222222222222222222222"
CREDS = ApiCreds("api-key-1", base64.urlsafe_b64encode(b"s" * 32).decode(), "passphrase-1")
NOW = 1_767_000_000


class Venue(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = []  # (method, path, headers, body, connection id)
        self.hold = threading.Event()
        self.hold.set()
        self.close_after_answer = False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.server.seen.append((self.command, self.path, dict(self.headers), body, id(self)))
        self.server.hold.wait(5)
        if self.path.startswith("/orders") and self.command == "POST":
            answer = [{"success": True, "orderID": "0xa", "status": "live"}]
        else:
            answer = {"canceled": json.loads(body) if body else [], "not_canceled": {}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if self.server.close_after_answer:
            self.close_connection = True

    do_POST = do_DELETE = do_GET = _answer


@pytest.fixture
def venue():
    server = Venue()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.hold.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def rest(venue):
    url = f"http://127.0.0.1:{venue.server_address[1]}"
    client = ClobRest(url, creds=CREDS, address=ADDRESS, clock=lambda: NOW, timeout=(1.0, 0.3))
    assert set(client._fast) == {"cancel", "create", "pull", "pull2"}
    yield client
    client.close()


def test_a_post_on_the_fast_lane_sends_compact_json_signed_exactly(rest, venue):
    payload = {"order": {"salt": 1}, "owner": "k", "orderType": "GTC", "postOnly": True}
    [result] = rest.post_orders([payload])
    assert result["success"] and result["orderID"] == "0xa"
    method, path, headers, body, _ = venue.seen[0]
    assert (method, path) == ("POST", "/orders")
    assert body == json.dumps([payload], separators=(",", ":"))
    assert headers["POLY_SIGNATURE"] == hmac_signature(CREDS.secret, NOW, "POST", "/orders", body)
    assert headers["Content-Type"] == "application/json"


def test_the_lane_keeps_one_connection_and_replaces_one_the_server_closed(rest, venue):
    rest.cancel_orders(["0x1"])
    rest.cancel_orders(["0x2"])
    assert venue.seen[0][4] == venue.seen[1][4]  # the same connection (handler) served both
    venue.close_after_answer = True
    rest.cancel_orders(["0x3"])  # answered, then the server closes the idle connection
    venue.close_after_answer = False
    result = rest.post_orders([{"order": {"salt": 2}, "orderType": "GTC"}])
    assert result[0]["success"]  # a new connection, not an unknown outcome
    assert rest.cancel_orders(["0x4"])["canceled"] == ["0x4"]


def test_no_answer_in_time_is_unknown_for_a_post_and_transient_for_a_cancel(rest, venue):
    venue.hold.clear()
    with pytest.raises(UnknownOutcomeError):
        rest.post_orders([{"order": {"salt": 3}, "orderType": "GTC"}])
    with pytest.raises(TransientError):
        rest.cancel_orders(["0x5"])
    venue.hold.set()
    assert rest.cancel_orders(["0x6"])["canceled"] == ["0x6"]


def test_a_busy_lane_falls_back_to_its_session(rest, venue):
    fast = rest._fast["cancel"]
    assert fast.try_acquire()  # another thread is using the lean connection
    try:
        assert rest.cancel_orders(["0x7"])["canceled"] == ["0x7"]
    finally:
        fast.release()


def test_when_sent_fires_after_the_write_and_before_the_answer(venue):
    url = f"http://127.0.0.1:{venue.server_address[1]}"
    rest = ClobRest(url, creds=CREDS, address=ADDRESS, timeout=(1.0, 10.0))
    venue.hold.clear()
    sent = threading.Event()
    done = threading.Event()

    def cancel():
        with rest.when_sent(sent.set):
            rest.cancel_orders(["0x8"])
        done.set()

    worker = threading.Thread(target=cancel)
    worker.start()
    assert sent.wait(5) and not done.is_set()  # written, answer still held by the server
    venue.hold.set()
    worker.join(10)
    rest.close()
    assert done.is_set()
