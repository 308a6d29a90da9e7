"""The simulator's kernel receive stamps (pmbot.sim.wire_stamps): a request's arrival is when its
bytes reached the socket, on time.monotonic_ns(), whatever the reader did meanwhile."""

from __future__ import annotations

import io
import socket
import time

import pytest

from pmbot.sim import wire_stamps

REQUEST = b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
CONVERSION_SLACK_NS = 5_000_000  # realtime -> monotonic is taken at read time, not atomically


@pytest.fixture
def pair():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.settimeout(10)
    assert wire_stamps.enable(server)
    yield client, server
    client.close()
    server.close()


def test_the_stamp_is_when_the_bytes_arrived_not_when_they_were_read(pair):
    client, server = pair
    raw = wire_stamps.StampedReader(server)
    reader = io.BufferedReader(raw)
    raw.mark()
    sent = time.monotonic_ns()
    client.sendall(REQUEST)
    # the reader is late: the bytes wait in the socket until it gets round to them
    server.recv(1, socket.MSG_PEEK)  # they are there (blocks until then)
    late = time.monotonic_ns()
    time.sleep(0.05)  # a reader kept busy elsewhere, by design: the stamp must not move with it
    assert reader.readline() == b"GET /ok HTTP/1.1\r\n"
    read = time.monotonic_ns()
    assert raw.first_ns is not None
    assert sent - CONVERSION_SLACK_NS <= raw.first_ns <= late + CONVERSION_SLACK_NS
    assert read - raw.first_ns >= 40_000_000  # the 50 ms the reader was late are not in it


def test_each_mark_stamps_the_next_request(pair):
    client, server = pair
    raw = wire_stamps.StampedReader(server)
    reader = io.BufferedReader(raw)
    stamps = []
    for _ in range(2):
        raw.mark()
        client.sendall(REQUEST)
        while reader.readline() not in (b"\r\n", b""):
            pass
        stamps.append(raw.first_ns)
    assert None not in stamps
    assert stamps[1] > stamps[0]


def test_a_request_already_buffered_gets_no_stamp(pair):
    client, server = pair
    raw = wire_stamps.StampedReader(server)
    reader = io.BufferedReader(raw)
    raw.mark()
    client.sendall(REQUEST + REQUEST)  # pipelined: both come in one read
    deadline = time.monotonic() + 10
    while len(server.recv(len(REQUEST) * 2, socket.MSG_PEEK)) < len(REQUEST) * 2:
        assert time.monotonic() < deadline
    while reader.readline() != b"\r\n":
        pass
    assert raw.first_ns is not None
    raw.mark()
    assert reader.readline() == b"GET /ok HTTP/1.1\r\n"  # served from the buffer, no read
    assert raw.first_ns is None  # unknown, never a stamp borrowed from another request


def test_no_stamp_in_the_ancillary_data_is_none():
    assert wire_stamps.stamp_of([]) is None
    assert wire_stamps.stamp_of([(socket.SOL_SOCKET, 99, b"\0" * 16)]) is None
