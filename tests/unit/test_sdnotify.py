"""sd_notify over a real AF_UNIX datagram socket (filesystem path and abstract namespace)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from pmbot import sdnotify


@pytest.fixture
def receiver(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    yield path, sock
    sock.close()


@pytest.fixture
def abstract_receiver():
    name = "pmbot-test-" + uuid.uuid4().hex
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    yield "@" + name, sock
    sock.close()


def test_notify_sends_datagram_to_path(receiver):
    path, sock = receiver
    assert sdnotify.notify("READY=1\nSTATUS=quoting", env={"NOTIFY_SOCKET": path}) is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=quoting"


def test_notify_abstract_namespace(abstract_receiver):
    addr, sock = abstract_receiver
    assert sdnotify.notify("WATCHDOG=1", env={"NOTIFY_SOCKET": addr}) is True
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_without_systemd_is_noop():
    assert sdnotify.notify("READY=1", env={}) is False


def test_notify_to_missing_socket_returns_false(tmp_path):
    assert sdnotify.notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "nope")}) is False


def test_helpers_use_environment(receiver, monkeypatch):
    path, sock = receiver
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.ready("3 markets")
    assert sock.recv(4096) == b"READY=1\nSTATUS=3 markets"
    assert sdnotify.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    assert sdnotify.status("cancelling")
    assert sock.recv(4096) == b"STATUS=cancelling"


def test_watchdog_interval():
    assert sdnotify.watchdog_interval_secs({}) is None
    assert sdnotify.watchdog_interval_secs({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert (
        sdnotify.watchdog_interval_secs(
            {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
        )
        == 30.0
    )
    assert (
        sdnotify.watchdog_interval_secs({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, pid=2)
        is None
    )
    assert sdnotify.watchdog_interval_secs({"WATCHDOG_USEC": "junk"}) is None
    assert sdnotify.watchdog_interval_secs({"WATCHDOG_USEC": "0"}) is None
