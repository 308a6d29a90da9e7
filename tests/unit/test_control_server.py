"""The control server on a real Unix socket: owner-only file, peer uid checked with SO_PEERCRED,
bounded requests, one answer each; a stopped server leaves no socket behind."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator

import pytest

from pmbot.control.client import BotNotRunning, send_request
from pmbot.control.paths import socket_path
from pmbot.control.protocol import Command, ControlAnswer, ControlRequest, Peer
from pmbot.control.server import ControlServer, peer_allowed

NOBODY = 65534


class RecordingHandler:
    def __init__(self) -> None:
        self.seen: list[tuple[ControlRequest, Peer]] = []

    def handle(self, request: ControlRequest, peer: Peer) -> ControlAnswer:
        self.seen.append((request, peer))
        return ControlAnswer(True, f"did {request.command.value}", {"market": request.market})


@pytest.fixture
def sockdir() -> Iterator[str]:
    # Short on purpose: a Unix socket path must fit in 107 bytes, pytest's tmp_path may not.
    d = tempfile.mkdtemp(prefix="pmctl", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def served(sockdir: str) -> Iterator[tuple[ControlServer, RecordingHandler]]:
    handler = RecordingHandler()
    server = ControlServer(socket_path(sockdir, "0xABC"), handler, read_timeout_secs=0.5)
    server.start()
    yield server, handler
    server.stop()


def test_request_and_answer_with_the_callers_credentials(served) -> None:
    server, handler = served
    ans = send_request(server.path, ControlRequest(Command.PAUSE, "rain"))
    assert ans.ok and ans.message == "did pause" and ans.data == {"market": "rain"}
    ((req, peer),) = handler.seen
    assert req == ControlRequest(Command.PAUSE, "rain")
    assert (peer.uid, peer.pid) == (os.geteuid(), os.getpid())


def test_socket_is_owner_only_and_named_for_the_funder(served, sockdir: str) -> None:
    server, _ = served
    assert server.path == os.path.join(sockdir, "pmbot-0xabc.sock")
    st = os.stat(server.path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600


def raw_exchange(path: str, payload: bytes, *, shut: bool = True) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(payload)
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out


def test_malformed_and_oversized_requests_are_refused_without_reaching_the_handler(served) -> None:
    server, handler = served
    assert b"bad request" in raw_exchange(server.path, b"{nope")
    assert b"over 4096 bytes" in raw_exchange(server.path, b"x" * 10000, shut=False)
    assert handler.seen == []
    assert send_request(server.path, ControlRequest(Command.STATUS)).ok  # still serving


def test_a_client_that_never_finishes_is_cut_off_and_the_next_one_served(served) -> None:
    server, handler = served
    answer = raw_exchange(server.path, b'{"v": 1, "cmd": "status"', shut=False)
    assert b"not complete within" in answer
    assert send_request(server.path, ControlRequest(Command.STATUS)).ok
    assert len(handler.seen) == 1


def test_stop_removes_the_socket_and_clients_see_no_bot(sockdir: str) -> None:
    server = ControlServer(socket_path(sockdir, "0x1"), RecordingHandler())
    server.start()
    server.stop()
    assert not os.path.exists(server.path)
    with pytest.raises(BotNotRunning):
        send_request(server.path, ControlRequest(Command.STATUS))


def test_a_stale_socket_from_a_crashed_bot_is_replaced(sockdir: str) -> None:
    path = socket_path(sockdir, "0x1")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    with pytest.raises(BotNotRunning):
        send_request(path, ControlRequest(Command.STATUS))
    server = ControlServer(path, RecordingHandler())
    server.start()
    try:
        assert send_request(path, ControlRequest(Command.STATUS)).ok
    finally:
        server.stop()


def test_a_regular_file_in_the_way_is_never_deleted(sockdir: str) -> None:
    path = socket_path(sockdir, "0x1")
    with open(path, "w") as fh:
        fh.write("precious")
    with pytest.raises(FileExistsError):
        ControlServer(path, RecordingHandler()).start()
    with open(path) as fh:
        assert fh.read() == "precious"


def test_a_state_dir_deeper_than_a_socket_path_allows_still_works(sockdir: str) -> None:
    deep = os.path.join(sockdir, *(["d" * 40] * 3))
    os.makedirs(deep)
    path = socket_path(deep, "0x" + "ab" * 20)
    assert len(path) > 107  # over sun_path: bound and reached through the directory's descriptor
    handler = RecordingHandler()
    server = ControlServer(path, handler)
    server.start()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert send_request(path, ControlRequest(Command.STATUS)).ok
        assert handler.seen[0][1].uid == os.geteuid()
    finally:
        server.stop()
    assert not os.path.exists(path)


def test_peer_check_accepts_only_the_bots_uid() -> None:
    assert peer_allowed(Peer(uid=1000, pid=1), 1000)
    assert not peer_allowed(Peer(uid=0, pid=1), 1000)
    assert not peer_allowed(Peer(uid=1001, pid=1), 1000)


def as_other_user(path: str, uid: int) -> bytes:
    """Connect and ask for status from a forked child running as ``uid``; what it saw comes back."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: only raw syscalls, then _exit
        try:
            os.close(r)
            os.setgid(uid)
            os.setuid(uid)
            try:
                out = raw_exchange(path, b'{"v": 1, "cmd": "cancel-all"}')
            except PermissionError:
                out = b"EACCES"
            os.write(w, out)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        seen = fh.read()
    os.waitpid(pid, 0)
    return seen


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_another_user_cannot_use_the_socket(sockdir: str) -> None:
    os.chmod(sockdir, 0o711)  # let the other user reach the socket file itself
    handler = RecordingHandler()
    server = ControlServer(socket_path(sockdir, "0x1"), handler, own_uid=os.geteuid())
    server.start()
    try:
        # Layer 1: the file mode keeps the other user from connecting at all.
        assert as_other_user(server.path, NOBODY) == b"EACCES"
        # Layer 2: even through a wrongly opened file, the peer's uid is refused.
        os.chmod(server.path, 0o666)
        seen = as_other_user(server.path, NOBODY)
        assert b'"ok": false' in seen and b"uid 65534 may not control this bot" in seen
        assert server.refused == 1
        assert handler.seen == []
    finally:
        server.stop()
