"""A small server-side RFC 6455 implementation: handshake key, frame encoding and a blocking frame
reader. Enough for the simulator's two channels (text frames, PING/PONG text heartbeats that
Polymarket sends as *text* ``PING``/``PONG``, protocol-level ping/pong/close), nothing more.

Why not a library: the venv has no WebSocket *server* library, and this is ~150 lines with no
asyncio, which keeps the simulator's threading model the same as the bot's. Server frames are
never masked; client frames always are (RFC 6455 5.1) and unmasked here.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Protocol


class ByteStream(Protocol):
    """What frames are read from: a socket's buffered reader (``read(n)`` returns up to n bytes)."""

    def read(self, n: int = -1, /) -> bytes: ...


GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009

MAX_MESSAGE_BYTES = 1 << 20  # client messages are small subscribe requests


class ProtocolError(Exception):
    def __init__(self, message: str, code: int = CLOSE_PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


def accept_key(client_key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((client_key + GUID).encode("ascii")).digest()).decode(
        "ascii"
    )


def handshake_response(client_key: str) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(client_key)}\r\n\r\n"
    ).encode("ascii")


def encode_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One unmasked, unfragmented server frame."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        header = struct.pack("!BB", first, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", first, 126, n)
    else:
        header = struct.pack("!BBQ", first, 127, n)
    return header + payload


def encode_text(text: str) -> bytes:
    return encode_frame(text.encode("utf-8"), OP_TEXT)


def encode_close(code: int = CLOSE_NORMAL, reason: str = "") -> bytes:
    return encode_frame(struct.pack("!H", code) + reason.encode("utf-8")[:120], OP_CLOSE)


def _read_exact(stream: ByteStream, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) < n:
        raise EOFError("connection closed")
    return data


def _unmask(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def read_frame(stream: ByteStream) -> tuple[bool, int, bytes]:
    """Read one client frame: (fin, opcode, unmasked payload). Raises EOFError / ProtocolError."""
    b1, b2 = _read_exact(stream, 2)
    fin = bool(b1 & 0x80)
    if b1 & 0x70:
        raise ProtocolError("reserved bits set")
    opcode = b1 & 0x0F
    if not b2 & 0x80:
        raise ProtocolError("client frames must be masked")
    length = b2 & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _read_exact(stream, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _read_exact(stream, 8))
    if opcode >= 0x8 and (length > 125 or not fin):
        raise ProtocolError("bad control frame")
    if length > MAX_MESSAGE_BYTES:
        raise ProtocolError("message too big", CLOSE_TOO_BIG)
    mask = _read_exact(stream, 4)
    return fin, opcode, _unmask(_read_exact(stream, length), mask)


class MessageReader:
    """Reassembles fragmented client messages; answers nothing itself. :meth:`next` returns
    (opcode, payload) for TEXT/BINARY messages and control frames (CLOSE, PING, PONG)."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self._parts: list[bytes] = []
        self._opcode: int | None = None

    def next(self) -> tuple[int, bytes]:
        while True:
            fin, opcode, payload = read_frame(self._stream)
            if opcode >= 0x8:
                return opcode, payload
            if opcode == OP_CONT:
                if self._opcode is None:
                    raise ProtocolError("continuation without start")
            else:
                if self._opcode is not None:
                    raise ProtocolError("new message inside a fragmented one")
                self._opcode = opcode
            self._parts.append(payload)
            if sum(len(p) for p in self._parts) > MAX_MESSAGE_BYTES:
                raise ProtocolError("message too big", CLOSE_TOO_BIG)
            if fin:
                message, kind = b"".join(self._parts), self._opcode
                self._parts, self._opcode = [], None
                return kind, message
