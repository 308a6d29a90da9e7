"""WsRunner through the REAL websocket-client callback path, against a tiny loopback WS server.

Covers the pitfalls from issue 4: with skip_utf8_validation=True frames arrive as bytes (PONG as
b"PONG"); an exception inside the handler must be counted and visible, not swallowed by on_error.
Also: text PING heartbeat, reconnect with backoff after a drop, rotate, close/join.
"""

from __future__ import annotations

import base64
import hashlib
import queue
import random
import socket
import ssl
import struct
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.venue.ws import WsRunner
from pmbot.venue.ws_socket import ReadAheadSocket

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class TinyWsServer:
    """Just enough RFC 6455 for tests: handshake, unmasked server text frames, masked client
    frames."""

    def __init__(
        self, *, answer_pong: bool = True, greeting: str | None = None, ssl_context=None
    ) -> None:
        self.answer_pong = answer_pong
        self.greeting = greeting
        self.ssl_context = ssl_context  # serve wss:// (handshake in the connection's thread)
        self.received: queue.Queue[tuple[int, str]] = queue.Queue()  # (connection number, text)
        self.connections: list[socket.socket] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"{'wss' if ssl_context else 'ws'}://127.0.0.1:{self.port}/ws/market"
        self._threads: list[threading.Thread] = []
        self._closed = False
        t = threading.Thread(target=self._accept_loop, name="tinyws-accept", daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                n = self.accepted
                self.connections.append(conn)
            t = threading.Thread(
                target=self._serve, args=(conn, n), name=f"tinyws-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket, n: int) -> None:
        try:
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
                with self._lock:
                    self.connections[n - 1] = conn
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            key = next(
                line.split(b":", 1)[1].strip()
                for line in buf.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            if self.greeting is not None:
                self.send_text(conn, self.greeting)
            while True:
                opcode, payload = self._read_frame(conn)
                if opcode is None or opcode == 8:
                    return
                if opcode == 1:
                    text = payload.decode()
                    self.received.put((n, text))
                    if text == "PING" and self.answer_pong:
                        self.send_text(conn, "PONG")
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
        out = b""
        while len(out) < n:
            chunk = conn.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def _read_frame(self, conn):
        head = self._recv_exact(conn, 2)
        if head is None:
            return None, b""
        opcode = head[0] & 0x0F
        length = head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._recv_exact(conn, 2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._recv_exact(conn, 8))[0]
        mask = self._recv_exact(conn, 4) if head[1] & 0x80 else b"\0\0\0\0"
        data = self._recv_exact(conn, length) if length else b""
        if data is None:
            return None, b""
        return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    @staticmethod
    def send_text(conn: socket.socket, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 127, n)
        conn.sendall(head + data)

    def latest(self) -> socket.socket:
        with self._lock:
            return self.connections[-1]

    def drop_all(self) -> None:
        with self._lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        except OSError:
            pass
        self._sock.close()
        self.drop_all()
        for t in self._threads:
            t.join(2)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    ev = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        ev.wait(0.01)
    return predicate()


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.texts: list[tuple[str, int]] = []
        self.states: list[tuple[bool, str]] = []
        self.opens = 0
        self.fail_on = fail_on

    def on_open(self, runner: WsRunner) -> None:
        self.opens += 1
        runner.send('{"assets_ids": ["1"], "type": "market"}')

    def on_text(self, text: str, recv_ns: int) -> None:
        if self.fail_on is not None and self.fail_on in text:
            raise ValueError("handler bug")
        self.texts.append((text, recv_ns))

    def on_state(self, up: bool, reason: str) -> None:
        self.states.append((up, reason))


@pytest.fixture
def server():
    srv = TinyWsServer()
    yield srv
    srv.close()


@pytest.fixture
def make_runner():
    made: list[WsRunner] = []
    stop = threading.Event()

    def make(url: str, rec: Recorder, **kw) -> WsRunner:
        kw.setdefault("ping_interval", 10.0)
        kw.setdefault("backoff_initial", 0.05)
        kw.setdefault("backoff_max", 0.2)
        r = WsRunner(
            "t",
            url,
            on_open=rec.on_open,
            on_text=rec.on_text,
            on_state=rec.on_state,
            stop=stop,
            rng=random.Random(1),
            **kw,
        )
        made.append(r)
        r.start()
        return r

    make.stop = stop
    yield make
    for r in made:
        r.close()
    for r in made:
        r.join(5)
        assert not r.alive, "runner thread did not stop"


class FakeCounter:
    def __init__(self) -> None:
        self.values: dict[tuple, float] = {}

    def labels(self, **labels):
        key = tuple(sorted(labels.items()))
        parent = self

        class Child:
            def inc(self, amount: float = 1) -> None:
                parent.values[key] = parent.values.get(key, 0) + amount

            def set(self, value: float) -> None:
                parent.values[key] = value

        return Child()


class FakeMetrics:
    def __init__(self) -> None:
        self.ws_handler_errors_total = FakeCounter()
        self.ws_reconnects_total = FakeCounter()
        self.ws_rotations_total = FakeCounter()
        self.ws_connection_up = FakeCounter()


def test_bytes_frames_are_decoded_and_pong_is_recorded_not_passed_on(server, make_runner):
    rec = Recorder()
    runner = make_runner(server.url, rec, ping_interval=0.1, skip_utf8_validation=True)
    assert wait_for(lambda: runner.connected and server.accepted == 1)
    # the subscription went out from on_open
    assert server.received.get(timeout=2) == (1, '{"assets_ids": ["1"], "type": "market"}')
    # the text PING heartbeat goes out and the b"PONG" answer is recorded
    assert server.received.get(timeout=2) == (1, "PING")
    assert wait_for(lambda: runner.last_pong_ns > 0)
    server.send_text(server.latest(), '{"event_type": "book", "px": "é"}')
    assert wait_for(lambda: len(rec.texts) == 1)
    text, recv_ns = rec.texts[0]
    assert isinstance(text, str) and text == '{"event_type": "book", "px": "é"}'
    assert 0 < recv_ns <= time.monotonic_ns()
    assert runner.last_message_ns == recv_ns
    assert all(t != "PONG" for t, _ in rec.texts)
    assert rec.states == [(True, "")]


def test_pong_handled_without_utf8_skip_too(server, make_runner):
    rec = Recorder()
    runner = make_runner(server.url, rec, ping_interval=0.1, skip_utf8_validation=False)
    assert wait_for(lambda: runner.last_pong_ns > 0)
    server.send_text(server.latest(), "[]")
    assert wait_for(lambda: rec.texts and rec.texts[0][0] == "[]")
    assert all(t != "PONG" for t, _ in rec.texts)


def test_handler_exception_is_counted_visible_and_connection_survives(server, make_runner, caplog):
    rec = Recorder(fail_on="boom")
    metrics = FakeMetrics()
    runner = make_runner(server.url, rec, metrics=metrics)
    assert wait_for(lambda: runner.connected)
    conn = server.latest()
    with caplog.at_level("ERROR", logger="pmbot.venue.ws"):
        server.send_text(conn, '{"boom": 1}')
        server.send_text(conn, '{"boom": 2}')
        server.send_text(conn, '{"ok": 3}')
        assert wait_for(lambda: rec.texts and rec.texts[-1][0] == '{"ok": 3}')
    assert runner.handler_errors == {"ValueError": 2}
    assert metrics.ws_handler_errors_total.values == {
        (("connection", "t"), ("kind", "ValueError")): 2
    }
    # logged once per kind, with the traceback
    errors = [r for r in caplog.records if r.name == "pmbot.venue.ws" and r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert runner.connected and server.accepted == 1


def test_invalid_utf8_is_counted_not_fatal(server, make_runner):
    rec = Recorder()
    runner = make_runner(server.url, rec)
    assert wait_for(lambda: runner.connected)
    server.send_text(server.latest(), b"\xff\xfe{")
    server.send_text(server.latest(), "ok")
    assert wait_for(lambda: rec.texts and rec.texts[-1][0] == "ok")
    assert runner.handler_errors == {"bad_utf8": 1}


def test_drop_reconnects_resubscribes_and_reports_state(server, make_runner):
    rec = Recorder()
    metrics = FakeMetrics()
    runner = make_runner(server.url, rec, metrics=metrics)
    assert wait_for(lambda: runner.connected)
    server.drop_all()
    assert wait_for(lambda: server.accepted == 2 and runner.connected and rec.opens == 2)
    assert rec.states[0] == (True, "") and rec.states[1][0] is False and rec.states[2] == (True, "")
    assert runner.reconnects == 1
    assert metrics.ws_reconnects_total.values == {(("connection", "t"),): 1}
    # resubscribed on the new connection (the server thread may still be reading it: wait)
    msgs: list = []

    def resubscribed() -> bool:
        while not server.received.empty():
            msgs.append(server.received.get())
        return (2, '{"assets_ids": ["1"], "type": "market"}') in msgs

    assert wait_for(resubscribed)


def test_rotate_forces_a_new_connection(server, make_runner):
    rec = Recorder()
    metrics = FakeMetrics()
    runner = make_runner(server.url, rec, metrics=metrics)
    assert wait_for(lambda: runner.connected)
    runner.rotate("silent feed")
    assert wait_for(lambda: server.accepted == 2 and runner.connected)
    down = [s for s in rec.states if not s[0]]
    assert down and "silent feed" in down[0][1]
    assert runner.rotations == 1
    assert metrics.ws_rotations_total.values == {(("connection", "t"),): 1}


def test_refused_connection_keeps_retrying_without_reporting_up(make_runner):
    # reserve a port and close it so connects are refused
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    rec = Recorder()
    runner = make_runner(f"ws://127.0.0.1:{port}/ws/market", rec)
    assert wait_for(lambda: runner.reconnects >= 2)
    assert not runner.connected and rec.states == [] and rec.opens == 0
    assert runner.alive


def test_backoff_is_capped_exponential_with_full_jitter():
    r = WsRunner(
        "b",
        "ws://127.0.0.1:9",
        on_open=lambda _: None,
        on_text=lambda *_: None,
        stop=threading.Event(),
        backoff_initial=0.5,
        backoff_max=4.0,
        rng=random.Random(3),
    )
    samples = {a: [r._backoff(a) for _ in range(300)] for a in range(8)}
    for attempt, values in samples.items():
        cap = min(4.0, 0.5 * 2**attempt)
        assert all(0.0 <= v <= cap for v in values)
        assert max(values) > cap * 0.8  # jitter spans the whole range
        assert min(values) < cap * 0.2


def test_shared_stop_event_ends_both_threads(server, make_runner):
    rec = Recorder()
    runner = make_runner(server.url, rec)
    assert wait_for(lambda: runner.connected)
    make_runner.stop.set()
    runner.join(3)
    assert not runner.alive
    assert rec.states[-1][0] is False


def test_send_when_disconnected_returns_false():
    r = WsRunner(
        "x",
        "ws://127.0.0.1:9",
        on_open=lambda _: None,
        on_text=lambda *_: None,
        stop=threading.Event(),
    )
    assert r.send("PING") is False


# ---------------------------------------------------------------------------- read-ahead socket


def test_burst_in_one_write_is_delivered_without_waiting_for_more_data(server, make_runner):
    """Many frames in ONE TCP write, then silence (no PING answered for 10 s): every frame must
    reach the handler at once. A read loop that blocked in select() while frames sat in the
    read-ahead buffer would deliver only the first and then wait for the next byte from the wire."""
    rec = Recorder()
    runner = make_runner(server.url, rec, ping_interval=10.0)
    assert wait_for(lambda: runner.connected)
    texts = [f'{{"n": {i}, "pad": "{"x" * (i % 300)}"}}' for i in range(500)]
    blob = b""
    for t in texts:
        data = t.encode()
        n = len(data)
        head = struct.pack("!BB", 0x81, n) if n < 126 else struct.pack("!BBH", 0x81, 126, n)
        blob += head + data
    server.latest().sendall(blob)
    assert wait_for(lambda: len(rec.texts) == len(texts), timeout=3)
    assert [t for t, _ in rec.texts] == texts
    assert runner.frames == len(texts)


def test_frames_larger_than_and_straddling_the_read_ahead_buffer(server, make_runner):
    rec = Recorder()
    runner = make_runner(server.url, rec)
    assert wait_for(lambda: runner.connected)
    conn = server.latest()
    sizes = [10, 65530, 3, 200_000, 125, 126, 65535, 65536, 1]
    texts = [chr(ord("a") + i) * n for i, n in enumerate(sizes)]
    for t in texts:
        server.send_text(conn, t)
    assert wait_for(lambda: len(rec.texts) == len(texts), timeout=5)
    assert [t for t, _ in rec.texts] == texts


class _ChunkedSock:
    """Fake socket: hands out a byte stream in chunks of the sizes given (as a kernel might)."""

    def __init__(self, stream: bytes, chunks: list[int]) -> None:
        self.stream = stream
        self.chunks = list(chunks)
        self.pos = 0
        self.calls = 0

    def recv(self, n: int) -> bytes:
        self.calls += 1
        size = min(n, self.chunks.pop(0) if self.chunks else n)
        out = self.stream[self.pos : self.pos + size]
        self.pos += len(out)
        return out


@settings(max_examples=150, deadline=None)
@given(
    stream=st.binary(min_size=0, max_size=3000),
    chunks=st.lists(st.integers(1, 4000), max_size=20),
    reads=st.lists(st.integers(1, 700), min_size=1, max_size=60),
)
def test_read_ahead_returns_the_stream_in_order_never_more_than_asked(stream, chunks, reads):
    sock = ReadAheadSocket(_ChunkedSock(stream, chunks))
    got = b""
    for n in reads:
        data = sock.recv(n)
        assert 0 < len(data) <= n or (data == b"" and len(got) == len(stream))
        got += data
        if len(got) == len(stream):
            assert not sock.pending()
    assert stream.startswith(got)
    # the rest of the stream still comes out, then EOF (b"") as from a real socket
    while len(got) < len(stream):
        got += sock.recv(1000)
    assert got == stream and sock.recv(10) == b""


def test_read_ahead_serves_small_reads_from_one_recv():
    frames = b"".join(struct.pack("!BB", 0x81, 5) + b"hello" for _ in range(100))
    inner = _ChunkedSock(frames, [len(frames)])
    sock = ReadAheadSocket(inner)
    for _ in range(100):
        assert sock.recv(2) == b"\x81\x05" and sock.recv(5) == b"hello"
    assert inner.calls == 1 and sock.pending() == 0


# ---------------------------------------------------------------------------- wss:// (the live
# venue's scheme)


@pytest.fixture(scope="module")
def tls_pem(tmp_path_factory):
    """A throw-away self-signed key and certificate for 127.0.0.1, made per test run with openssl
    (no key material lives in the repository)."""
    import subprocess

    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    both = d / "both.pem"
    both.write_bytes(key.read_bytes() + cert.read_bytes())
    return str(both)


@pytest.fixture
def tls_server(monkeypatch, tls_pem):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_pem)
    # websocket-client verifies the certificate and host name as it does live; trust our test CA
    # only
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", tls_pem)
    srv = TinyWsServer(ssl_context=ctx)
    yield srv
    srv.close()


def test_tls_burst_large_frames_and_pong_through_the_read_ahead(tls_server, make_runner):
    """Over TLS the read-ahead wraps an SSLSocket: bytes can wait inside OpenSSL (pending()) as well
    as in our buffer, and neither may be left behind while the loop blocks in select()."""
    rec = Recorder()
    runner = make_runner(
        tls_server.url, rec, ping_interval=10.0
    )  # no PONGs to wake a stuck select()
    assert wait_for(lambda: runner.connected)
    assert tls_server.received.get(timeout=2) == (1, '{"assets_ids": ["1"], "type": "market"}')
    conn = tls_server.latest()
    assert isinstance(conn, ssl.SSLSocket)
    tls_server.send_text(conn, "PONG")
    assert wait_for(lambda: runner.last_pong_ns > 0)
    texts = [f'{{"n": {i}}}' for i in range(300)] + ["y" * 100_000, "z" * 70_000, "end"]
    blob = b""
    for t in texts:
        data = t.encode()
        n = len(data)
        if n < 126:
            blob += struct.pack("!BB", 0x81, n) + data
        elif n < 65536:
            blob += struct.pack("!BBH", 0x81, 126, n) + data
        else:
            blob += struct.pack("!BBQ", 0x81, 127, n) + data
    conn.sendall(blob)
    assert wait_for(lambda: len(rec.texts) == len(texts), timeout=5)
    assert [t for t, _ in rec.texts] == texts
    assert runner.handler_errors == {}


def test_tls_certificate_is_still_verified(make_runner, monkeypatch, tls_pem):
    """The read-ahead wraps the socket only after websocket-client's own TLS handshake: an untrusted
    certificate is still refused (no on_open, no connect)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_pem)
    monkeypatch.delenv("WEBSOCKET_CLIENT_CA_BUNDLE", raising=False)
    srv = TinyWsServer(ssl_context=ctx)
    try:
        rec = Recorder()
        runner = make_runner(srv.url, rec)
        assert wait_for(lambda: runner.reconnects >= 1)
        assert rec.opens == 0 and not runner.connected
    finally:
        srv.close()
