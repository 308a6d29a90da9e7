"""The client side of the control socket: send one request, read one answer."""

from __future__ import annotations

import socket
import time

from pmbot.control.paths import addressable
from pmbot.control.protocol import (
    MAX_ANSWER_BYTES,
    ControlAnswer,
    ControlRequest,
    ProtocolError,
    decode_answer,
    encode_request,
)


class BotNotRunning(ConnectionError):
    """Nothing listens on the socket (the bot stopped, or crashed and left the file behind)."""


def _read_all(sock: socket.socket, timeout_secs: float) -> bytes:
    deadline = time.monotonic() + timeout_secs
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete answer within {timeout_secs:g} s")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ProtocolError(f"answer over {MAX_ANSWER_BYTES} bytes")


def send_request(path: str, request: ControlRequest, timeout_secs: float = 30.0) -> ControlAnswer:
    """Raises BotNotRunning, PermissionError (the socket belongs to another user), TimeoutError or
    ProtocolError; everything else is in the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_secs)
        try:
            with addressable(path) as where:
                sock.connect(where)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise BotNotRunning(f"no bot listens on {path} ({exc.strerror})") from None
        sock.sendall(encode_request(request))
        sock.shutdown(socket.SHUT_WR)
        return decode_answer(_read_all(sock, timeout_secs))
