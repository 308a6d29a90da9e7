"""ControlServer: a thread answering operator requests on a Unix socket (no TCP, ever).

Access control has two layers: the socket file is mode 0600 in the 0700 state directory, and every
connection's peer credentials (SO_PEERCRED, filled in by the kernel at connect time) must name the
bot's own uid; anyone else is refused and logged. One connection is served at a time: requests are
rare and each one is bounded (size, read deadline), so a slow client cannot starve the others for
long, and the handler's answers are serialised the same way the strategy thread serialises effects.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import stat
import struct
import threading
import time
from typing import Protocol

from pmbot.control.paths import addressable
from pmbot.control.protocol import (
    MAX_REQUEST_BYTES,
    ControlAnswer,
    ControlRequest,
    Peer,
    ProtocolError,
    decode_request,
    encode_answer,
)

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_DRAIN_BYTES = 1 << 20


class ControlHandler(Protocol):
    def handle(self, request: ControlRequest, peer: Peer) -> ControlAnswer: ...


def peer_of(conn: socket.socket) -> Peer:
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, _gid = _UCRED.unpack(raw)
    return Peer(uid=uid, pid=pid)


def peer_allowed(peer: Peer, own_uid: int) -> bool:
    """Only the bot's own user may steer it (not even root: root can become that user)."""
    return peer.uid == own_uid


def read_request(conn: socket.socket, timeout_secs: float) -> bytes:
    """Everything the client sends until it shuts its side, within one overall deadline."""
    deadline = time.monotonic() + timeout_secs
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError(f"request not complete within {timeout_secs:g} s")
        conn.settimeout(left)
        try:
            chunk = conn.recv(MAX_REQUEST_BYTES + 1 - size)
        except TimeoutError:
            raise ProtocolError(f"request not complete within {timeout_secs:g} s") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise ProtocolError(f"request over {MAX_REQUEST_BYTES} bytes")


class ControlServer:
    def __init__(
        self,
        path: str,
        handler: ControlHandler,
        *,
        own_uid: int | None = None,
        read_timeout_secs: float = 2.0,
    ) -> None:
        self.path = path
        self.handler = handler
        self.own_uid = os.geteuid() if own_uid is None else own_uid
        self.read_timeout_secs = read_timeout_secs
        self.refused = 0  # connections refused for their uid (read by tests and the status line)
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._sock = self._bind()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="control", daemon=True)
        self._thread.start()
        log.info("control socket %s (owner uid %d only)", self.path, self.own_uid)

    def _bind(self) -> socket.socket:
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with addressable(self.path) as where:
                sock.bind(where)
            # The 0700 state directory already keeps others out during the instant before chmod.
            os.chmod(self.path, 0o600)
            sock.listen(8)
        except OSError:
            sock.close()
            raise
        return sock

    def _remove_stale(self) -> None:
        """A socket left by a crashed bot (the wallet lock already proves no bot owns it now)."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise FileExistsError(f"{self.path} exists and is not a socket; not touching it")
        os.unlink(self.path)

    def stop(self) -> None:
        if self._thread is None:
            return
        os.write(self._wake_w, b"x")
        self._thread.join(5.0)
        self._thread = None
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _run(self) -> None:
        assert self._sock is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in sel.select()}
                if self._wake_r in ready:
                    return
                try:
                    conn, _ = self._sock.accept()
                except OSError as exc:
                    log.warning("control: accept failed: %s", exc)
                    continue
                with conn:
                    try:
                        self._serve(conn)
                    except OSError as exc:
                        log.warning("control: connection dropped: %s", exc)
                    except Exception:  # a handler bug must not kill the control plane
                        log.exception("control: request failed")

    def _serve(self, conn: socket.socket) -> None:
        peer = peer_of(conn)
        if not peer_allowed(peer, self.own_uid):
            self.refused += 1
            log.warning(
                "control: refused %s (only uid %d may control this bot)", peer, self.own_uid
            )
            self._answer(conn, ControlAnswer(False, f"uid {peer.uid} may not control this bot"))
            return
        try:
            request = decode_request(read_request(conn, self.read_timeout_secs))
        except ProtocolError as exc:
            log.warning("control: bad request from %s: %s", peer, exc)
            self._answer(conn, ControlAnswer(False, f"bad request: {exc}"))
            return
        log.info(
            "control: %s%s asked by %s",
            request.command.value,
            f" {request.market}" if request.market else "",
            peer,
        )
        answer = self.handler.handle(request, peer)
        if not answer.ok:
            log.warning("control: %s refused or failed: %s", request.command.value, answer.message)
        self._answer(conn, answer)

    def _answer(self, conn: socket.socket, answer: ControlAnswer) -> None:
        conn.settimeout(self.read_timeout_secs)
        conn.sendall(encode_answer(answer))
        # Closing with unread input makes the kernel reset the connection and the client could
        # lose the answer (an oversized request): finish sending, then discard a bounded rest.
        conn.shutdown(socket.SHUT_WR)
        left = _DRAIN_BYTES
        try:
            while left > 0 and (chunk := conn.recv(min(left, 65536))):
                left -= len(chunk)
        except (TimeoutError, OSError):
            pass
